"""A clip cut from a mirrored source (a display matrix with a flip, which PyAV reports as a
rotation of 180) is written as a player shows the source: mirrored, not turned upside down."""

from __future__ import annotations

import subprocess

import numpy as np

from data_curation.split import display, extract_clip
from video.media import ffmpeg_exe, read_video, write_video


def test_a_mirrored_source_is_extracted_as_it_shows(tmp_path):
    ramp = np.zeros((6, 32, 48, 3), np.uint8)
    ramp[..., 0] = np.linspace(0, 255, 48, dtype=np.uint8)[None, None, :]  # red grows left to right
    ramp[:, :8] = 255  # a white band on top: a 180 turn would put it at the bottom
    base = write_video(ramp, tmp_path / "base.mp4", fps=6)
    mirrored = tmp_path / "mirrored.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-display_hflip", "-i", str(base), "-c", "copy",
                    str(mirrored)], check=True)
    assert display(mirrored) == ("hflip",)
    shown = read_video(mirrored)  # as ffmpeg's autorotate shows it (tested against ffmpeg in test_media_sync)
    dest, method = extract_clip(mirrored, 0, 6, 6.0, tmp_path / "clip.mp4")
    clip = read_video(dest)
    assert method == "encode" and display(dest) == ()
    assert np.abs(clip.astype(int) - shown.astype(int)).mean() < 4  # the same picture, re-encoded
    assert np.abs(clip.astype(int) - shown[:, ::-1, ::-1].astype(int)).mean() > 30  # not turned 180
