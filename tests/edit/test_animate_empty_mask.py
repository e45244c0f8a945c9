"""Wan-Animate's replace mode refuses a mask that selects nothing, in one line, where it ran and
rendered the background without a word (Inpaint and ``video edit`` refuse an empty mask): an
all-black ``video animate --mask`` (before the weights load), the all-zero 64x64 MASK that
ComfyUI's Load Image gives for a picture without transparency (Animate Character), and a mask
whose white part is cropped away when it is fitted to the output. On the tiny random model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from video.runtime.errors import InputError

H, W = 32, 48


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from video.edit.animate import build_tiny_animate

    folder = tmp_path_factory.mktemp("models")
    build_tiny_animate(folder / "checkpoints" / "animate-small")
    return folder


def _frames(n: int, h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_the_command_refuses_an_all_black_mask_before_the_load(cli, animate_inputs):
    """(A mask with white in it runs: tests/edit/test_animate_fitting.py.)"""
    Image.fromarray(_frames(1, 32, 32, 1)[0]).save(animate_inputs / "bg.png")
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(animate_inputs / "mask.png")
    p = cli("animate", "--model", "tiny", "--image", "char.png", "--pose", "pose", "--face", "face", "--mode",
            "replace", "--background", "bg.png", "--mask", "mask.png", "--steps", "1", "-o", "a.mp4",
            cwd=animate_inputs)
    assert p.returncode == 2 and p.errors == [
        "error: --mask selects nothing: every pixel is black (white = the region the character replaces); paint "
        "that region white"], p.stderr
    assert "random weights" not in p.stderr  # nothing loaded
    assert not (animate_inputs / "a.mp4").exists()


def test_the_comfy_node_refuses_load_images_empty_mask(models):
    """Load Image's MASK of a picture without transparency: zeros, 64x64."""
    from video.comfy import functions as F

    model = F.load_video_model("animate-small", models)
    kw = dict(image=F.frames_to_comfy(_frames(1, 30, 40, 2)), pose_video=F.frames_to_comfy(_frames(3, H, W, 3)),
              face_video=F.frames_to_comfy(_frames(3, 16, 16, 4)), mode="replace", steps=1,
              background_video=F.frames_to_comfy(_frames(1, H, W, 5)))
    with pytest.raises(InputError) as e:
        F.animate_video(model, **kw, mask=torch.zeros(1, 64, 64))
    assert str(e.value) == (
        "the mask selects nothing: every pixel is black (white = the region the character replaces); paint that "
        "region white (a MASK that is an image's alpha, as ComfyUI's Load Image gives it, is empty for a picture "
        "without transparency)")
    mask = torch.zeros(1, 64, 64)
    mask[:, 20:40, 20:40] = 1.0
    assert F.animate_video(model, **kw, mask=mask).shape == (3, H, W, 3)  # a painted region runs


def test_a_mask_whose_white_part_is_cropped_away_is_refused(models):
    """A 32x96 mask under a 32x48 pose is scaled to cover the output and its middle kept: white
    only in its first 10 columns selects nothing of what the model sees."""
    from video.edit.animate import Animator

    animator = Animator.from_pretrained(models / "checkpoints" / "animate-small")
    mask = np.zeros((1, H, 96), np.uint8)
    mask[:, :, :10] = 255
    with pytest.warns(UserWarning, match="the mask is 96x32"), pytest.raises(InputError) as e:
        animator(_frames(1, 30, 40, 2)[0], _frames(3, H, W, 3), _frames(3, 16, 16, 4), mode="replace",
                 background_video=_frames(1, H, W, 5), mask_video=mask, num_inference_steps=1)
    assert str(e.value).startswith("the mask selects nothing once fitted to the 48x32 output (scaled to cover it, "
                                   "its middle cropped): every pixel is black"), e.value
