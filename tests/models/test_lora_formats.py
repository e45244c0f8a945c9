"""LoRA key kinds beyond A/B, checked against peft (DoRA, lora_B.bias) and diffusers (Wan's own
layouts: DiffSynth/ComfyUI and musubi-tuner/kohya); anything else is refused, never applied in
part."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from video.models.lora import METADATA_KEY, LoraError, apply_loras, read_lora

FIXTURES = Path(__file__).parents[1] / "edit" / "vace_fixtures.py"


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(16, 8)
        self.conv = torch.nn.Conv2d(4, 8, 3)
        self.norm = torch.nn.LayerNorm(8)


def _peft_file(tmp_path: Path, scale: float, **config):
    """A LoRA trained-like by peft itself (random A, B and extras), saved with peft's own
    state-dict keys; returns (file, the weights peft's merge gives at ``scale``)."""
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict

    model = get_peft_model(Net(), LoraConfig(r=4, lora_alpha=8, target_modules=["proj", "conv"],
                                             init_lora_weights=False, **config))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3 + (1.0 if "magnitude" in name else 0.0))
    sd = get_peft_model_state_dict(model)
    f = tmp_path / "peft.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(f),
              metadata={METADATA_KEY: json.dumps({"base_model.model.lora_alpha": 8})})
    for m in model.modules():
        if hasattr(m, "set_scale"):
            m.set_scale("default", scale)
    merged = model.merge_and_unload()
    return f, {k: v.detach().clone() for k, v in merged.state_dict().items()}


@pytest.mark.filterwarnings("ignore:Adapter .default.")
@pytest.mark.parametrize("config", [dict(use_dora=True), dict(lora_bias=True)], ids=["dora", "lora_bias"])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_peft_extras_merge_as_peft_merges_them(tmp_path, config, scale):
    f, want = _peft_file(tmp_path, scale, **config)
    parts = read_lora(f, Net())
    kinds = {e for p in parts.values() for e in p.extras()}
    assert kinds == ({"DoRA magnitude"} if "use_dora" in config else {"lora_B.bias"})
    got = apply_loras(Net(), [(f, scale)]).state_dict()
    assert got.keys() == want.keys()
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(got["proj.weight"], Net().proj.weight)
    with pytest.raises(LoraError, match="only merged"):  # an unmerged adapter would drop them
        apply_loras(Net(), [(f, scale)], merge=False)


def test_diff_and_diff_b_are_full_deltas(tmp_path):
    g = torch.Generator().manual_seed(2)
    d_w, d_b, d_n = torch.randn(8, 16, generator=g), torch.randn(8, generator=g), torch.randn(8, generator=g)
    f = tmp_path / "diff.safetensors"
    save_file({"proj.diff": d_w, "proj.diff_b": d_b, "norm.diff": d_n}, str(f))
    base, got = Net(), apply_loras(Net(), [(f, 0.5)])
    torch.testing.assert_close(got.proj.weight, base.proj.weight + 0.5 * d_w)
    torch.testing.assert_close(got.proj.bias, base.proj.bias + 0.5 * d_b)
    torch.testing.assert_close(got.norm.weight, base.norm.weight + 0.5 * d_n)


@pytest.mark.parametrize("extra, message", [
    ({"lora_unet_conv.lokr_w1": torch.ones(2, 2)}, r"\.lokr_w1 \(LyCORIS LoKr\)"),
    ({"lora_unet_conv.dora_scale": torch.ones(8, 1, 1, 1)}, "conv has dora_scale without lora_A/lora_B"),
    ({"lora_unet_conv.lora_up.weight": torch.ones(8, 4, 1, 1)}, "conv has lora_B/lora_up without its lora_A"),
    ({"lora_unet_conv.hada_w1_a": torch.ones(8, 4)}, r"\.hada_w1_a"),
    ({"lora_unet_conv.alpha": torch.tensor(4.0)}, "conv has alpha without lora_A/lora_B"),
])
def test_kinds_it_cannot_apply_are_refused_whole(tmp_path, extra, message):
    f = tmp_path / "k.safetensors"
    save_file({"lora_unet_proj.lora_down.weight": torch.ones(4, 16), "lora_unet_proj.lora_up.weight": torch.ones(8, 4),
               "lora_unet_proj.alpha": torch.tensor(4.0), **extra}, str(f))
    base = Net()
    model = copy.deepcopy(base)
    with pytest.raises(LoraError, match=message) as e:
        apply_loras(model, [(f, 1.0)])
    assert "\n" not in str(e.value)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), base.state_dict().values(), strict=True))


@pytest.mark.parametrize("on_out", [True, False], ids=["out_axis", "in_axis"])
@pytest.mark.parametrize("scale", [1.0, 0.6])
def test_lycoris_dora_merges_as_lycoris_runs_it(tmp_path, on_out, scale):
    """A kohya-layout file with ``dora_scale``, written by LyCORIS's own LoCon module (the
    trainer that makes such files): merged weights equal what that module computes at the
    same multiplier, for a linear and a convolution layer."""
    pytest.importorskip("lycoris")
    from lycoris.modules.locon import LoConModule

    base = Net()
    g = torch.Generator().manual_seed(3)
    tensors, want = {}, {}
    for name in ("proj", "conv"):
        layer = getattr(base, name)
        m = LoConModule(f"lora_unet_{name}", layer, 1.0, 4, 8, weight_decompose=True, wd_on_out=on_out)
        with torch.no_grad():  # trained-like: a delta, and magnitudes away from the base norms
            m.lora_up.weight.copy_(torch.randn(m.lora_up.weight.shape, generator=g) * 0.3)
            m.dora_scale.mul_(1 + 0.5 * torch.rand(m.dora_scale.shape, generator=g))
        tensors.update({f"lora_unet_{name}.{k}": v.detach().contiguous() for k, v in m.custom_state_dict().items()})
        want[f"{name}.weight"] = m.get_merged_weight(multiplier=scale)[0].detach()
    f = tmp_path / "dora.safetensors"
    save_file(tensors, str(f))
    assert {e for p in read_lora(f, Net()).values() for e in p.extras()} == {"DoRA scale"}
    got = apply_loras(Net(), [(f, scale)])
    for name in ("proj", "conv"):
        torch.testing.assert_close(getattr(got, name).weight, want[f"{name}.weight"], rtol=1e-5, atol=1e-6)
        assert not torch.allclose(getattr(got, name).weight, getattr(base, name).weight, atol=1e-3)
    with pytest.raises(LoraError, match="only merged"):
        apply_loras(Net(), [(f, scale)], merge=False)


# --- Wan's own layouts -------------------------------------------------------------------

_ATTN = {"q": "to_q", "k": "to_k", "v": "to_v", "o": "to_out.0"}
_FFN = {"ffn.0": "ffn.net.0.proj", "ffn.2": "ffn.net.2"}


def _wan_transformer():
    spec = importlib.util.spec_from_file_location("vace_fixtures_for_lora_formats", FIXTURES)
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    return fx.lora_wan_transformer()


def _wan_layers() -> list[tuple[str, str]]:
    """(Wan's own name, diffusers path) of every layer diffusers' musubi converter expects."""
    out = []
    for i in range(2):
        for wan_attn, ours in (("self_attn", "attn1"), ("cross_attn", "attn2")):
            out += [(f"blocks.{i}.{wan_attn}.{a}", f"blocks.{i}.{ours}.{b}") for a, b in _ATTN.items()]
        out += [(f"blocks.{i}.{a}", f"blocks.{i}.{b}") for a, b in _FFN.items()]
    return out


def _wan_loras(tmp_path: Path, model) -> dict[str, Path]:
    g = torch.Generator().manual_seed(5)
    mods = dict(model.named_modules())
    peft, diffsynth, musubi = {}, {}, {}
    for wan, ours in _wan_layers():
        w = mods[ours].weight
        a, b = torch.randn(4, w.shape[1], generator=g) * 0.3, torch.randn(w.shape[0], 4, generator=g) * 0.3
        peft |= {f"transformer.{ours}.lora_A.weight": a, f"transformer.{ours}.lora_B.weight": b}
        diffsynth |= {f"diffusion_model.{wan}.lora_A.weight": a, f"diffusion_model.{wan}.lora_B.weight": b,
                      f"diffusion_model.{wan}.alpha": torch.tensor(2.0)}
        k = "lora_unet_" + wan.replace(".", "_")
        musubi |= {f"{k}.lora_down.weight": a, f"{k}.lora_up.weight": b, f"{k}.alpha": torch.tensor(2.0)}
    files = {name: tmp_path / f"{name}.safetensors" for name in ("peft", "diffsynth", "musubi")}
    save_file(peft, str(files["peft"]), metadata={METADATA_KEY: json.dumps({"transformer.lora_alpha": 2.0})})
    save_file(diffsynth, str(files["diffsynth"]))
    save_file(musubi, str(files["musubi"]))
    return files


def _diffusers_merged(model, file: Path) -> dict[str, torch.Tensor]:
    """diffusers' own reading of the file (WanPipeline.lora_state_dict converts Wan's layouts),
    loaded as a peft adapter and fused."""
    from diffusers import WanPipeline

    sd = WanPipeline.lora_state_dict(str(file))
    sd = sd[0] if isinstance(sd, tuple) else sd
    model.load_lora_adapter(sd, prefix="transformer", adapter_name="x")
    model.fuse_lora(lora_scale=1.0)
    return {name: (m.get_base_layer() if hasattr(m, "get_base_layer") else m) for name, m in model.named_modules()}


def test_wan_layouts_merge_like_the_diffusers_layout_and_like_diffusers(tmp_path):
    base = _wan_transformer()
    files = _wan_loras(tmp_path, base)
    merged = {name: apply_loras(copy.deepcopy(base), [(f, 1.0)]) for name, f in files.items()}
    ref = merged["peft"].state_dict()
    assert not torch.equal(ref["blocks.0.attn1.to_q.weight"], base.state_dict()["blocks.0.attn1.to_q.weight"])
    for name in ("diffsynth", "musubi"):
        got = merged[name].state_dict()
        assert all(torch.equal(got[k], ref[k]) for k in ref), name
        theirs = _diffusers_merged(copy.deepcopy(base), files[name])
        for _wan, ours in _wan_layers():
            torch.testing.assert_close(dict(merged[name].named_modules())[ours].weight, theirs[ours].weight,
                                       rtol=1e-5, atol=1e-6)


def test_wan_diff_b_and_norm_diffs(tmp_path):
    base = _wan_transformer()
    g = torch.Generator().manual_seed(6)
    d_b, d_n = torch.randn(32, generator=g), torch.randn(32, generator=g)
    a, b = torch.randn(4, 32, generator=g), torch.randn(32, 4, generator=g)
    f = tmp_path / "diffb.safetensors"
    save_file({"diffusion_model.blocks.0.self_attn.q.lora_A.weight": a,
               "diffusion_model.blocks.0.self_attn.q.lora_B.weight": b,
               "diffusion_model.blocks.0.self_attn.q.diff_b": d_b}, str(f))
    theirs = _diffusers_merged(copy.deepcopy(base), f)  # diffusers: diff_b becomes lora_B.bias
    ours = apply_loras(copy.deepcopy(base), [(f, 1.0)])
    torch.testing.assert_close(ours.blocks[0].attn1.to_q.bias, theirs["blocks.0.attn1.to_q"].bias)
    torch.testing.assert_close(ours.blocks[0].attn1.to_q.weight, theirs["blocks.0.attn1.to_q"].weight)
    # Wan's norm3 (the cross-attention norm) is diffusers' norm2; diffusers drops norm diffs, ComfyUI adds them
    save_file({"diffusion_model.blocks.1.norm3.diff": d_n}, str(tmp_path / "norm.safetensors"))
    ours = apply_loras(copy.deepcopy(base), [(tmp_path / "norm.safetensors", 1.0)])
    torch.testing.assert_close(ours.blocks[1].norm2.weight, base.blocks[1].norm2.weight + d_n)
