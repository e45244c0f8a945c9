"""LoRA: the two file layouts, merged vs unmerged application, scales, the kohya dataset, and a
short training run whose export reproduces the trained model on a fresh one."""

import copy
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from video.config import load_config, load_model_config
from video.models.dit import DiT, DiTConfig
from video.models.lora import LoraPart, adaptable_layers, apply_loras, parse_lora_arg, read_lora, save_lora
from video.training.lora import DIFFUSERS_TARGETS, DIT_TARGETS, add_lora, trainable_state


def tiny_dit() -> DiT:
    torch.manual_seed(0)
    dit = DiT(load_config(DiTConfig, "configs/model/dit_tiny.yaml"))
    with torch.no_grad():  # non-zero gates, head and cross-attention output, as in a trained model
        for p in [dit.time_proj[1].weight, dit.head.weight, *[b.modulation for b in dit.blocks],
                  *[b.cross_attn.out.weight for b in dit.blocks]]:
            p.normal_(0, 0.05)
    return dit.eval()


def tiny_unet():
    from video.models.svd import build_random

    return build_random(load_model_config("tiny")).unet.eval()


MODELS = {
    "dit": (tiny_dit, DIT_TARGETS, "transformer",
            lambda g: (torch.randn(1, 4, 2, 8, 8, generator=g), torch.tensor([0.3]), torch.randn(1, 5, 32, generator=g))),
    "unet": (tiny_unet, DIFFUSERS_TARGETS, "unet",
             lambda g: (torch.randn(1, 2, 8, 16, 16, generator=g), torch.tensor([0.5]), torch.randn(1, 1, 32, generator=g),
                        torch.tensor([[6.0, 127.0, 0.02]]))),
}


def run(model, inputs):
    with torch.no_grad():
        out = model(*inputs)
    return out.sample if hasattr(out, "sample") else out


def random_parts(model, targets, seed) -> dict[str, LoraPart]:
    """Non-zero A and B on every target layer; one layer with another rank, one with another alpha."""
    g = torch.Generator().manual_seed(seed)
    paths = sorted(p for p in adaptable_layers(model) if any(p == t or p.endswith("." + t) for t in targets))
    parts = {}
    for i, p in enumerate(paths):
        w = model.get_submodule(p).weight
        r = 2 if i == 1 else 4
        parts[p] = LoraPart(torch.randn(r, w.shape[1], generator=g) * 0.2, torch.randn(w.shape[0], r, generator=g) * 0.2,
                            3.0 if i == 2 else 8.0)
    return parts


@pytest.fixture(scope="module", params=list(MODELS))
def case(request, tmp_path_factory):
    build, targets, prefix, inputs = MODELS[request.param]
    base = build()
    tmp = tmp_path_factory.mktemp(request.param)
    p1, p2 = random_parts(base, targets, 1), random_parts(base, targets, 2)
    f1 = save_lora(p1, tmp / "a.safetensors", "peft", prefix)
    f2 = save_lora(p2, tmp / "b_kohya.safetensors", "kohya")
    return {"name": request.param, "base": base, "parts": (p1, p2), "files": (f1, f2), "tmp": tmp,
            "inputs": inputs(torch.Generator().manual_seed(0)), "prefix": prefix}


def test_merged_equals_unmerged_adapters(case):
    from peft.tuners.lora import LoraLayer

    base, inputs = case["base"], case["inputs"]
    loras = [(case["files"][0], 0.7), (case["files"][1], -0.4)]
    unmerged = apply_loras(copy.deepcopy(base), loras, merge=False)
    merged = apply_loras(copy.deepcopy(base), loras, merge=True)
    assert any(isinstance(m, LoraLayer) for m in unmerged.modules())
    assert not any(isinstance(m, LoraLayer) for m in merged.modules())
    y0, yu, ym = run(base, inputs), run(unmerged, inputs), run(merged, inputs)
    assert (yu - y0).abs().max() > 1e-2  # the LoRAs do something
    torch.testing.assert_close(ym, yu, rtol=1e-4, atol=1e-5)
    # each file alone, unmerged, differs from both together: both adapters are active
    one = apply_loras(copy.deepcopy(base), loras[:1], merge=False)
    assert (run(one, inputs) - yu).abs().max() > 1e-3


def test_kohya_export_reimports_the_same_weights(case):
    base, (p1, _) = case["base"], case["parts"]
    peft_file = case["files"][0]
    kohya_file = save_lora(read_lora(peft_file, base), case["tmp"] / "a_kohya.safetensors", "kohya")
    keys = load_file(str(kohya_file))
    if case["name"] == "dit":
        assert "lora_unet_blocks_0_self_attn_qkv.lora_down.weight" in keys
        assert keys["lora_unet_blocks_1_cross_attn_kv.lora_up.weight"].shape == (128, 4)
    else:
        assert "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight" in keys
        assert "lora_unet_up_blocks_1_attentions_0_transformer_blocks_0_attn2_to_out_0.alpha" in keys
    back = read_lora(kohya_file, base)
    assert set(back) == set(p1)
    for path, p in p1.items():
        assert torch.equal(back[path].down, p.down) and torch.equal(back[path].up, p.up)
        assert back[path].alpha == p.alpha
    ya = run(apply_loras(copy.deepcopy(base), [(peft_file, 1.0)]), case["inputs"])
    yb = run(apply_loras(copy.deepcopy(base), [(kohya_file, 1.0)]), case["inputs"])
    assert torch.equal(ya, yb)


def test_unet_kohya_names_read_by_diffusers(tmp_path):
    """diffusers' own kohya reader (SD UNet naming) finds our spatial-attention LoRAs under the
    same module paths, with the same alpha."""
    from diffusers.loaders import StableDiffusionLoraLoaderMixin

    parts = random_parts(tiny_unet(), DIFFUSERS_TARGETS, 3)
    sd, alphas = StableDiffusionLoraLoaderMixin.lora_state_dict(str(save_lora(parts, tmp_path / "k.safetensors", "kohya")))
    spatial = {k: v for k, v in parts.items() if "temporal" not in k}
    assert len(spatial) >= 16
    for path, p in spatial.items():
        module, proj = path.removesuffix(".0").rsplit(".", 1)  # to_out.0 is to_out in diffusers' old names
        name = f"unet.{module}.processor.{proj}_lora"
        assert torch.equal(sd[f"{name}.down.weight"], p.down) and torch.equal(sd[f"{name}.up.weight"], p.up)
        assert alphas[f"{name}.down.weight.alpha"] == p.alpha


def test_scale_zero_is_the_base_and_the_delta_is_linear_in_scale(case):
    base, inputs, (p1, _) = case["base"], case["inputs"], case["parts"]
    f = case["files"][0]
    assert torch.equal(run(apply_loras(copy.deepcopy(base), [(f, 0.0)], merge=False), inputs), run(base, inputs))
    m0 = apply_loras(copy.deepcopy(base), [(f, 0.0)], merge=True)
    assert all(torch.equal(a, b) for a, b in zip(m0.state_dict().values(), base.state_dict().values(), strict=True))
    for s in (0.5, -2.0):
        ms = apply_loras(copy.deepcopy(base), [(f, s)], merge=True)
        for path, p in p1.items():  # W(s) - W = s (alpha / r) B A, from the parts, not the module's code
            want = s * p.alpha / p.rank * torch.einsum("or,ri->oi", p.up.double(), p.down.double())
            got = ms.get_submodule(path).weight.double() - base.get_submodule(path).weight.double()
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    # unmerged: one adapted layer's output moves by s (alpha / r) x A^T B^T
    path, p = next(iter(p1.items()))
    x = torch.randn(3, p.down.shape[1])
    for s in (0.5, -2.0):
        layer = apply_loras(copy.deepcopy(base), [(f, s)], merge=False).get_submodule(path)
        with torch.no_grad():
            got = layer(x) - base.get_submodule(path)(x)
        torch.testing.assert_close(got, s * p.alpha / p.rank * x @ p.down.T @ p.up.T, rtol=1e-4, atol=1e-6)


def test_wrong_model_or_file_is_an_error(case):
    from video.models.lora import LoraError

    other = "unet" if case["name"] == "dit" else "dit"
    with pytest.raises(LoraError, match="match no layer"):
        apply_loras(MODELS[other][0](), [(case["files"][0], 1.0)])
    with pytest.raises(LoraError, match="not found"):
        apply_loras(case["base"], [(case["tmp"] / "missing.safetensors", 1.0)])


def test_parse_lora_arg():
    assert parse_lora_arg("style.safetensors:0.8") == ("style.safetensors", 0.8)
    assert parse_lora_arg("style.safetensors") == ("style.safetensors", 1.0)
    assert parse_lora_arg("C:\\loras\\x.safetensors") == ("C:\\loras\\x.safetensors", 1.0)
    assert parse_lora_arg("C:\\loras\\x.safetensors:-0.5") == ("C:\\loras\\x.safetensors", -0.5)
    assert parse_lora_arg("/a/b:c/x.safetensors:1e-1") == ("/a/b:c/x.safetensors", 0.1)
    with pytest.raises(ValueError):
        parse_lora_arg(":0.5")


# ---- kohya dataset ----

def make_kohya(root, char_repeats=10, sky_repeats=3, size=24):
    """``{char_repeats}_mychar/`` with a.png, b.png (captioned), ``{sky_repeats}_blue_sky/c.png``
    (no caption) and ``notes/d.png`` (no repeats prefix)."""
    from PIL import Image

    char, sky = root / f"{char_repeats}_mychar", root / f"{sky_repeats}_blue_sky"
    for d in (char, sky, root / "notes"):
        d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for path in (char / "a.png", char / "b.png", sky / "c.png", root / "notes" / "d.png"):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)
    (char / "a.txt").write_text("mychar, red hair, smile, outdoors, looking at viewer, 1girl")
    (char / "b.txt").write_text("mychar, blue dress, sitting")
    return root


def test_kohya_repeats_steps_and_fallback_caption(tmp_path):
    from video.training.kohya import KohyaFolder, epoch_steps, parse_folder_name

    assert parse_folder_name("10_mychar") == (10, "mychar")
    assert parse_folder_name("3_blue_sky") == (3, "blue_sky")
    assert parse_folder_name("mychar") is None
    with pytest.warns(UserWarning, match="notes"):
        ds = KohyaFolder(make_kohya(tmp_path / "data"), frames=2, height=16, width=16)
    assert len(ds) == 2 * 10 + 1 * 3
    assert [ds.files[j][0].name for j in ds.index].count("a.png") == 10
    assert ds.caption(len(ds) - 1) == "blue_sky"  # no .txt: the folder's class words, underscores kept (sd-scripts)
    item = ds[0]
    assert item["video"].shape == (2, 3, 16, 16) and torch.equal(item["video"][0], item["video"][1])
    assert -1 <= item["video"].min() and item["video"].max() <= 1
    assert epoch_steps(23, 4, 2) == 46 and epoch_steps(23, 1, 4) == math.ceil(23 / 4) == 6


def test_tag_shuffle_keeps_the_first_tokens_and_follows_the_seed():
    from video.training.kohya import shuffle_tags

    cap = "mychar, red hair, smile, outdoors, looking at viewer, 1girl"
    tags = [t.strip() for t in cap.split(",")]
    outs = [shuffle_tags(cap, 2, np.random.default_rng(s)) for s in range(30)]
    for o in outs:
        got = o.split(", ")
        assert got[:2] == tags[:2] and sorted(got) == sorted(tags)
    assert len(set(outs)) > 5  # the other four tags do move (4! = 24 orders)
    assert outs[3] == shuffle_tags(cap, 2, np.random.default_rng(3))
    assert shuffle_tags(cap, 6, np.random.default_rng(0)) == ", ".join(tags)


def test_kohya_dataset_shuffles_per_index_reproducibly(tmp_path):
    from video.training.kohya import KohyaFolder

    root = make_kohya(tmp_path / "data")
    with pytest.warns(UserWarning):
        a = KohyaFolder(root, 1, 16, 16, keep_tokens=1, shuffle=True, seed=5)
    with pytest.warns(UserWarning):
        b = KohyaFolder(root, 1, 16, 16, keep_tokens=1, shuffle=True, seed=5)
    caps = [a.caption(i) for i in range(10)]  # the ten repeats of a.png
    assert caps == [b.caption(i) for i in range(10)]
    assert all(c.startswith("mychar, ") for c in caps) and len(set(caps)) > 1


# ---- training ----

def lora_cfg(out, data, *overrides):
    from video.training.config import TrainConfig

    return load_config(TrainConfig, "configs/train/dit_lora.yaml",
                       [f"out={out}", "log_every=1", "batch_size=2", "epochs=2", "ckpt_every=2", "lora.rank=4",
                        "optim.lr=1e-2", "data.kind=kohya", f"data.path={data}", "data.frames=1", "data.height=16",
                        "data.width=16", "data.keep_tokens=1", "data.shuffle_tags=true", *overrides])


@pytest.fixture(scope="module")
def kohya_run(tmp_path_factory):
    """2_mychar/ (2 images) and 1_blue_sky/ (1 image): 2 x 2 + 1 x 1 = 5 items, two epochs."""
    from video.training.trainer import train

    tmp = tmp_path_factory.mktemp("run")
    root = make_kohya(tmp / "data", char_repeats=2, sky_repeats=1)
    with pytest.warns(UserWarning):
        cfg = lora_cfg(tmp / "full", root)  # 5 steps, checkpoints at 2, 4 and 5
        full = train(cfg, progress=False)
    return {"tmp": tmp, "root": root, "cfg": cfg, "summary": full}


def test_lora_run_trains_only_adapters_and_exports_both_layouts(kohya_run):
    from video.training.state import latest_checkpoint, load_checkpoint
    from video.training.tasks import TASKS

    cfg, summary = kohya_run["cfg"], kohya_run["summary"]
    assert summary["step"] == math.ceil(5 * 2 / 2) == 5  # items x repeats x epochs / batch
    final = kohya_run["tmp"] / "full" / "final"
    assert (final / "lora.safetensors").is_file() and (final / "lora_kohya.safetensors").is_file()
    assert not (final / "model").exists()  # the base is not copied

    torch.manual_seed(cfg.seed)  # as train() builds it: same base, same adapter init
    fresh = TASKS[cfg.task](cfg)
    add_lora(fresh.model, cfg.lora)
    init = trainable_state(fresh.model)
    assert init and all(".lora_A." in k or ".lora_B." in k for k in init)
    state = load_checkpoint(latest_checkpoint(kohya_run["tmp"] / "full"))
    assert set(state["model"]) == set(init)  # the checkpoint holds the adapters, nothing else was trainable
    assert len(state["optim"]["optimizer"]["param_groups"][0]["params"]) == len(init)
    assert all(not torch.equal(state["model"][k], init[k]) for k in init)  # every A and B moved (B from 0)

    fresh.model.load_state_dict(state["model"], strict=False)
    g = torch.Generator().manual_seed(1)
    dc = fresh.model.config
    inputs = (torch.randn(2, dc.in_channels, 1, 2, 2, generator=g), torch.tensor([0.2, 0.8]),
              torch.randn(2, 7, dc.text_dim, generator=g))
    trained = run(fresh.model.eval(), inputs)
    base = TASKS[cfg.task](cfg).model.eval()
    assert (trained - run(base, inputs)).abs().max() > 1e-4
    for f, merge in [("lora.safetensors", True), ("lora_kohya.safetensors", False)]:
        got = run(apply_loras(copy.deepcopy(base), [(final / f, 1.0)], merge=merge), inputs)
        torch.testing.assert_close(got, trained, rtol=1e-4, atol=1e-5)


def test_lora_resume_equals_no_interruption(kohya_run):
    from video.training.trainer import train

    full = kohya_run["summary"]
    cfg = lora_cfg(kohya_run["tmp"] / "cut", kohya_run["root"])
    with pytest.warns(UserWarning):
        part = train(cfg, progress=False, stop_after=3)  # dies after step 3; resumes from step 2
    assert part["step"] == 3 and not (kohya_run["tmp"] / "cut" / "final").exists()
    with pytest.warns(UserWarning):
        rest = train(cfg, progress=False)
    assert rest["losses"] == full["losses"][2:]
    for f in ("lora.safetensors", "lora_kohya.safetensors"):
        a = load_file(str(kohya_run["tmp"] / "full" / "final" / f))
        b = load_file(str(kohya_run["tmp"] / "cut" / "final" / f))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
