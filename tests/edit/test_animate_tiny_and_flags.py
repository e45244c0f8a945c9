"""``video animate`` as the other commands: a built-in ``--model tiny`` (random weights, with the
same note), ``--negative`` beside ``--negative-prompt``, a summary line with fps and times, and
``--segment`` refused unless 4k+1, before any weights load (6 used to be rounded down to 5)."""

from __future__ import annotations

import argparse
import re

import pytest

from video.edit.animate_cli import add_animate_command, check_segment
from video.runtime.img2vid import InputError


def test_segment_must_be_4k_plus_1():
    for ok in (None, 5, 9, 77):
        check_segment(ok)
    for bad, hint in ((6, "try 5 or 9"), (8, "try 5 or 9"), (4, "try 5 or 9"), (1, "try 5 or 9"), (78, "try 77 or 81")):
        with pytest.raises(InputError, match=f"--segment must be 4k\\+1 frames .*got {bad} \\({hint}\\)"):
            check_segment(bad)


def test_segment_6_is_refused_before_the_weights_load(animate_inputs, cli):
    p = cli("animate", "--model", "tiny", "--image", "char.png", "--pose", "pose", "--face", "face", "--segment", "6",
            "-o", "a.mp4", cwd=animate_inputs)
    assert p.returncode == 2 and p.errors == ["error: --segment must be 4k+1 frames (5, 9, 13, ...); got 6 (try 5 "
                                              "or 9)"], p.stderr
    assert "random weights" not in p.stderr and not (animate_inputs / "a.mp4").exists()  # nothing was loaded


def test_negative_is_the_negative_prompt_flag():
    """A flag of its own, shown in --help (argparse took ``--negative`` before only as an
    abbreviation of ``--negative-prompt``, undocumented, and lost as soon as another flag starts
    with it)."""
    from video.edit.animate_cli import ANIMATE_FLAGS, AnimateConfig
    from video.flags import resolve_flags

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_animate_command(sub)
    animate = sub.choices["animate"]
    assert animate._option_string_actions["--negative"] is animate._option_string_actions["--negative-prompt"]
    for flag in ("--negative", "--negative-prompt"):
        args = parser.parse_args(["animate", flag, "blurry, text"])
        assert resolve_flags(AnimateConfig, args, ANIMATE_FLAGS).negative == "blurry, text"


def test_tiny_runs_and_says_fps_and_times(animate_inputs, cli):
    from video.media import probe_video

    p = cli("animate", "--model", "tiny", "--image", "char.png", "--pose", "pose", "--face", "face", "--steps", "1",
            "--negative", "blurry", "--fps", "8", "-o", "anim.mp4", cwd=animate_inputs)
    assert p.returncode == 0, p.stderr
    assert "note: 'tiny' has random weights (a smoke run)" in p.stderr
    assert re.search(r"^wrote anim\.mp4 \(5 frames, 32x32, 8 fps\): load \d+\.\d\ds, encode \d+\.\d\ds, denoise "
                     r"\d+\.\d\ds, decode \d+\.\d\ds, write \d+\.\d\ds; total \d+\.\d\ds$", p.stdout, re.M), p.stdout
    info = probe_video(animate_inputs / "anim.mp4")
    assert (info["num_frames"], info["width"], info["height"], info["fps"]) == (5, 32, 32, 8.0)
