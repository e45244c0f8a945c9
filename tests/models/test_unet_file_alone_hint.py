"""``img2vid --model`` on an SVD UNet saved alone in diffusers' keys (a run's
``final/trainable.safetensors``, a diffusers folder's ``unet/diffusion_pytorch_model.safetensors``)
said only what the file is, "SVD or SVD-XT (14 or 25 frames: not stated), UNet alone (diffusers
keys)", with no way on, and "14 or 25" for a UNet that is not the published one's size. It now
names the whole model beside it and what runs it, as the other "part alone" lines do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from video.models.detect import classify_keys
from video.models.svd import CheckpointError, load_svd


def _load_error(path: Path) -> str:
    with pytest.raises(CheckpointError) as e:
        load_svd(path)
    return str(e.value)


def _unet_file(tiny_models, path: Path) -> Path:
    """The tiny UNet's own state dict in one file, as a `video train` stage-2 run exports it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tiny_models.unet.state_dict().items()}, str(path))
    return path


def test_a_runs_trainable_file_names_the_export_beside_it(tmp_path, tiny_models, tiny_diffusers_dir):
    final = tmp_path / "runs" / "svd2" / "final"
    shutil.copytree(tiny_diffusers_dir, final / "model")
    f = _unet_file(tiny_models, final / "trainable.safetensors")
    assert _load_error(f) == (
        f"{f}: SVD-shaped, not the published size (frames not stated), UNet alone (diffusers keys): one part of a "
        f"model, not a whole one; render its run's export: `video img2vid --model {final / 'model'}` or "
        f"`video edit TASK --model {final / 'model'}`")


def test_a_unet_file_in_its_folder_names_the_folder(tiny_diffusers_dir):
    f = tiny_diffusers_dir / "unet" / "diffusion_pytorch_model.safetensors"
    assert _load_error(f).endswith(f"one part of a model, not a whole one; run the model folder it is part of: "
                                   f"`video img2vid --model {tiny_diffusers_dir}` or "
                                   f"`video edit TASK --model {tiny_diffusers_dir}`")


def test_a_lone_unet_file_is_told_what_to_give(tmp_path, tiny_models):
    f = _unet_file(tiny_models, tmp_path / "unet_only.safetensors")
    assert _load_error(f).endswith("UNet alone (diffusers keys): one part of a model, not a whole one; give the whole "
                                   "checkpoint (svd.safetensors, svd_xt.safetensors) or a diffusers folder")


def test_14_or_25_frames_only_for_a_unet_of_the_published_size(tiny_models):
    """The published architecture (configs/model/svd.yaml, built on the meta device for its shapes)
    is SVD or SVD-XT by its frames; the tiny one is neither."""
    from video.config import load_model_config
    from video.models.svd import build_unet

    with torch.device("meta"):
        published = build_unet(load_model_config("svd"))
    shapes = {k: tuple(v.shape) for k, v in published.state_dict().items()}
    assert classify_keys(shapes)["detail"] == "SVD or SVD-XT (14 or 25 frames: not stated), UNet alone (diffusers keys)"
    tiny = {k: tuple(v.shape) for k, v in tiny_models.unet.state_dict().items()}
    assert "14 or 25" not in classify_keys(tiny)["detail"]
