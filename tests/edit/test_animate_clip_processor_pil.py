"""Wan-Animate's CLIP image processor is built PIL-backed (``CLIPImageProcessorPil`` on
transformers 5), so ``video animate`` no longer prints transformers' "`CLIPImageProcessor`
requires torchvision (not installed)" notice (README: no torchvision needed), with the pixel
values of the processor it replaces on a real photograph."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def tiny_animate(tmp_path_factory):
    from video.edit.animate import build_tiny_animate

    return build_tiny_animate(tmp_path_factory.mktemp("animate") / "tiny")


def test_same_pixel_values_as_the_processor_it_replaces(tiny_animate):
    """On a real photograph, at the tiny folder's 32 px and at CLIP's 224 px (a published
    Wan-Animate folder's size), from a saved folder and built from arguments."""
    import skimage.data
    import transformers
    from PIL import Image

    from video.models.components import clip_image_processor

    photo = Image.fromarray(skimage.data.chelsea())  # 300x451, not square: resize then crop
    folder = tiny_animate / "image_processor"
    ours = clip_image_processor(folder)(images=photo, return_tensors="pt").pixel_values
    old = transformers.CLIPImageProcessor.from_pretrained(folder)(images=photo, return_tensors="pt").pixel_values
    assert ours.shape == (1, 3, 32, 32) and torch.equal(ours, old)
    big = clip_image_processor()(images=photo, return_tensors="pt").pixel_values
    old_big = transformers.CLIPImageProcessor()(images=photo, return_tensors="pt").pixel_values
    assert big.shape == (1, 3, 224, 224) and torch.equal(big, old_big)
    assert np.isclose(float(big.std()), float(old_big.std())) and float(big.std()) > 0.5  # a real picture


def test_no_torchvision_notice(tiny_animate):
    """A fresh process, transformers' warnings shown (the suite's conftest hides them): loading a
    saved folder (as a real model loads), then building the tiny model (diffusers' Wan-Animate
    module imports ``CLIPImageProcessor``), print nothing about torchvision. (With torchvision
    installed there is no notice to print either way.)"""
    env = {k: v for k, v in os.environ.items() if k != "TRANSFORMERS_VERBOSITY"}
    code = ("import sys, tempfile\n"
            "from video.edit.animate import Animator, build_tiny_animate\n"
            "a = Animator.from_pretrained(sys.argv[1])\n"
            "print(type(a.image_processor).__name__)\n"
            "with tempfile.TemporaryDirectory() as d:\n"
            "    build_tiny_animate(d + '/tiny')\n")
    p = subprocess.run([sys.executable, "-c", code, str(tiny_animate)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert "torchvision" not in p.stderr, p.stderr
    assert p.stdout.strip() in ("CLIPImageProcessorPil", "CLIPImageProcessor")  # transformers 5 / 4
