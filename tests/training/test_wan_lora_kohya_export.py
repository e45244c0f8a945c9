"""The kohya file a LoRA run exports (``final/lora_kohya.safetensors``): a Wan transformer's
layers in Wan's own names (musubi-tuner's ``lora_unet_blocks_0_self_attn_q``), which diffusers'
``WanPipeline.load_lora_weights`` reads, where our DiT and the SVD UNet keep their module paths;
and sd-scripts' ``ss_network_dim`` / ``ss_network_alpha`` / ``ss_network_module`` in its header."""

from __future__ import annotations

import copy

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from video.models.lora import LoraPart, apply_loras, kohya_name, read_lora, save_lora
from video.training.config import LoraConfig
from video.training.lora import add_lora, export_lora, lora_parts

pytest.importorskip("peft")
# Every layer diffusers' musubi-Wan reader (_convert_musubi_wan_lora_to_diffusers) takes: it
# pops q/k/v/o of both attentions and both ffn layers of each block, and fails on a file without them.
WAN_ALL = ["to_q", "to_k", "to_v", "to_out.0", "net.0.proj", "net.2"]


def _wan(seed: int):
    """The tiny random Wan transformer the Wan LoRA training tests use (non-zero everywhere)."""
    from test_wan_lora_training import _transformer

    return _transformer(seed)


def _trained(base: torch.nn.Module, targets: list[str], rank: int = 4, alpha: float = 3.0) -> torch.nn.Module:
    """``base`` with peft adapters on ``targets``, A and B random (as after training: B off 0)."""
    model = copy.deepcopy(base)
    add_lora(model, LoraConfig(enabled=True, rank=rank, alpha=alpha, targets=targets))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".lora_" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return model


def _header(path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


def test_a_wan_kohya_export_is_in_wans_names_and_loads_in_diffusers_wan_pipeline(tmp_path):
    """diffusers' WanPipeline failed on our export with KeyError 'blocks_0_self_attn_q.lora_down.weight':
    the keys spelled diffusers' paths (``lora_unet_blocks_0_attn1_to_k``). Its fused weights are
    W + (alpha / r) B A of the trained adapters, as our own merge of the same file."""
    from diffusers import WanPipeline

    base = _wan(3)
    model = _trained(base, WAN_ALL)
    parts = lora_parts(model)
    assert len(parts) == 2 * (4 + 4 + 2)  # two blocks: both attentions' q/k/v/o and the ffn's two layers
    peft, kohya = export_lora(model, tmp_path)
    keys = set(load_file(str(kohya)))
    assert {"lora_unet_blocks_0_self_attn_q.lora_down.weight", "lora_unet_blocks_1_cross_attn_o.alpha",
            "lora_unet_blocks_0_ffn_0.lora_up.weight", "lora_unet_blocks_1_ffn_2.lora_down.weight"} <= keys
    assert len(keys) == 3 * len(parts) and not any("attn1" in k or "to_q" in k for k in keys)

    pipe = WanPipeline(tokenizer=None, text_encoder=None, transformer=copy.deepcopy(base), vae=None, scheduler=None)
    pipe.load_lora_weights(str(kohya))
    pipe.fuse_lora()
    ours = apply_loras(copy.deepcopy(base), [(kohya, 1.0)], merge=True)
    from_peft = apply_loras(copy.deepcopy(base), [(peft, 1.0)], merge=True)
    for path, p in parts.items():
        theirs = pipe.transformer.get_submodule(path)
        theirs = theirs.base_layer.weight if hasattr(theirs, "base_layer") else theirs.weight
        want = base.get_submodule(path).weight.double() + 3.0 / 4 * (p.up.double() @ p.down.double())
        torch.testing.assert_close(theirs.double(), want, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(ours.get_submodule(path).weight, theirs, rtol=1e-5, atol=1e-6)
        assert torch.equal(ours.get_submodule(path).weight, from_peft.get_submodule(path).weight)


def test_a_wan_attention_only_kohya_export_reads_back_whole(tmp_path):
    """The README's Wan targets (attention only): the same Wan names, read back by our reader
    into the same module paths, A, B and alpha unchanged."""
    base = _wan(3)
    model = _trained(base, ["to_q", "to_k", "to_v", "to_out.0"], alpha=8.0)
    parts = lora_parts(model)
    _, kohya = export_lora(model, tmp_path)
    assert "lora_unet_blocks_1_cross_attn_v.lora_down.weight" in load_file(str(kohya))
    back = read_lora(kohya, base)
    assert set(back) == set(parts)
    for path, p in parts.items():
        assert torch.equal(back[path].down, p.down) and torch.equal(back[path].up, p.up) and back[path].alpha == 8.0


def _dit():
    from video.config import load_config
    from video.models.dit import DiT, DiTConfig

    torch.manual_seed(0)
    return DiT(load_config(DiTConfig, "configs/model/dit_tiny.yaml")).eval()


def _unet():
    from video.config import load_model_config
    from video.models.svd import build_random

    return build_random(load_model_config("tiny")).unet.eval()


@pytest.mark.parametrize("build", [_dit, _unet], ids=["dit", "unet"])
def test_our_dit_and_the_svd_unet_keep_their_paths_and_the_header_says_rank_and_alpha(build, tmp_path):
    from video.training.lora import default_targets

    base = build()
    model = _trained(base, default_targets(base), rank=4, alpha=8.0)
    _, kohya = export_lora(model, tmp_path)
    paths = set(lora_parts(model))
    assert set(load_file(str(kohya))) == {f"{kohya_name(p)}.{s}" for p in paths
                                          for s in ("lora_down.weight", "lora_up.weight", "alpha")}
    header = _header(kohya)  # sd-scripts' train_network.py: str() of --network_dim (int), --network_alpha (float)
    assert (header["ss_network_module"], header["ss_network_dim"], header["ss_network_alpha"]) == (
        "networks.lora", "4", "8.0")
    assert header["format"] == "pt"
    assert not any(k.startswith("ss_") for k in _header(tmp_path / "lora.safetensors"))  # peft's has its own


def test_a_kohya_header_says_dynamic_where_layers_differ_and_metadata_cannot_replace_it(tmp_path):
    """Ranks or alphas that differ by layer: ``Dynamic``, as sd-scripts' resize_lora.py writes it
    (one number would misstate every other layer)."""
    parts = {"0": LoraPart(torch.ones(2, 4), torch.ones(4, 2), 4.0), "1": LoraPart(torch.ones(3, 4), torch.ones(4, 3), 4.0)}
    path = save_lora(parts, tmp_path / "k.safetensors", "kohya", metadata={"ss_network_dim": "99", "task": "t"})
    header = _header(path)
    assert (header["ss_network_dim"], header["ss_network_alpha"], header["task"]) == ("Dynamic", "4.0", "t")
    parts["1"] = LoraPart(torch.ones(2, 4), torch.ones(4, 2), 2.0)
    header = _header(save_lora(parts, tmp_path / "k2.safetensors", "kohya"))
    assert (header["ss_network_dim"], header["ss_network_alpha"]) == ("2", "Dynamic")


def test_a_wan_sharded_by_fsdp2_keeps_wans_names():
    """FSDP2's ``fully_shard`` swaps the model's class for a subclass named
    ``FSDPWanTransformer3DModel``: the Wan names are found through the class's parents (by its
    own name alone, a sharded run's kohya file fell back to diffusers' paths)."""
    from video.models.lora_keys import wan_original_names

    model = _wan(3)
    model.__class__ = type("FSDPWanTransformer3DModel", (type(model),), {})  # what fully_shard does
    assert wan_original_names(model, ["blocks.0.attn1.to_q"]) == {"blocks.0.self_attn.q": "blocks.0.attn1.to_q"}
