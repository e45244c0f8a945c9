"""Shared fixtures: tiny real components (diffusers' ``get_dummy_components`` idea), built and
saved by the tests themselves; nothing is downloaded."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def tiny_models():
    from video.config import load_model_config
    from video.models.svd import build_random

    return build_random(load_model_config("tiny"), seed=0)


@pytest.fixture(scope="session")
def tiny_diffusers_dir(tmp_path_factory, tiny_models):
    from video.models.svd import save_diffusers_folder

    return save_diffusers_folder(tiny_models, tmp_path_factory.mktemp("models") / "tiny-svd")


@pytest.fixture(scope="session")
def photo():
    """A real photograph (scikit-image's astronaut), 128x192 like the tiny defaults."""
    import skimage.data
    from PIL import Image

    from video.media import resize_center_crop

    return resize_center_crop(Image.fromarray(skimage.data.astronaut()), 128, 192)
