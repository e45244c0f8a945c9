"""The "wrote ..." summary of ``video edit`` and ``video upscale`` states the rate the file was
written at: a GIF asked faster than 50 fps is written at 50 fps timing (the writer warns), and
the summary said the asked 60; one image has no rate (``video edit`` said "8 fps")."""

from __future__ import annotations

import re

import numpy as np
import pytest

from video.cli import main
from video.media import write_video
from video.media.written import written_rate


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("rate") / "clip.mp4"
    rng = np.random.default_rng(0)
    write_video(rng.integers(0, 255, (4, 32, 48, 3), dtype=np.uint8), path, fps=10)
    return str(path)


def _summary(argv, capsys, warning: str = "") -> str:
    """The "wrote" line; ``warning``: a text the stderr must hold (the command prints warnings)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0 and warning in err, err
    return next(line for line in out.splitlines() if line.startswith("wrote "))


def _rate(line: str) -> str | None:
    found = re.search(r", ([\d.]+) fps\)", line)
    return found.group(1) if found else None


RECOLOUR = ["edit", "recolour", "--hue", "90", "--box", "0,0,16,16"]


def test_edit_gif_faster_than_50_says_50(clip, tmp_path, capsys):
    line = _summary([*RECOLOUR, "--video", clip, "--fps", "60", "--output", tmp_path / "fast.gif"], capsys,
                    "written at 50 fps timing")
    assert _rate(line) == "50", line
    assert _rate(_summary([*RECOLOUR, "--video", clip, "--fps", "30", "--output", tmp_path / "ok.gif"], capsys)) == "30"
    assert _rate(_summary([*RECOLOUR, "--video", clip, "--fps", "60", "--output", tmp_path / "o.mp4"], capsys)) == "60"


def test_edit_one_image_has_no_rate(clip, tmp_path, capsys):
    line = _summary([*RECOLOUR, "--video", clip, "--frames", "1", "--output", tmp_path / "one.png"], capsys)
    assert "1 frame, 48x32)" in line and "fps" not in line, line


def test_upscale_says_the_written_rate_too(clip, tmp_path, capsys):
    up = ["upscale", clip, "--model", "bicubic"]
    line = _summary([*up, "--fps", "60", "--output", tmp_path / "fast.gif"], capsys, "written at 50 fps timing")
    assert _rate(line) == "50", line
    line = _summary([*up, "--frames", "1", "--output", tmp_path / "one.png"], capsys)
    assert "fps" not in line, line


def test_written_rate_rules(tmp_path):
    assert written_rate(tmp_path / "a.gif", 60, 5) == ", 50 fps"
    assert written_rate(tmp_path / "a.gif", 60, 1) == ", 60 fps"  # a still GIF: nothing to slow down
    assert written_rate(tmp_path / "a.webp", 60, 1) == ""
    assert written_rate(tmp_path / "a.mp4", 23.976, 5) == ", 23.976 fps"
    folder = tmp_path / "frames.png"
    folder.mkdir()
    assert written_rate(folder, 12, 3) == ", 12 fps"  # an existing folder is PNG frames, not one image
