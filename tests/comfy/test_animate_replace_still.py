"""Animate Character in replace mode with a still background and mask (Load Image: an IMAGE of
one frame and its MASK), on a real tiny Wan-Animate folder: the still is held for every pose
frame, as the README says, and renders what the same picture repeated as a video renders. The
node passed the one frame on, and the animator refused it ("background_video has 1 frame; the
pose video has 5"); a stand-in animator that takes anything hid it. ``segment_frames`` is
checked as ``video animate --segment`` is, before the weights load."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from video.comfy import functions as F

sys.path.insert(0, str(Path(__file__).parents[1] / "edit"))  # moving_clip, tests/edit's clip maker
from vace_fixtures import moving_clip  # noqa: E402

FRAMES, H, W = 5, 32, 48


@pytest.fixture(scope="module")
def animate(tmp_path_factory) -> F.VideoModel:
    from video.edit.animate import build_tiny_animate

    models = tmp_path_factory.mktemp("models")
    build_tiny_animate(models / "checkpoints" / "animate-small")
    return F.load_video_model("animate-small", models)


def _inputs() -> dict:
    return dict(image=F.frames_to_comfy(moving_clip(1, 30, 40, seed=3)),
                pose_video=F.frames_to_comfy(255 - moving_clip(FRAMES, H, W, seed=1)),
                face_video=F.frames_to_comfy(moving_clip(FRAMES, 24, 24, seed=2)),
                mode="replace", prompt="a dancer", steps=1, seed=4)


def test_a_still_background_and_mask_are_held_for_every_pose_frame(animate):
    still = F.frames_to_comfy(moving_clip(1, H, W, seed=5))  # Load Image: IMAGE (1, H, W, 3)
    mask = torch.zeros(1, H, W)  # and its MASK (1, H, W)
    mask[:, 8:24, 12:36] = 1.0
    held = F.animate_video(animate, **_inputs(), background_video=still, mask=mask)
    assert held.shape == (FRAMES, H, W, 3)
    repeated = F.animate_video(animate, **_inputs(), background_video=still.expand(FRAMES, -1, -1, -1),
                               mask=mask.expand(FRAMES, -1, -1))
    assert torch.equal(held, repeated)
    video = F.frames_to_comfy(moving_clip(FRAMES, H, W, seed=6))  # a still mask (H, W) under a background video
    assert F.animate_video(animate, **_inputs(), background_video=video, mask=mask[0]).shape == held.shape


def test_segment_frames_must_be_4k_plus_1_before_the_weights_load():
    never_loads = F.VideoModel("/nonexistent/animate", "wan_animate", "not a folder")
    for bad, hint in ((6, "try 5 or 9"), (80, "try 77 or 81"), (3, "try 5 or 9"), (2, "try 5 or 9")):
        with pytest.raises(F.InputError, match=rf"segment_frames must be 4k\+1 frames .*; got {bad} \({hint}\)"):
            F.animate_video(never_loads, **{**_inputs(), "mode": "animate"}, segment_frames=bad)
    assert [F.check_segment_frames(n) for n in (0, 5, 9, 81)] == [0, 5, 9, 81]  # 0: the model's default


def test_a_still_background_or_mask_is_passed_on_as_one_frame():
    """The animator holds a one-frame background or mask itself (``video.edit.animate``); the
    node repeated it once per pose frame, which the animator then converted and fitted one by
    one; the frames are those of the repeated still (the test above)."""
    still = np.zeros((1, 8, 8, 3), np.uint8)
    held = F._replace_input(still, "background_video", 50)
    assert held is still, held.shape
    video = np.zeros((50, 8, 8), np.uint8)
    assert F._replace_input(video, "mask", 50) is video
    with pytest.raises(F.InputError, match="mask has 30 frames; the pose video has 50"):
        F._replace_input(video[:30], "mask", 50)
