"""SVD files in sgm's names that are not Stability's whole checkpoint as published: ComfyUI's
checkpoint save (its CLIP image encoder under Stability's prefix in transformers' names, no
``conditioner.embedders.3``), a file without its conditioner, the UNet saved alone (ComfyUI's
"Save Model", with or without ``model.diffusion_model.``), a lightning ``state_dict.`` saved as
is, and a pickle named ``.safetensors``. `video info`, `video models` and the ComfyUI list
called the incomplete ones runnable (then "138 expected keys missing"), the UNet "unknown" or
"a Stable Diffusion UNet", the wrapped file "unknown", the pickle "damaged safetensors"."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from video.comfy.refusals import image_family, refusal
from video.models.detect import detect_kind
from video.models.sgm import CLIP, UNET
from video.models.svd import CheckpointError, load_svd


def _transformers_clip(tiny_models) -> dict:
    """The image encoder as ComfyUI saves it: its state dict (transformers' names) under the prefix."""
    return {CLIP + k: v.contiguous() for k, v in tiny_models.image_encoder.state_dict().items()
            if not k.endswith("position_ids")}


def _info(cli, path) -> dict:
    p = cli("info", path, "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_clip_in_transformers_names_loads_as_comfyui_reads_it(tmp_path, tiny_models, sd, meta):
    f = {k: v for k, v in sd.items() if not k.startswith(CLIP)} | _transformers_clip(tiny_models)
    save_file(f, str(tmp_path / "svd.safetensors"), metadata=meta)
    got = load_svd(tmp_path / "svd.safetensors").image_encoder.state_dict()
    for k, v in tiny_models.image_encoder.state_dict().items():
        assert torch.equal(got[k], v), k


@pytest.mark.parametrize("drop,named", [(("conditioner.embedders.3.",), "conditioner.embedders.3"),
                                        (("conditioner.",), "conditioner.embedders.0")])
def test_a_checkpoint_without_a_conditioner_part_is_named_incomplete_everywhere(tmp_path, tiny_models, sd, meta,
                                                                                cli, drop, named):
    """ComfyUI's ImageOnlyCheckpointSave (transformers-named CLIP, no embedders.3), and a file
    with no conditioner: refused naming the part, never called runnable."""
    f = {k: v for k, v in sd.items() if not k.startswith((*drop, CLIP))}
    if drop == ("conditioner.embedders.3.",):
        f |= _transformers_clip(tiny_models)
    path = tmp_path / "checkpoints" / "svd_comfy.safetensors"
    path.parent.mkdir()
    save_file(f, str(path), metadata=meta)
    with pytest.raises(CheckpointError, match=rf"without {named}.*not loaded"):
        load_svd(path)
    found = detect_kind(path)
    assert found["kind"] == "svd" and named in found["missing"] and found["detail"].endswith(found["missing"])
    info = _info(cli, path)
    assert named in info["missing"] and "run_with" not in info, info
    line = refusal(path, "svd")
    assert line is not None and named in line.line


@pytest.mark.parametrize("prefix", [UNET, ""])
def test_an_svd_unet_saved_alone_in_sgm_names_is_a_part(tmp_path, sd, cli, prefix):
    path = tmp_path / "svd_unet.safetensors"
    save_file({prefix + k[len(UNET):]: v for k, v in sd.items() if k.startswith(UNET)}, str(path))
    found = detect_kind(path)
    assert found["kind"] == "svd" and "UNet alone" in found["detail"] and "give the whole checkpoint" in found["detail"]
    with pytest.raises(CheckpointError, match="UNet alone .*give the whole checkpoint"):
        load_svd(path)
    assert image_family([prefix + k[len(UNET):] for k in sd if k.startswith(UNET)]) is None
    line = refusal(path, found["kind"])
    assert line is not None and line.part and "an SVD UNet saved alone" in line.line
    assert _info(cli, path)["kind"] == "svd"


def test_a_checkpoint_under_a_state_dict_prefix_loads(tmp_path, tiny_models, sd, meta, cli):
    path = tmp_path / "svd_lightning.safetensors"
    save_file({"state_dict." + k: v for k, v in sd.items()}, str(path), metadata=meta)
    got = load_svd(path)
    for name in ("unet", "vae", "image_encoder"):
        ref = getattr(tiny_models, name).state_dict()
        for k, v in getattr(got, name).state_dict().items():
            assert torch.equal(v, ref[k]), (name, k)
    assert detect_kind(path)["kind"] == "svd" and refusal(path, "svd") is None
    info = _info(cli, path)
    assert info["run_with"].startswith("video img2vid") and info["parameters"]["unet"] > 0, info


def test_a_pickle_named_safetensors_is_said_to_be_one(tmp_path, cli):
    path = tmp_path / "model.safetensors"
    torch.save({"weight": torch.zeros(2)}, path)
    said = "a pickled (torch.save) file named .safetensors: not loaded; convert it"
    with pytest.raises(CheckpointError, match=r"pickled \(torch\.save\) file named \.safetensors"):
        load_svd(path)
    p = cli("img2vid", "--model", path, "--output", tmp_path / "x.mp4")
    assert p.returncode == 2 and said in p.stderr and "header too large" not in p.stderr, p.stderr
    info = _info(cli, path)
    assert info["detail"].endswith(said) and "damaged" not in info["detail"], info
