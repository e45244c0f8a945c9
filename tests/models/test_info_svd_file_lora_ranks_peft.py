"""``video info`` and the wrong-model lines: an SVD single file given to txt2vid is told the
command that renders it, as its diffusers folder is; a LoRA's ranks and alphas are those of the
layers ``--lora`` applies (a kohya file's text-encoder layers said apart); the SVD diffusers
folder has a ``detail`` as every other folder; a peft adapter folder points at its file."""

from __future__ import annotations

import json

import pytest
import torch
from model_test_files import save_first_layer_lora
from safetensors.torch import save_file

from video.models.inspect import describe, wrong_model
from video.models.sgm import save_sgm_checkpoint
from video.runtime.errors import CheckpointError


def test_an_svd_file_given_to_txt2vid_is_told_img2vid(cli, tmp_path, tiny_models):
    f = save_sgm_checkpoint(tiny_models, tmp_path / "svd_tiny.safetensors")
    line = (f"{f} is an image-to-video model (SVD): render it with `video img2vid --model {f}` or "
            f"`video edit TASK --model {f}`")
    assert wrong_model(f, "txt2vid") == line
    assert wrong_model(f, "img2vid") is None  # img2vid runs it: its loader's own lines
    r = cli("txt2vid", "--model", f, "--prompt", "x")
    assert r.returncode == 2 and r.errors == [f"error: {line}"], r.stderr


def test_an_svd_unet_alone_is_not_told_a_command(tmp_path, tiny_models):
    from video.models.sgm import to_sgm_state_dict

    sd = {k: v for k, v in to_sgm_state_dict(tiny_models).items() if k.startswith("model.diffusion_model.")}
    save_file(sd, str(tmp_path / "unet.safetensors"))
    assert wrong_model(tmp_path / "unet.safetensors", "txt2vid") is None


def _kohya(prefix: str, rank: int, alpha: float, fan_in: int = 32) -> dict[str, torch.Tensor]:
    return {f"{prefix}.lora_down.weight": torch.zeros(rank, fan_in), f"{prefix}.lora_up.weight": torch.zeros(96, rank),
            f"{prefix}.alpha": torch.tensor(alpha)}


def test_lora_ranks_are_those_of_the_applied_layers(cli, tmp_path):
    path = tmp_path / "kohya_dit.safetensors"
    save_file({**_kohya("lora_unet_blocks_0_self_attn_qkv", 4, 1.0),
               **_kohya("lora_te_text_model_encoder_layers_0_self_attn_q_proj", 16, 16.0)}, str(path))
    r = cli("info", path, "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert (info["rank"], info["alpha"], info["target"]) == (4, 1.0, "dit"), info
    assert "ranks" not in info and "alphas" not in info
    assert info["skipped"] == "1 text-encoder layer, rank 16", info


def test_a_text_encoder_only_lora_keeps_its_ranks(tmp_path):
    path = tmp_path / "te.safetensors"
    save_file(_kohya("lora_te_text_model_encoder_layers_0_self_attn_q_proj", 16, 8.0), str(path))
    info = describe(path)
    assert (info["rank"], info["alpha"], info["target"]) == (16, 8.0, "text encoder"), info
    assert "skipped" not in info


def test_the_svd_diffusers_folder_has_a_detail(cli, tiny_diffusers_dir):
    from video.models.detect import detect_kind

    r = cli("info", tiny_diffusers_dir, "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["detail"] == detect_kind(tiny_diffusers_dir)["detail"], info
    assert list(info)[:4] == ["model", "layout", "kind", "detail"]


def test_a_peft_adapter_folder_points_at_its_file(cli, tmp_path):
    folder = tmp_path / "adapter"
    save_first_layer_lora(folder / "adapter_model.safetensors")
    (folder / "adapter_config.json").write_text(json.dumps({"r": 2, "lora_alpha": 2}))
    line = f"{folder}: a peft LoRA, not a model: give {folder / 'adapter_model.safetensors'} with --lora"
    with pytest.raises(CheckpointError) as e:
        describe(folder)
    assert str(e.value) == line
    assert wrong_model(folder, "txt2vid") == line
    r = cli("txt2vid", "--model", folder, "--prompt", "x")
    assert r.returncode == 2 and r.errors == [f"error: {line}"], r.stderr
