"""The one-line messages of reading inputs and writing outputs: they say what is wrong, with
the names and numbers needed to fix it."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image

from video.cli import main
from video.edit.mask import load_frames, read_levels
from video.media import MediaError, audio_to_keep, ffmpeg_exe, write_video


def test_an_audio_only_file_says_it_has_no_video_stream(tmp_path):
    """The reason itself, not the error's class name ("not a readable video (MediaError)")."""
    src = tmp_path / "sound.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac",
                    str(src)], check=True)
    with pytest.raises(MediaError, match="no video stream"):
        load_frames(src)


def _folder(tmp_path, sizes):
    d = tmp_path / "frames"
    d.mkdir()
    for i, (w, h) in enumerate(sizes):
        Image.new("RGB", (w, h), (200, 100, 50)).save(d / f"{i:03d}.png")
    return d


def test_frames_of_mixed_sizes_name_the_first_odd_file_and_both_sizes(tmp_path):
    d = _folder(tmp_path, [(32, 24), (32, 24), (40, 24), (32, 20)])
    with pytest.raises(MediaError, match=r"002\.png is 40x24, 000\.png 32x24"):
        load_frames(d)
    with pytest.raises(MediaError, match=r"002\.png is 40x24, 000\.png 32x24"):
        read_levels(d, 4, 24, 32)


def test_an_image_output_says_an_image_holds_no_audio(tmp_path):
    src = tmp_path / "a.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=32x24:duration=0.2",
                    "-f", "lavfi", "-i", "sine=duration=0.2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    str(src)], check=True)
    with pytest.warns(UserWarning, match="audio was not kept: an image holds no audio"):
        audio_to_keep(src, 5, 25.0, 1, 25.0, tmp_path / "one.png")


def test_upscale_says_the_fps_it_wrote(tmp_path, capsys):
    src = write_video(np.full((2, 24, 32, 3), 90, np.uint8), tmp_path / "in.mp4", fps=12)
    assert main(["upscale", str(src), "--model", "bicubic", "-o", str(tmp_path / "out.mp4")]) == 0
    assert "64x48, 12 fps)" in capsys.readouterr().out
