"""LoRA files whose alpha lives in peft's config (pattern keys as peft matches them, rsLoRA),
checked against peft's and diffusers' own merges; and layer names beyond diffusers' paths: Wan's
modulation tables (LightX2V's ``diff_m``, ComfyUI's ``modulation.diff``) and the SVD UNet's sgm
names, as ComfyUI and Stability's checkpoints spell them."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from video.models.lora import METADATA_KEY, LoraError, LoraPart, apply_loras, save_lora

FIXTURES = Path(__file__).parents[1] / "edit" / "vace_fixtures.py"


class Blocks(torch.nn.Module):
    """Module paths where peft's suffix patterns matter: ``attn2.to_k`` is two layers' suffix,
    ``proj`` both a whole path and the suffix of ``inner.proj``."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.blk = torch.nn.ModuleDict({"attn1": torch.nn.ModuleDict({"to_q": torch.nn.Linear(16, 24),
                                                                      "to_k": torch.nn.Linear(16, 24)}),
                                        "attn2": torch.nn.ModuleDict({"to_k": torch.nn.Linear(16, 24)})})
        self.mid = torch.nn.ModuleDict({"attn2": torch.nn.ModuleDict({"to_k": torch.nn.Linear(16, 24)})})
        self.proj = torch.nn.Linear(16, 16)
        self.inner = torch.nn.ModuleDict({"proj": torch.nn.Linear(16, 16), "other": torch.nn.Linear(16, 16)})


def _randomize_adapters(model: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)


@pytest.mark.parametrize("rslora", [True, False], ids=["rslora", "lora"])
def test_peft_save_pretrained_merges_as_peft_merges(tmp_path, rslora):
    """peft's own adapter folder (adapter_model.safetensors + adapter_config.json) with suffix
    pattern keys, a regex pattern key and rsLoRA: merged weights equal peft's merge_and_unload, and
    attached unmerged, the layers compute what the merged ones do."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=4, lora_alpha=8, use_rslora=rslora, init_lora_weights=False,
                        target_modules=["to_q", "to_k", "proj"],
                        alpha_pattern={"attn2.to_k": 2, r"inner\.pro.": 3}, rank_pattern={"attn1.to_k": 2})
    model = get_peft_model(Blocks(), config)
    _randomize_adapters(model, 1)
    model.save_pretrained(str(tmp_path / "adapter"))
    want = model.merge_and_unload().state_dict()

    got = apply_loras(Blocks(), [(tmp_path / "adapter" / "adapter_model.safetensors", 1.0)]).state_dict()
    assert got.keys() == want.keys()
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-5, atol=1e-6, msg=k)
    assert not torch.allclose(got["mid.attn2.to_k.weight"], Blocks().mid.attn2.to_k.weight)
    attached = dict(apply_loras(Blocks(), [(tmp_path / "adapter" / "adapter_model.safetensors", 1.0)],
                                merge=False).named_modules())
    x = torch.randn(3, 16, generator=torch.Generator().manual_seed(5))
    for path in ("blk.attn1.to_q", "blk.attn1.to_k", "mid.attn2.to_k", "inner.proj"):
        torch.testing.assert_close(attached[path](x), x @ want[f"{path}.weight"].T + want[f"{path}.bias"],
                                   rtol=1e-5, atol=1e-5, msg=path)


def _wan_transformer():
    spec = importlib.util.spec_from_file_location("vace_fixtures_for_lora_patterns", FIXTURES)
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    return fx.lora_wan_transformer()


def test_diffusers_metadata_patterns_and_rslora_merge_as_diffusers_fuses(tmp_path):
    """A Wan LoRA written by diffusers' save_lora_weights with its peft config as
    ``lora_adapter_metadata`` (suffix patterns, rsLoRA): merged as diffusers loads and fuses it."""
    from diffusers import WanPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    base = _wan_transformer()
    config = LoraConfig(r=4, lora_alpha=8, use_rslora=True, init_lora_weights=False,
                        target_modules=["to_q", "to_k", "ffn.net.2"],
                        alpha_pattern={"attn2.to_k": 2}, rank_pattern={"ffn.net.2": 2})
    trained = copy.deepcopy(base)
    trained.add_adapter(config)
    _randomize_adapters(trained, 2)
    WanPipeline.save_lora_weights(str(tmp_path), transformer_lora_layers=get_peft_model_state_dict(trained),
                                  transformer_lora_adapter_metadata=config.to_dict())
    file = tmp_path / "pytorch_lora_weights.safetensors"

    theirs = copy.deepcopy(base)
    sd, meta = WanPipeline.lora_state_dict(str(file), return_lora_metadata=True)
    theirs.load_lora_adapter(sd, prefix="transformer", adapter_name="x", metadata=meta)
    theirs.fuse_lora(lora_scale=1.0)
    want = {n: (m.get_base_layer() if hasattr(m, "get_base_layer") else m) for n, m in theirs.named_modules()}
    ours = dict(apply_loras(copy.deepcopy(base), [(file, 1.0)]).named_modules())
    for i in range(2):
        for layer in ("attn1.to_q", "attn2.to_k", "ffn.net.2"):
            path = f"blocks.{i}.{layer}"
            torch.testing.assert_close(ours[path].weight, want[path].weight, rtol=1e-5, atol=1e-6, msg=path)
            assert not torch.equal(ours[path].weight, dict(base.named_modules())[path].weight)


def test_our_peft_files_name_each_layer_exactly(tmp_path):
    """save_lora's pattern keys name one layer each (peft would read a bare ``proj`` as the
    suffix of ``inner.proj`` too): read back, and read by peft, every layer keeps its alpha."""
    from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict
    from peft.tuners.lora import LoraLayer

    g = torch.Generator().manual_seed(4)
    parts = {p: LoraPart(torch.randn(4, 16, generator=g), torch.randn(16, 4, generator=g), a)
             for p, a in (("proj", 2.0), ("inner.proj", 4.0), ("inner.other", 4.0))}
    f = save_lora(parts, tmp_path / "ours.safetensors", "peft", prefix="unet")
    base = Blocks()
    want = {p: dict(base.named_modules())[p].weight + (part.alpha / 4) * part.up @ part.down
            for p, part in parts.items()}
    ours = dict(apply_loras(copy.deepcopy(base), [(f, 1.0)]).named_modules())

    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(f), framework="pt") as h:
        meta = {k[len("unet."):]: v for k, v in json.loads(h.metadata()[METADATA_KEY]).items()}
    peft_model = inject_adapter_in_model(LoraConfig(**meta), copy.deepcopy(base))
    set_peft_model_state_dict(peft_model, {k[len("unet."):]: v for k, v in load_file(str(f)).items()})
    for m in peft_model.modules():
        if isinstance(m, LoraLayer):
            m.merge()
    theirs = {n: (m.get_base_layer() if hasattr(m, "get_base_layer") else m) for n, m in peft_model.named_modules()}
    for p in parts:
        torch.testing.assert_close(ours[p].weight, want[p], rtol=1e-5, atol=1e-5, msg=p)
        torch.testing.assert_close(theirs[p].weight, want[p], rtol=1e-5, atol=1e-5, msg=p)


@pytest.mark.parametrize("meta, message", [
    ({"unet.r": 8}, r"proj: the LoRA's config gives rank 8 but its tensors have rank 4"),
    ({"unet.rank_pattern": {"proj": 2}}, r"gives rank 2 \(rank_pattern 'proj'\)"),
    ({"unet.alpha_pattern": {"pro(j": 2}}, r"alpha_pattern key 'pro\(j' is not a regular expression"),
])
def test_metadata_that_does_not_fit_the_tensors_is_refused(tmp_path, meta, message):
    f = tmp_path / "m.safetensors"
    save_file({"unet.proj.lora_A.weight": torch.ones(4, 16), "unet.proj.lora_B.weight": torch.ones(16, 4)}, str(f),
              metadata={METADATA_KEY: json.dumps(meta)})
    base, model = Blocks(), Blocks()
    with pytest.raises(LoraError, match=message) as e:
        apply_loras(model, [(f, 1.0)])
    assert "\n" not in str(e.value) and str(f) in str(e.value)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), base.state_dict().values(), strict=True))


# --- Wan's modulation tables ---------------------------------------------------------------


def test_wan_modulation_deltas_add_to_the_scale_shift_tables(tmp_path):
    """LightX2V's ``blocks.N.diff_m`` and ComfyUI's ``blocks.N.modulation.diff`` /
    ``head.modulation.diff``: Wan's ``modulation`` (1, 6, dim) per block and (1, 2, dim) in the
    head are diffusers' ``blocks.N.scale_shift_table`` and top-level ``scale_shift_table``."""
    base = _wan_transformer()
    assert tuple(base.blocks[0].scale_shift_table.shape) == (1, 6, 32)
    assert tuple(base.scale_shift_table.shape) == (1, 2, 32)
    g = torch.Generator().manual_seed(7)
    d0, d1, dh = torch.randn(1, 6, 32, generator=g), torch.randn(1, 6, 32, generator=g), torch.randn(1, 2, 32, generator=g)
    a, b = torch.randn(4, 32, generator=g), torch.randn(32, 4, generator=g)
    f = tmp_path / "lightx2v.safetensors"
    save_file({"diffusion_model.blocks.0.diff_m": d0, "diffusion_model.blocks.1.modulation.diff": d1,
               "diffusion_model.head.modulation.diff": dh,
               "diffusion_model.blocks.0.self_attn.q.lora_down.weight": a,
               "diffusion_model.blocks.0.self_attn.q.lora_up.weight": b,
               "diffusion_model.blocks.0.self_attn.q.alpha": torch.tensor(2.0)}, str(f))
    got = apply_loras(copy.deepcopy(base), [(f, 0.5)])
    torch.testing.assert_close(got.blocks[0].scale_shift_table, base.blocks[0].scale_shift_table + 0.5 * d0)
    torch.testing.assert_close(got.blocks[1].scale_shift_table, base.blocks[1].scale_shift_table + 0.5 * d1)
    torch.testing.assert_close(got.scale_shift_table, base.scale_shift_table + 0.5 * dh)
    torch.testing.assert_close(got.blocks[0].attn1.to_q.weight, base.blocks[0].attn1.to_q.weight + 0.5 * (2 / 4) * b @ a)


@pytest.mark.parametrize("tensors, message", [
    ({"diffusion_model.blocks.0.modulation.diff": torch.ones(1, 6, 16)},
     r"blocks\.0\.scale_shift_table: \.diff \(1, 6, 16\) does not fit parameter \(1, 6, 32\)"),
    ({"diffusion_model.head.modulation.diff": torch.ones(1, 32, 2)},
     r"scale_shift_table: \.diff \(1, 32, 2\) does not fit parameter \(1, 2, 32\)"),
    ({"diffusion_model.blocks.0.diff_m": torch.ones(1, 6, 32), "diffusion_model.blocks.0.modulation.diff":
      torch.ones(1, 6, 32)}, r"two \.diff tensors for diffusion_model\.blocks\.0\.modulation"),
])
def test_wan_modulation_deltas_that_do_not_fit_are_refused(tmp_path, tensors, message):
    base = _wan_transformer()
    model = copy.deepcopy(base)
    f = tmp_path / "bad.safetensors"
    save_file(tensors, str(f))
    with pytest.raises(LoraError, match=message) as e:
        apply_loras(model, [(f, 1.0)])
    assert "\n" not in str(e.value)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), base.state_dict().values(), strict=True))


# --- the SVD UNet's sgm names ---------------------------------------------------------------

_SVD_LAYERS = ("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q",  # input_blocks.1.1....to_q
               "down_blocks.0.attentions.0.temporal_transformer_blocks.0.ff.net.2",
               "down_blocks.0.resnets.0.spatial_res_block.conv1",  # a 3x3 convolution
               "mid_block.attentions.0.proj_in", "up_blocks.1.resnets.0.temporal_res_block.conv2",
               "up_blocks.0.upsamplers.0.conv", "time_embedding.linear_1")


def test_svd_loras_in_sgm_names_merge_as_in_diffusers_names(tmp_path, tiny_models):
    """One LoRA in diffusers' names, in ComfyUI's (``diffusion_model.<sgm name>``) and in kohya's
    (``lora_unet_<sgm_name>``), the sgm names from the single-file checkpoint map: all three merge
    to the same weights, W + s (alpha / r) B A by hand for the first layer."""
    from video.models.sgm import UNET, unet_key

    base = tiny_models.unet
    mods = dict(base.named_modules())
    up_attn = [hasattr(b, "attentions") for b in base.up_blocks]
    g = torch.Generator().manual_seed(8)
    files = {name: {} for name in ("diffusers", "comfy", "kohya")}
    ab = {}
    for path in _SVD_LAYERS:
        w = mods[path].weight
        a = torch.randn(4, *w.shape[1:], generator=g) * 0.3
        b = torch.randn(w.shape[0], 4, *[1] * (w.ndim - 2), generator=g) * 0.3
        ab[path] = (a, b)
        sgm = unet_key(f"{path}.weight", base.config.layers_per_block, up_attn)[len(UNET):-len(".weight")]
        for name, layer in (("diffusers", f"unet.{path}"), ("comfy", f"diffusion_model.{sgm}"),
                            ("kohya", "lora_unet_" + sgm.replace(".", "_"))):
            files[name] |= {f"{layer}.lora_down.weight": a, f"{layer}.lora_up.weight": b,
                            f"{layer}.alpha": torch.tensor(2.0)}
    assert "diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.lora_down.weight" in files["comfy"]
    merged = {}
    for name, tensors in files.items():
        save_file(tensors, str(tmp_path / f"{name}.safetensors"))
        merged[name] = apply_loras(copy.deepcopy(base), [(tmp_path / f"{name}.safetensors", 0.7)]).state_dict()
    a, b = ab[_SVD_LAYERS[0]]
    torch.testing.assert_close(merged["diffusers"][f"{_SVD_LAYERS[0]}.weight"],
                               mods[_SVD_LAYERS[0]].weight + 0.7 * (2 / 4) * b @ a)
    for name in ("comfy", "kohya"):
        assert all(torch.equal(merged[name][k], merged["diffusers"][k]) for k in merged["diffusers"]), name
    before = base.state_dict()
    changed = {k for k, v in merged["comfy"].items() if not torch.equal(v, before[k])}
    assert changed == {f"{p}.weight" for p in _SVD_LAYERS}


def test_unknown_sgm_names_are_still_refused(tmp_path, tiny_models):
    base = tiny_models.unet
    f = tmp_path / "x.safetensors"
    save_file({"diffusion_model.input_blocks.9.1.proj_in.lora_down.weight": torch.ones(4, 32),
               "diffusion_model.input_blocks.9.1.proj_in.lora_up.weight": torch.ones(32, 4)}, str(f))
    with pytest.raises(LoraError, match="1 LoRA layers match no layer of this model"):
        apply_loras(copy.deepcopy(base), [(f, 1.0)])


def test_dit_targets_on_a_wan_model_name_its_attention_layers():
    """dit_lora.yaml's targets are our DiT's layer names; on a Wan transformer the one-line
    error now gives the names to use instead."""
    from video.training.config import LoraConfig
    from video.training.lora import add_lora

    with pytest.raises(ValueError, match=r"this model's attention layers: lora\.targets=\[to_q,to_k,to_v,to_out\.0\]"):
        add_lora(_wan_transformer(), LoraConfig(enabled=True, rank=2, targets=["qkv", "out", "q", "kv"]))
