"""The last line of ``video img2vid`` / ``txt2vid`` says what was written: a folder of PNG
frames as a folder (``pngs/``, "PNG frames"), no rate for one image, a fast GIF's rate as
written (50 fps, as the warning above it says), decode windows smaller than the clip (they
change the frames), and the command's total time. And the help says what the decode window
and guidance at or below 1 do to the frames."""

from __future__ import annotations

import os
import re

import pytest

SMALL = ["--model", "tiny", "--steps", "1", "--height", "64", "--width", "96"]
TIMES = r"load [\d.]+s, encode [\d.]+s, denoise [\d.]+s, decode [\d.]+s{windows}, write [\d.]+s; total [\d.]+s"


def last_line(r) -> str:
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("name, flags, says", [
    ("pngs", ["--frames", "3"], "{out}" + os.sep + " (3 PNG frames, 96x64, 7 fps)"),
    ("one.jpg", ["--frames", "1"], "{out} (1 frame, 96x64)"),  # a photo has no rate
    ("a.gif", ["--frames", "3", "--fps", "60"], "{out} (3 frames, 96x64, 50 fps)"),  # the rate written
    ("c.mp4", ["--frames", "3"], "{out} (3 frames, 96x64, 7 fps)"),
])
def test_img2vid_says_what_it_wrote(cli, tmp_path, name, flags, says):
    out = tmp_path / name
    line = last_line(cli("img2vid", *SMALL, *flags, "--output", out))
    head = "wrote " + says.format(out=out) + ": "
    assert line.startswith(head), line
    assert re.fullmatch(TIMES.format(windows=""), line[len(head):]), line


def test_img2vid_names_decode_windows_smaller_than_the_clip(cli, tmp_path):
    line = last_line(cli("img2vid", *SMALL, "--frames", "3", "--decode-chunk", "2", "--output", tmp_path / "c.mp4"))
    assert re.search(TIMES.format(windows=r" \(windows of 2 frames\)") + "$", line), line


def test_txt2vid_says_a_png_folder_is_one(cli, tmp_path):
    out = tmp_path / "frames"
    line = last_line(cli("txt2vid", "--model", "tiny", "--steps", "1", "--frames", "2", "--output", out))
    assert line.startswith(f"wrote {out}{os.sep} (2 PNG frames, ") and re.search(r"; total [\d.]+s$", line), line


def test_help_says_the_decode_window_changes_the_frames():
    from video.runtime.config import IMG2VID_FLAGS

    said = "a larger window is more temporally consistent; set --decode-chunk N for frames reproducible across machines"
    for flag in ("--decode-chunk", "--memory-budget"):
        assert "changes the frames" in IMG2VID_FLAGS[flag][1] and said in IMG2VID_FLAGS[flag][1], flag
    assert "with both <= 1 the unconditional branch is skipped entirely" in IMG2VID_FLAGS["--max-cfg"][1]
    assert "on a CPU it does nothing" in IMG2VID_FLAGS["--offload"][1]
