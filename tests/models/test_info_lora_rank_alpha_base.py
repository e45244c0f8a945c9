"""`video info` on a LoRA says its rank (ranks where they differ), the alpha it stores, the model
it adapts (read from its layer names) and, for one `video train` exported, the base model and
task of its run, recorded in the file's header. It said only the layout and the layer count, so
which model a downloaded or trained LoRA fits could not be told before a render failed."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from video.models.lora import LoraPart, read_lora, save_lora


def _info(cli, path) -> dict:
    p = cli("info", path, "--json")
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    info = json.loads(p.stdout)
    assert info["kind"] == "lora", info
    return info


def _kohya(prefix: str, rank: int, alpha: float, fan_in: int = 32) -> dict[str, torch.Tensor]:
    return {f"{prefix}.lora_down.weight": torch.zeros(rank, fan_in), f"{prefix}.lora_up.weight": torch.zeros(96, rank),
            f"{prefix}.alpha": torch.tensor(alpha)}


def test_kohya_dit_lora_of_mixed_ranks_and_alphas(tmp_path, cli):
    path = tmp_path / "dit.safetensors"
    save_file({**_kohya("lora_unet_blocks_0_self_attn_qkv", 4, 2.0),
               **_kohya("lora_unet_blocks_0_cross_attn_kv", 2, 1.0)}, str(path))
    info = _info(cli, path)
    assert (info["ranks"], info["alphas"], info["target"]) == ([2, 4], [1.0, 2.0], "dit"), info
    assert "rank" not in info and "alpha" not in info and "base_model" not in info


def test_peft_svd_unet_lora_with_alpha_in_its_metadata(tmp_path, cli):
    g = torch.Generator().manual_seed(0)
    layer = "down_blocks.0.attentions.0.temporal_transformer_blocks.0.attn1.to_q"
    path = save_lora({layer: LoraPart(torch.randn(4, 32, generator=g), torch.randn(32, 4, generator=g), 8.0)},
                     tmp_path / "svd.safetensors", "peft", prefix="unet")
    info = _info(cli, path)
    assert (info["rank"], info["alpha"], info["target"]) == (4, 8.0, "svd unet"), info


def test_comfy_wan_lora_and_one_without_alpha(tmp_path, cli):
    path = tmp_path / "wan.safetensors"
    save_file(_kohya("diffusion_model.blocks.0.self_attn.q", 2, 1.0), str(path))
    info = _info(cli, path)
    assert (info["rank"], info["alpha"], info["target"]) == (2, 1.0, "wan"), info
    bare = tmp_path / "noalpha.safetensors"  # peft names, no metadata: --lora reads alpha = rank
    save_file({"transformer.blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 32),
               "transformer.blocks.0.attn1.to_q.lora_B.weight": torch.zeros(32, 2)}, str(bare))
    info = _info(cli, bare)
    assert (info["rank"], info["target"]) == (2, "wan") and "alpha" not in info, info
    named_bin = tmp_path / "wan.bin"  # a safetensors LoRA under another name: --lora loads it
    named_bin.write_bytes(path.read_bytes())
    assert _info(cli, named_bin)["rank"] == 2


@pytest.mark.parametrize("init_from", ["", "runs/stage1"])
def test_a_trained_lora_records_its_base_model_and_task(tmp_path, cli, init_from):
    pytest.importorskip("peft")
    from video.training.config import LoraConfig, TrainConfig
    from video.training.lora import add_lora, export_lora

    lora = LoraConfig(enabled=True, rank=2, alpha=4.0, targets=["0"])
    cfg = TrainConfig(task="svd_i2v", model="models/checkpoints/svd_xt", init_from=init_from, lora=lora)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4))
    add_lora(model, lora)
    peft, kohya = export_lora(model, tmp_path, cfg)
    for path in (peft, kohya):
        info = _info(cli, path)
        assert (info["base_model"], info["task"], info["rank"], info["alpha"]) == (
            "models/checkpoints/svd_xt", "svd_i2v", 2, 4.0), info
        assert info.get("init_from", "") == init_from, info
        with safe_open(str(path), framework="pt") as f:
            assert f.metadata()["base_model"] == "models/checkpoints/svd_xt"
        fresh = torch.nn.Sequential(torch.nn.Linear(4, 4))
        assert read_lora(path, fresh)["0"].alpha == 4.0  # the layout's own header entries are kept


def test_save_lora_metadata_never_replaces_the_layouts_own_entries(tmp_path):
    part = {"0": LoraPart(torch.zeros(2, 4), torch.zeros(4, 2), 4.0)}
    path = save_lora(part, tmp_path / "a.safetensors", "peft", prefix="transformer",
                     metadata={"format": "other", "lora_adapter_metadata": "{}", "task": "dit_t2v"})
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    assert meta["format"] == "pt" and json.loads(meta["lora_adapter_metadata"])["transformer.lora_alpha"] == 4.0
    assert meta["task"] == "dit_t2v"


def test_an_rslora_file_says_so(tmp_path, cli):
    """peft's use_rslora scales by alpha / sqrt(rank): `video info` says so beside the alpha it
    stores, so alpha / rank is not read as the strength --lora applies."""
    import json

    folder = tmp_path / "adapter"
    folder.mkdir()
    save_file({"base_model.model.blocks.0.attn1.to_q.lora_A.weight": torch.zeros(4, 32),
               "base_model.model.blocks.0.attn1.to_q.lora_B.weight": torch.zeros(32, 4)},
              str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(json.dumps({"r": 4, "lora_alpha": 8, "use_rslora": True}))
    info = _info(cli, folder / "adapter_model.safetensors")
    assert (info["rank"], info["alpha"], info["use_rslora"]) == (4, 8.0, True), info
    (folder / "adapter_config.json").write_text(json.dumps({"r": 4, "lora_alpha": 8}))
    assert "use_rslora" not in _info(cli, folder / "adapter_model.safetensors")
