"""The trailing ``key=value`` overrides of every command built by
:func:`video.flags.add_schema_flags` (img2vid, txt2vid, upscale, animate) are optional: a missing input names only the input (``required: input, overrides``
said the overrides were missing too), and a command given none parses with an empty list,
a fresh one per parse."""

import argparse

import pytest

from video.cli import build_parser
from video.flags import parse_args


@pytest.mark.parametrize("argv", [["upscale"], ["upscale", "input=clip.mp4"], ["upscale", "output=o.mp4", "seed=1"]])
def test_a_missing_input_names_only_the_input(cli, argv):
    r = cli(*argv)
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last == "video upscale: error: the following arguments are required: input", r.stderr


SCHEMA_COMMANDS = ("img2vid", "txt2vid", "upscale", "animate")  # flags and overrides from video.flags.add_schema_flags


@pytest.mark.parametrize("name", SCHEMA_COMMANDS)
def test_every_command_with_schema_flags_parses_without_overrides(name):
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    overrides = next(a for a in sub._actions if a.dest == "overrides")
    assert not overrides.required
    positionals = [a for a in sub._actions if not a.option_strings and a is not overrides]
    argv = [name, *("x.mp4" for _ in positionals)]
    args = parse_args(parser, argv)
    assert args.overrides == []
    args.overrides.append("seed=1")  # the parser's default list is not handed out to be changed
    assert parse_args(parser, argv).overrides == []
    assert parse_args(parser, [*argv, "seed=2"]).overrides == ["seed=2"]
