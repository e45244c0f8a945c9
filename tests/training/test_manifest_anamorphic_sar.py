"""An anamorphic clip (SAR 2:1: each stored pixel shown twice as wide) trains as a player shows
it: stretched to square pixels when loaded, and bucketed by its shown aspect. It trained
squashed, at its stored 1:1."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest

from video.training.buckets import Bucketed
from video.training.data import ManifestClips

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 30), (30, 30, 220)


@pytest.fixture
def anamorphic(tmp_path):
    """128x128 stored, SAR 2:1 (shown 256x128): stored columns 0-31 red, 32-95 green, 96-127
    blue, so the shown square at the centre (shown columns 64-191, stored 32-95) is all green."""
    frame = np.zeros((128, 128, 3), np.uint8)
    frame[:, :32], frame[:, 32:96], frame[:, 96:] = RED, GREEN, BLUE
    src = tmp_path / "anamorphic.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", "128x128", "-r", "8", "-i", "-", "-vf", "setsar=2/1", "-c:v", "libx264", "-pix_fmt",
                    "yuv420p", str(src)], input=np.stack([frame] * 16).tobytes(), check=True)
    path = tmp_path / "manifest.parquet"
    pd.DataFrame({"source": [str(src)], "start_frame": [0], "end_frame": [16], "fps": [8.0], "width": [128],
                  "height": [128], "keep": [True]}).to_parquet(path)
    return path


def test_loaded_as_shown(anamorphic):
    clips = ManifestClips(anamorphic, frames=2, height=32, width=32)
    rgb = ((clips[0]["video"][0] + 1) * 127.5).permute(1, 2, 0).numpy()  # (32, 32, 3)
    assert np.abs(rgb - np.array(GREEN)).max() < 40  # the shown centre: green edge to edge, no red or blue


def test_sized_and_bucketed_as_shown(anamorphic):
    clips = ManifestClips(anamorphic, frames=2, height=32, width=32, drop_short=False)
    assert clips.native_size(0) == (16, 128, 256)
    assert Bucketed(clips, [[32, 64], [32, 32], [64, 32]], [2]).keys == [(2, 32, 64)]
