"""Every LoRA key layout `--lora` reads is a `lora` in `video models` / `video info` too. Only keys
starting `lora_` counted before, so a ComfyUI Wan LoRA (`diffusion_model.blocks.0.self_attn.q.
lora_down.weight` + `.alpha`) that merged fine was listed as "unknown". Each file here is written
for a tiny diffusers Wan transformer and read by the loader itself (read_lora) before detect is
asked, so a layout the loader stops taking fails here rather than passing for a LoRA."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from video.models.detect import detect_kind
from video.models.lora import read_lora

pytest.importorskip("peft")

R, IN, OUT = 2, 32, 32  # rank; blocks.0.attn1.to_q is 32 -> 32 in the tiny Wan transformer below


def _ab(prefix: str, a: str = "lora_A.weight", b: str = "lora_B.weight") -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {f"{prefix}.{a}": torch.randn(R, IN, generator=g), f"{prefix}.{b}": torch.randn(OUT, R, generator=g)}


def _down_up(prefix: str, alpha: bool = True) -> dict[str, torch.Tensor]:
    out = _ab(prefix, "lora_down.weight", "lora_up.weight")
    return {**out, f"{prefix}.alpha": torch.tensor(1.0)} if alpha else out


LAYOUTS = {  # name: tensors, all for the same layer (diffusers blocks.0.attn1.to_q, Wan's blocks.0.self_attn.q)
    "peft, diffusers names": _ab("transformer.blocks.0.attn1.to_q"),
    "peft, adapter-named (a training checkpoint)": _ab("blocks.0.attn1.to_q", "lora_A.default.weight",
                                                       "lora_B.default.weight"),
    "peft with lora_B.bias": {**_ab("transformer.blocks.0.attn1.to_q"),
                              "transformer.blocks.0.attn1.to_q.lora_B.bias": torch.zeros(OUT)},
    "peft DoRA": {**_ab("transformer.blocks.0.attn1.to_q"),
                  "transformer.blocks.0.attn1.to_q.lora_magnitude_vector": torch.ones(OUT)},
    "kohya, diffusers names": _down_up("lora_unet_blocks_0_attn1_to_q"),
    "kohya, Wan names (musubi-tuner)": _down_up("lora_unet_blocks_0_self_attn_q"),
    "ComfyUI Wan, lora_down/lora_up + alpha": _down_up("diffusion_model.blocks.0.self_attn.q"),
    "ComfyUI Wan, lora_down/lora_up, no alpha": _down_up("diffusion_model.blocks.0.self_attn.q", alpha=False),
    "ComfyUI Wan, lora_A/lora_B": _ab("diffusion_model.blocks.0.self_attn.q"),
    "Wan names, bare": _ab("blocks.0.self_attn.q"),
    "Wan names, lora_down/lora_up bare": _down_up("blocks.0.self_attn.q"),
    "whole-weight deltas only (.diff, .diff_b)": {"diffusion_model.blocks.0.self_attn.q.diff": torch.zeros(OUT, IN),
                                                  "diffusion_model.blocks.0.self_attn.q.diff_b": torch.zeros(OUT)},
}


@pytest.fixture(scope="module")
def wan_transformer():
    from diffusers import WanTransformer3DModel

    torch.manual_seed(0)
    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4,
                                 out_channels=4, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=1,
                                 cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
                                 rope_max_seq_len=32)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_layout_the_loader_reads_is_detected_as_a_lora(tmp_path, wan_transformer, name):
    path = tmp_path / "style.safetensors"
    save_file(LAYOUTS[name], str(path))
    assert list(read_lora(path, wan_transformer)) == ["blocks.0.attn1.to_q"]  # --lora takes it
    found = detect_kind(path)
    assert found["kind"] == "lora", (name, found)
    assert ", 1 layer" in found["detail"], found  # the one layer (its A, B, alpha... are one)


def test_the_reviewers_comfy_wan_lora_is_a_lora_in_models_and_info(tmp_path, cli):
    path = tmp_path / "loras" / "wan_comfy.safetensors"
    path.parent.mkdir()
    save_file(LAYOUTS["ComfyUI Wan, lora_down/lora_up + alpha"], str(path))
    p = cli("models", "--models-dir", tmp_path)
    assert p.returncode == 0 and "unknown" not in p.stdout, p.stdout
    (line,) = p.stdout.splitlines()
    assert line.split()[:2] == ["loras/wan_comfy.safetensors", "lora"], line
    assert "lora_down/lora_up" in line and "diffusion_model.blocks.0.self_attn.q" in line, line


def test_a_model_with_alpha_and_diff_named_keys_is_no_lora(tmp_path):
    """Only files whose every key is a LoRA key count when no lora_A/lora_down is there: a
    model with a `.diff` or `.alpha` parameter is not taken for a LoRA."""
    path = tmp_path / "model.safetensors"
    save_file({"blocks.0.alpha": torch.zeros(1), "blocks.0.diff": torch.zeros(4, 4),
               "blocks.0.proj.weight": torch.zeros(4, 4)}, str(path))
    assert detect_kind(path)["kind"] != "lora"
