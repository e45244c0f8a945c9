"""``--variant bf16`` on a folder of plain and fp16 files, or ``--variant fp16`` on a folder of
plain files only, loaded the plain float32 files without a word, where diffusers refuses a
variant that no component of the folder has. Now refused in one line naming what there is; the
per-part fallback (fp16 unet/ beside a plain vae/) stays where some part has the variant."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from video.models.svd import CheckpointError, load_svd

PARTS = ("unet", "vae", "image_encoder")


def _copy(src: Path, dst: Path, fp16: tuple[str, ...] = (), keep_plain: bool = True) -> Path:
    """``src`` (less our video_pipeline.yaml, as published) with ``fp16`` parts also (or, without
    ``keep_plain``, only) in ``NAME.fp16.safetensors``, as save_pretrained(variant="fp16") names them."""
    shutil.copytree(src, dst)
    (dst / "video_pipeline.yaml").unlink()
    for part in fp16:
        for f in list((dst / part).glob("*.safetensors")):
            save_file({k: v.half() for k, v in load_file(str(f)).items()}, str(f.with_suffix(".fp16.safetensors")))
            if not keep_plain:
                f.unlink()
    return dst


def _diffusers_refuses(folder: Path, variant: str) -> bool:
    """The reference: diffusers' own pipeline loader on the same folder and variant."""
    from diffusers import StableVideoDiffusionPipeline

    try:
        StableVideoDiffusionPipeline.from_pretrained(folder, variant=variant)
    except ValueError:
        return True
    return False


def test_a_variant_no_part_holds_is_refused(tiny_diffusers_dir, tmp_path):
    both = _copy(tiny_diffusers_dir, tmp_path / "both", fp16=PARTS)
    assert _diffusers_refuses(both, "bf16")
    with pytest.raises(CheckpointError) as e:
        load_svd(both, variant="bf16")
    assert str(e.value) == (f"{both}: no part holds a 'bf16' variant (unet/ holds the plain files and 'fp16'): give "
                            "--variant fp16, or leave --variant out (the plain files load)")


def test_a_variant_on_a_plain_folder_is_refused(tiny_diffusers_dir, tmp_path):
    plain = _copy(tiny_diffusers_dir, tmp_path / "plain")
    assert _diffusers_refuses(plain, "fp16")
    with pytest.raises(CheckpointError) as e:
        load_svd(plain, variant="fp16")
    assert str(e.value) == (f"{plain}: no part holds a 'fp16' variant (unet/ holds the plain files): leave --variant "
                            "out (the plain files load)")


def test_a_variant_some_part_holds_still_falls_back_per_part(tiny_diffusers_dir, tmp_path):
    mixed = _copy(tiny_diffusers_dir, tmp_path / "mixed", fp16=("vae",))  # fp16 beside plain in vae/ only
    assert not _diffusers_refuses(mixed, "fp16")
    m = load_svd(mixed, variant="fp16")
    half = load_file(str(mixed / "vae" / "diffusion_pytorch_model.fp16.safetensors"))
    vae = m.vae.state_dict()
    assert all(torch.equal(vae[k], v.to(vae[k].dtype)) for k, v in half.items())  # vae/'s fp16 files
    assert m.extra["variant"] is None  # unet/'s plain files: it has no fp16 ones
