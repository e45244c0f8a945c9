"""A flag given under two of its spellings at two values on one line (a renamed key's old flag
beside the new one, ``-o`` beside ``--output``) is one line, as ``negative_prompt=x negative=y``
is: argparse kept the last silently. The same value twice, or one spelling repeated, is not."""

from __future__ import annotations

import pytest

from video.cli import build_parser
from video.flags import parse_args


@pytest.mark.parametrize("argv, line", [
    (["animate", "--model", "tiny", "--negative-prompt", "x", "--negative", "y"],
     "--negative 'y' and --negative-prompt 'x' are the same option (--negative-prompt: an old name of "
     "--negative); give one"),
    (["animate", "--model", "tiny", "-o", "a.mp4", "--output", "b.mp4"],
     "--output 'b.mp4' and -o 'a.mp4' are the same option (-o: a short form of --output); give one"),
    (["upscale", "in.mp4", "--output", "b.mp4", "-o", "a.mp4"],
     "--output 'b.mp4' and -o 'a.mp4' are the same option (-o: a short form of --output); give one"),
], ids=["animate_renamed", "animate_short", "upscale_short"])
def test_two_spellings_at_two_values_are_refused(cli, argv, line):
    p = cli(*argv)
    assert p.returncode == 2 and p.errors == [f"error: {line}"], p.stderr


def test_one_value_under_both_spellings_or_one_spelling_repeated_is_kept():
    from video.edit.animate_cli import resolve_animate

    same = parse_args(build_parser(), ["animate", "--negative-prompt", "x", "--negative", "x"])
    assert resolve_animate(same).negative == "x"
    repeated = parse_args(build_parser(), ["animate", "--negative", "x", "--negative", "y"])
    assert resolve_animate(repeated).negative == "y"
