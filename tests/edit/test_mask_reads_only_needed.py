"""A mask video or folder is decoded only as far as the edited video needs it: a long mask
video used to be read whole (every frame at full size held at once) to use its first few."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from video.edit.mask import read_levels
from video.media import write_video

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from live_bytes import python_peak_bytes  # noqa: E402

SIZE = 256  # one grey frame of the mask: 256 KiB as float32


@pytest.fixture(scope="module")
def long_mask(tmp_path_factory) -> str:
    """240 frames: a white square that moves right one pixel per frame, at 24 fps."""
    frames = np.zeros((240, SIZE, SIZE, 3), np.uint8)
    for i in range(240):
        frames[i, 64:128, i % 128:i % 128 + 64] = 255
    return str(write_video(frames, tmp_path_factory.mktemp("mask") / "mask.mp4", fps=24, crf=1))


def test_a_long_mask_video_is_read_only_as_far_as_the_video_goes(long_mask):
    m = read_levels(long_mask, 4, SIZE, SIZE, fps=24)
    assert m.shape == (4, SIZE, SIZE)
    assert bool(m[3, 96, 3 + 32] > 0.5) and bool(m[3, 96, 3 + 70] < 0.5)  # frame 3's square
    whole = 240 * SIZE * SIZE * 3  # the decoded uint8 frames alone, had every one been read
    assert python_peak_bytes(lambda: read_levels(long_mask, 4, SIZE, SIZE, fps=24)) < whole / 4


def test_a_mask_at_another_rate_reads_up_to_the_last_matched_frame(long_mask):
    # a 12 fps video of 4 frames spans 0.33 s: mask frames 0, 2, 4, 6 at 24 fps
    m = read_levels(long_mask, 4, SIZE, SIZE, fps=12)
    assert bool(m[3, 96, 6 + 32] > 0.5) and bool(m[3, 96, 6 + 70] < 0.5)
    assert python_peak_bytes(lambda: read_levels(long_mask, 4, SIZE, SIZE, fps=12)) < 240 * SIZE * SIZE * 3 / 4


def test_a_folder_of_mask_frames_is_read_up_to_the_frames_needed(tmp_path):
    for i in range(3):
        Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / f"{i}.png")
    (tmp_path / "3.png").write_bytes(b"not a picture")  # past the frames needed: never opened
    assert read_levels(str(tmp_path), 3, 8, 8).shape == (3, 8, 8)
