"""LoRA files as they come from the wild, each built for a tiny diffusers Wan transformer (or the
built-in tiny DiT) and read by the loader itself:

- NaN / infinite values (a diverged fp16 training; musubi-style NaN ``.alpha`` scalars) and an
  ``.alpha`` of several values are refused, naming the file and its key, before any weight
  changes: merged, they gave a black video that exited 0, or a traceback;
- the kohya-style prefixes ``lycoris_`` (LyCORIS / SimpleTuner) and ``lora_transformer_``, and
  DiffSynth's ``pipe.dit.``, merge as W + s (alpha / r) B A (computed here), where they were
  "trained for another model?";
- a LoRA that does not fit says how many layers misfit and the file's own key;
- ``video info`` says the alpha ``--lora`` applies where it is not the stored one (kohya's 0,
  none stored) and each NaN alpha once; ``video info`` / ``video models`` name the example key
  the same every run, label ComfyUI / ai-toolkit and DiffSynth files by what they are, and the
  models listing says each LoRA's model and rank.
"""

from __future__ import annotations

import copy
import json

import pytest
import torch
from safetensors.torch import save_file

from video.models.detect import detect_kind
from video.models.lora import METADATA_KEY, LoraError, apply_loras, read_lora
from video.models.lora_info import lora_layout

pytest.importorskip("peft")

R, D = 2, 32  # rank; the tiny Wan transformer's attention layers are 32 -> 32
WAN_Q, WAN_K = "blocks.0.attn1.to_q", "blocks.0.attn2.to_k"  # Wan's own names: blocks.0.self_attn.q, cross_attn.k


@pytest.fixture(scope="module")
def wan():
    from diffusers import WanTransformer3DModel

    torch.manual_seed(0)
    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4,
                                 out_channels=4, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=1,
                                 cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
                                 rope_max_seq_len=32)


def _down_up(name: str, alpha=None, seed: int = 0, fan_in: int = D) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {f"{name}.lora_down.weight": torch.randn(R, fan_in, generator=g),
           f"{name}.lora_up.weight": torch.randn(D, R, generator=g)}
    return out if alpha is None else {**out, f"{name}.alpha": torch.as_tensor(alpha, dtype=torch.float32)}


def _musubi(alpha=1.0, **kw) -> dict[str, torch.Tensor]:
    """Two layers in musubi-tuner's names (kohya-style, Wan's module names)."""
    return {**_down_up("lora_unet_blocks_0_self_attn_q", alpha, 0, **kw),
            **_down_up("lora_unet_blocks_0_cross_attn_k", alpha, 1, **kw)}


def _save(tmp_path, name: str, tensors: dict, metadata: dict | None = None):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


# --- values no merge can use --------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")


def _poisoned(key: str, value: float) -> dict[str, torch.Tensor]:
    t = _musubi()
    t[key] = t[key].clone()
    t[key].view(-1)[0] = value
    return t


@pytest.mark.parametrize("tensors, key", [
    (_musubi(alpha=NAN), "lora_unet_blocks_0_cross_attn_k.alpha"),  # the first key in the file's (sorted) order
    (_poisoned("lora_unet_blocks_0_self_attn_q.alpha", INF), "lora_unet_blocks_0_self_attn_q.alpha"),
    (_poisoned("lora_unet_blocks_0_self_attn_q.lora_up.weight", NAN), "lora_unet_blocks_0_self_attn_q.lora_up.weight"),
    (_poisoned("lora_unet_blocks_0_cross_attn_k.lora_down.weight", -INF),
     "lora_unet_blocks_0_cross_attn_k.lora_down.weight"),
    ({"diffusion_model.blocks.0.self_attn.q.diff": torch.full((D, D), NAN)}, "diffusion_model.blocks.0.self_attn.q.diff"),
    ({"diffusion_model.blocks.0.self_attn.q.diff_b": torch.tensor([INF] + [0.0] * (D - 1))},
     "diffusion_model.blocks.0.self_attn.q.diff_b"),
], ids=["nan alphas", "inf alpha", "nan up", "-inf down", "nan diff", "inf diff_b"])
def test_non_finite_values_are_refused_before_any_weight_changes(tmp_path, wan, tensors, key):
    good = _save(tmp_path, "good.safetensors", _musubi())
    bad = _save(tmp_path, "bad.safetensors", tensors)
    model = copy.deepcopy(wan)
    with pytest.raises(LoraError, match=rf"^{bad}: '{key}' (is|holds) .*refusing this LoRA") as e:
        apply_loras(model, [(good, 1.0), (bad, 0.5)])  # the good file first: still nothing merged
    assert "\n" not in str(e.value)
    assert _same(model, wan)


def test_a_nan_alpha_in_the_config_is_refused(tmp_path, wan):
    g = torch.Generator().manual_seed(0)
    f = _save(tmp_path, "peft.safetensors", {f"transformer.{WAN_Q}.lora_A.weight": torch.randn(R, D, generator=g),
                                             f"transformer.{WAN_Q}.lora_B.weight": torch.randn(D, R, generator=g)},
              {METADATA_KEY: json.dumps({"transformer.lora_alpha": NAN})})
    with pytest.raises(LoraError, match=rf"^{f}: transformer\.{WAN_Q}: its config gives alpha nan"):
        read_lora(f, wan)


@pytest.mark.parametrize("alpha", [[1.0, 2.0], []], ids=["two values", "empty"])
def test_an_alpha_of_other_than_one_value_is_one_line(tmp_path, wan, alpha):
    f = _save(tmp_path, "x.safetensors", _musubi(alpha=alpha))
    with pytest.raises(LoraError, match=rf"^{f}: 'lora_unet_blocks_0_cross_attn_k.alpha' holds {len(alpha)} values "
                                        "where an alpha is one number"):
        read_lora(f, wan)


def test_txt2vid_refuses_a_nan_lora_instead_of_writing_a_black_frame(tmp_path, cli):
    from video.models.lora import adaptable_layers
    from video.runtime.txt2vid import build_tiny

    name = next(n for n in adaptable_layers(build_tiny(0).transformer) if n.endswith("attn.qkv"))
    w = adaptable_layers(build_tiny(0).transformer)[name].weight
    kohya = "lora_unet_" + name.replace(".", "_")
    f = _save(tmp_path, "nan_alpha.safetensors", {f"{kohya}.lora_down.weight": torch.randn(R, w.shape[1]),
                                                  f"{kohya}.lora_up.weight": torch.randn(w.shape[0], R),
                                                  f"{kohya}.alpha": torch.tensor(NAN)})
    out = tmp_path / "out.png"
    r = cli("txt2vid", "--model", "tiny", "--lora", f"{f}:0.5", "--frames", "1", "--height", "16", "--width", "16",
            "--steps", "1", "--output", out)
    assert r.returncode != 0 and not out.exists(), r.stderr[-2000:]
    assert r.errors == [f"error: {f}: '{kohya}.alpha' is nan (a diverged training?); refusing this LoRA: merged, it "
                        "makes the output NaN (a black video)"], r.stderr[-2000:]


# --- kohya-style prefixes and DiffSynth's wrapper: merged as W + s (alpha / r) B A --------------

@pytest.mark.parametrize("tensors, layer, alpha", [
    (_down_up("lycoris_blocks_0_self_attn_q", 1.0), WAN_Q, 1.0),  # Wan's names, as musubi's under lora_unet_
    (_down_up("lycoris_blocks_0_attn2_to_k", 0.0), WAN_K, float(R)),  # diffusers' names; alpha 0 means rank
    (_down_up("lora_transformer_blocks_0_attn1_to_q", 8.0), WAN_Q, 8.0),  # diffusers' "mixture" kohya files
    (_down_up("lora_transformer_blocks_0_cross_attn_k", 0.5), WAN_K, 0.5),
], ids=["lycoris_ wan names", "lycoris_ diffusers names, alpha 0", "lora_transformer_", "lora_transformer_ wan names"])
def test_kohya_like_prefixes_merge_as_kohya(tmp_path, wan, tensors, layer, alpha):
    f = _save(tmp_path, "x.safetensors", tensors)
    down, up = (v for k, v in tensors.items() if not k.endswith(".alpha"))
    _merges_as(f, wan, layer, down, up, alpha, scale=0.7)


@pytest.mark.parametrize("infix", [".default", ""], ids=["lora_A.default", "lora_A"])
def test_diffsynth_pipe_dit_prefix_merges_at_alpha_rank(tmp_path, wan, infix):
    g = torch.Generator().manual_seed(3)
    down, up = torch.randn(R, D, generator=g), torch.randn(D, R, generator=g)
    f = _save(tmp_path, "ds.safetensors", {f"pipe.dit.blocks.0.self_attn.q.lora_A{infix}.weight": down,
                                           f"pipe.dit.blocks.0.self_attn.q.lora_B{infix}.weight": up})
    _merges_as(f, wan, WAN_Q, down, up, float(R), scale=0.5)  # DiffSynth stores no alpha: alpha = rank
    assert detect_kind(f)["detail"] == "DiffSynth layout (pipe.dit. prefix, lora_A/lora_B), 1 layer"


def _merges_as(f, wan, layer: str, down, up, alpha: float, scale: float) -> None:
    got = apply_loras(copy.deepcopy(wan), [(f, scale)])
    want = dict(wan.state_dict())
    want[f"{layer}.weight"] = want[f"{layer}.weight"] + scale * (alpha / R) * (up @ down)
    for k, v in got.state_dict().items():
        torch.testing.assert_close(v, want[k], rtol=1e-5, atol=1e-6, msg=k)
    assert not torch.equal(got.state_dict()[f"{layer}.weight"], wan.state_dict()[f"{layer}.weight"])


# --- a LoRA for another model ---------------------------------------------------------------------

def test_a_misfit_counts_the_layers_and_names_the_files_key(tmp_path, wan):
    f = _save(tmp_path, "big.safetensors", _musubi(fan_in=64))  # a bigger model's: 64 inputs where ours has 32
    model = copy.deepcopy(wan)
    with pytest.raises(LoraError) as e:
        apply_loras(model, [(f, 1.0)])
    assert str(e.value) == (f"{f}: LoRA for {WAN_K}: A (2, 64) and B (32, 2) do not fit weight (32, 32) (the file's "
                            "lora_unet_blocks_0_cross_attn_k); 2 of 2 LoRA layers do not fit this model: was it "
                            "trained for another model?")
    assert _same(model, wan)


# --- video info / video models ------------------------------------------------------------------

def test_the_example_key_does_not_depend_on_the_key_order():
    keys = [*_down_up("diffusion_model.blocks.1.self_attn.q", 1.0), *_down_up("diffusion_model.blocks.0.self_attn.q")]
    said = {lora_layout(order) for order in (keys, keys[::-1], sorted(keys), set(keys))}
    assert said == {"lora_down/lora_up layout under module names (e.g. diffusion_model.blocks.0.self_attn.q), "
                    "2 layers"}, said


@pytest.mark.parametrize("tensors, detail", [
    ({f"diffusion_model.blocks.0.self_attn.q.lora_{x}.weight": torch.zeros(2, 2) for x in "AB"},
     "ComfyUI/ai-toolkit layout (diffusion_model. prefix, lora_A/lora_B), 1 layer"),
    ({f"blocks.0.self_attn.q.lora_{x}.default.weight": torch.zeros(2, 2) for x in "AB"},
     "DiffSynth / peft checkpoint layout (lora_A.default/lora_B.default), 1 layer"),
    (_down_up("lycoris_blocks_0_self_attn_q", 1.0), "LyCORIS/SimpleTuner layout (lycoris_ prefix, lora_down/lora_up), "
                                                    "1 layer"),
    (_down_up("lora_transformer_blocks_0_attn1_to_q", 1.0),
     "kohya layout (lora_transformer_ prefix, lora_down/lora_up), transformer, 1 layer"),
], ids=["comfy", "diffsynth", "lycoris", "lora_transformer"])
def test_layouts_are_labelled_by_what_wrote_them(tmp_path, tensors, detail):
    assert detect_kind(_save(tmp_path, "x.safetensors", tensors)) == {"kind": "lora", "detail": detail}


def _info(cli, path) -> dict:
    p = cli("info", path, "--json")
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    return json.loads(p.stdout)


def test_info_says_the_alpha_lora_applies(tmp_path, cli, wan):
    zero = _save(tmp_path, "zero.safetensors", _musubi(alpha=0.0))
    info = _info(cli, zero)
    assert (info["alpha"], info["alpha_used"]) == (0.0, "2 (= rank: a stored alpha of 0 means the rank, as in "
                                                        "kohya's sd-scripts)"), info
    t = _musubi(alpha=0.0)  # what --lora applies is what info says: alpha = rank, so (alpha / r) = 1
    got = apply_loras(copy.deepcopy(wan), [(zero, 1.0)])
    for layer, kohya in ((WAN_Q, "lora_unet_blocks_0_self_attn_q"), (WAN_K, "lora_unet_blocks_0_cross_attn_k")):
        want = wan.state_dict()[f"{layer}.weight"] + t[f"{kohya}.lora_up.weight"] @ t[f"{kohya}.lora_down.weight"]
        torch.testing.assert_close(got.state_dict()[f"{layer}.weight"], want, rtol=1e-5, atol=1e-6)

    none = _save(tmp_path, "none.safetensors", _musubi(alpha=None))
    info = _info(cli, none)
    assert "alpha" not in info and info["alpha_used"] == "2 (= rank: none stored)", info

    mixed = _save(tmp_path, "mixed.safetensors", {**_down_up("lora_unet_blocks_0_self_attn_q", 0.0),
                                                  **_down_up("lora_unet_blocks_0_cross_attn_k", 4.0, 1),
                                                  **_down_up("lora_unet_blocks_0_self_attn_k", None, 2)})
    info = _info(cli, mixed)
    assert info["alphas"] == [0.0, 4.0] and info["alpha_used"] == (
        "2 (= rank) where the stored alpha is 0 (a stored alpha of 0 means the rank, as in kohya's sd-scripts); "
        "2 (= rank) for the 1 layer with no .alpha"), info

    plain = _save(tmp_path, "plain.safetensors", _musubi(alpha=1.0))  # applied as stored: nothing more to say
    assert "alpha_used" not in _info(cli, plain)


def test_info_says_a_training_checkpoints_alpha_from_its_run(tmp_path, cli, wan):
    step = tmp_path / "run" / "checkpoints" / "step_10"
    g = torch.Generator().manual_seed(0)
    down, up = torch.randn(R, D, generator=g), torch.randn(D, R, generator=g)
    f = _save(step, "model.safetensors", {f"{WAN_Q}.lora_A.default.weight": down, f"{WAN_Q}.lora_B.default.weight": up})
    (step / "state.json").write_text(json.dumps({"config": {"lora": {"enabled": True, "rank": R, "alpha": 8}}}))
    assert _info(cli, f)["alpha_used"] == "8 (lora.alpha of the run, from the state.json beside it)"
    _merges_as(f, wan, WAN_Q, down, up, 8.0, scale=1.0)


def test_info_says_a_nan_alpha_once_and_that_lora_refuses_it(tmp_path, cli):
    f = _save(tmp_path, "nan.safetensors", {**_musubi(alpha=NAN), **_down_up("lora_unet_blocks_0_self_attn_k", NAN)})
    info = _info(cli, f)
    assert info["alpha"] == "nan" and "alphas" not in info, info
    assert info["alpha_used"] == ("none: --lora refuses this file (an alpha that is not one finite number: "
                                  "lora_unet_blocks_0_cross_attn_k.alpha)"), info


def test_models_rows_say_each_loras_model_and_rank(tmp_path, cli):
    loras = tmp_path / "loras"
    _save(loras, "wan.safetensors", _musubi())
    _save(loras, "dit.safetensors", _down_up("lora_unet_blocks_0_self_attn_qkv", 1.0))
    g = torch.Generator().manual_seed(0)
    _save(loras, "mixed.safetensors", {"lora_unet_blocks_0_self_attn_qkv.lora_down.weight": torch.randn(4, 8, generator=g),
                                       "lora_unet_blocks_0_self_attn_qkv.lora_up.weight": torch.randn(24, 4, generator=g),
                                       "lora_unet_blocks_0_mlp_0.lora_down.weight": torch.randn(2, 8, generator=g),
                                       "lora_unet_blocks_0_mlp_0.lora_up.weight": torch.randn(16, 2, generator=g)})
    p = cli("models", "--models-dir", tmp_path)
    assert p.returncode == 0, p.stderr
    lines = {ln.split()[0]: ln for ln in p.stdout.splitlines()}
    assert lines["loras/wan.safetensors"].endswith("2 layers; for wan, rank 2"), lines
    assert lines["loras/dit.safetensors"].endswith("1 layer; for dit, rank 2"), lines
    assert lines["loras/mixed.safetensors"].endswith("2 layers; for dit, ranks 2, 4"), lines
    rows = {r["name"]: r for r in json.loads(cli("models", "--models-dir", tmp_path, "--json").stdout)}
    assert (rows["wan.safetensors"]["target"], rows["wan.safetensors"]["rank"]) == ("wan", 2), rows
    assert (rows["mixed.safetensors"]["target"], rows["mixed.safetensors"]["ranks"]) == ("dit", [2, 4]), rows


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fn, torch.float8_e5m2], ids=["e4m3fn", "e5m2"])
def test_an_fp8_lora_merges_and_one_with_nan_is_refused(tmp_path, wan, cli, dtype):
    """torch has no isfinite for float8_e4m3fn: the NaN check made every such LoRA a traceback
    (it merged before the check), in --lora and in video info."""
    fp8 = {k: v.to(dtype) for k, v in _musubi().items()}
    f = _save(tmp_path, "fp8.safetensors", fp8)
    model = copy.deepcopy(wan)
    apply_loras(model, [(f, 1.0)])
    assert not _same(model, wan) and all(torch.isfinite(v).all() for v in model.state_dict().values())
    p = cli("info", str(f))
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    nan = dict(fp8)
    key = next(k for k in nan if k.endswith("lora_up.weight"))
    nan[key] = nan[key].to(torch.float16).fill_(NAN).to(dtype)
    bad = _save(tmp_path, "nan.safetensors", nan)
    with pytest.raises(LoraError, match=rf"^{bad}: '{key}' holds {nan[key].numel()} NaN or infinite values"):
        apply_loras(copy.deepcopy(wan), [(bad, 1.0)])
