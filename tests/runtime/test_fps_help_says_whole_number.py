"""``--fps 7.5`` is refused as "must be a whole number"; the help of txt2vid and img2vid (which
share the rule) says so, where it said only ">= 1"."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("command", ["txt2vid", "img2vid"])
def test_the_fps_help_says_whole_number_as_the_refusal_does(cli, tmp_path, command):
    r = cli(command, "--help")
    text = " ".join(r.stdout.split())  # argparse wraps the help
    said = text[text.index("--fps FPS "):][:160]
    assert "a whole number >= 1" in said, said
    bad = cli(command, "--fps", "7.5", "--output", tmp_path / "x.mp4")
    assert bad.returncode == 2 and bad.errors == ["error: --fps: must be a whole number; got '7.5'"]
