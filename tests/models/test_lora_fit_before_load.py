"""A LoRA made for another model is refused before any weight loads, in the words the merge
after the load uses.

``video txt2vid --lora sd15_style.safetensors`` (a kohya SD 1.5 file) and ``video img2vid
--lora`` with a DiT LoRA on an SVD model loaded the whole model first, then said "1 LoRA layers
match no layer of this model": minutes and ~28 GB for Wan 14B. The module a LoRA merges into is
now built on the meta device from the model's config files (:mod:`video.models.lora_fit`) and
the LoRA read and fit-checked against it first. The references here are the modules the
loaders really load and the errors :func:`apply_loras` really raises on them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from video.models.lora import LoraError, LoraPart, adaptable_layers, apply_loras, save_lora
from video.models.lora_fit import check_loras_fit, lora_target_on_meta

FIXTURES = Path(__file__).parents[1] / "edit" / "vace_fixtures.py"
KOHYA_SD15 = "lora_unet_down_blocks_0_attentions_0_proj_in"  # an SD 1.5 UNet layer, as kohya names it
WORDS = "was it trained for another model?"


def _fx():
    spec = importlib.util.spec_from_file_location("vace_fixtures_for_lora_fit", FIXTURES)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _one_layer_lora(path: Path, module: torch.nn.Module, suffix: str, prefix: str, fan_in: int | None = None) -> Path:
    """A rank-2 peft LoRA on the first layer of ``module`` whose name ends with ``suffix``;
    ``fan_in``: A made for a layer of that many inputs (a bigger model's)."""
    name = next(n for n in adaptable_layers(module) if n.endswith(suffix))
    w, g = adaptable_layers(module)[name].weight, torch.Generator().manual_seed(len(suffix))
    part = LoraPart(torch.randn(2, fan_in or w.shape[1], generator=g), torch.randn(w.shape[0], 2, generator=g), 2.0)
    return save_lora({name: part}, path, "peft", prefix=prefix)


def _kohya_sd15(path: Path) -> Path:
    save_file({f"{KOHYA_SD15}.lora_down.weight": torch.randn(4, 320, 1, 1),
               f"{KOHYA_SD15}.lora_up.weight": torch.randn(320, 4, 1, 1), f"{KOHYA_SD15}.alpha": torch.tensor(4.0)},
              str(path))
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory, tiny_models, sd, meta) -> Path:
    """Models (SVD as a diffusers folder and an sgm file, our DiT folder, a tiny Wan 2.1 folder)
    and LoRAs: one fitting each model, a kohya SD 1.5 one, and one for a wider Wan."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel

    from video.models.svd import save_diffusers_folder
    from video.runtime.txt2vid import build_tiny, save_t2v

    root = tmp_path_factory.mktemp("lora_fit")
    save_diffusers_folder(tiny_models, root / "svd")
    save_file(sd, str(root / "svd.safetensors"), metadata=meta)
    dit = build_tiny(0)
    save_t2v(dit, root / "dit")
    fx = _fx()
    tok, text = fx.tiny_text()
    wan = fx.randomize(WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4,
        text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        eps=1e-6, rope_max_seq_len=32), 3)
    WanPipeline(tokenizer=tok, text_encoder=text, transformer=wan, vae=fx.tiny_vae(),
                scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0)).save_pretrained(root / "wan", safe_serialization=True)
    loras = root / "loras"
    _one_layer_lora(loras / "svd_style.safetensors", tiny_models.unet, "attn1.to_q", "unet")
    _one_layer_lora(loras / "dit_style.safetensors", dit.transformer, "attn.qkv", "transformer")
    _one_layer_lora(loras / "wan_style.safetensors", wan, "attn1.to_q", "transformer")
    _one_layer_lora(loras / "wan_wider.safetensors", wan, "attn1.to_q", "transformer", fan_in=64)
    _kohya_sd15(loras / "sd15_style.safetensors")
    return root


def _source(root: Path, name: str) -> str:
    return name if name in ("tiny", "tiny-svd") else str(root / name)


def _loaded_target(source: str, task: str) -> torch.nn.Module:
    """The module the CLI merges ``--lora`` into, loaded as the CLI loads it."""
    if task == "img2vid":
        from video.models.svd import load_svd

        return load_svd(source).unet
    from video.runtime.txt2vid import load_t2v

    return load_t2v(source).lora_target()


MODELS = [("tiny-svd", "img2vid"), ("svd", "img2vid"), ("svd.safetensors", "img2vid"), ("tiny", "txt2vid"),
          ("dit", "txt2vid"), ("wan", "txt2vid")]


@pytest.mark.parametrize("name, task", MODELS, ids=[m[0] for m in MODELS])
def test_the_module_built_from_the_configs_is_the_one_loaded(root, name, task):
    source = _source(root, name)
    built = lora_target_on_meta(source, task)
    loaded = _loaded_target(source, task)
    assert type(built) is type(loaded)
    assert {n: p.shape for n, p in built.named_parameters()} == {n: p.shape for n, p in loaded.named_parameters()}
    # no weights: no memory, nothing drawn; but SVD's scalar mix factors, made by torch.Tensor([alpha]),
    # which ignores the default device
    real = {n: p.numel() for n, p in built.named_parameters() if p.device.type != "meta"}
    assert all(n.endswith("time_mixer.mix_factor") and k == 1 for n, k in real.items()), real


MISFITS = [("tiny-svd", "img2vid", "dit_style"), ("svd", "img2vid", "dit_style"),
           ("svd.safetensors", "img2vid", "wan_style"), ("tiny", "txt2vid", "sd15_style"),
           ("tiny", "txt2vid", "svd_style"), ("dit", "txt2vid", "sd15_style"), ("wan", "txt2vid", "sd15_style"),
           ("wan", "txt2vid", "dit_style"), ("wan", "txt2vid", "wan_wider")]


@pytest.mark.parametrize("name, task, lora", MISFITS, ids=[f"{m[2]}-on-{m[0]}" for m in MISFITS])
def test_a_misfit_is_refused_before_the_load_in_the_merges_words(root, name, task, lora):
    source, f = _source(root, name), root / "loras" / f"{lora}.safetensors"
    with pytest.raises(LoraError) as after:  # what the user was told after the whole load
        apply_loras(_loaded_target(source, task), [(f, 0.8)])
    with pytest.raises(LoraError) as before:
        check_loras_fit(source, task, [(f, 0.8)])
    assert str(before.value) == str(after.value)
    assert str(f) in str(before.value) and WORDS in str(before.value)


@pytest.mark.parametrize("name, task, lora", [("tiny-svd", "img2vid", "svd_style"), ("svd.safetensors", "img2vid",
                                                                                      "svd_style"),
                                              ("tiny", "txt2vid", "dit_style"), ("dit", "txt2vid", "dit_style"),
                                              ("wan", "txt2vid", "wan_style")])
def test_a_fitting_lora_passes(root, name, task, lora):
    check_loras_fit(_source(root, name), task, [(root / "loras" / f"{lora}.safetensors", 1.0)])


def test_a_model_the_loader_refuses_is_left_to_the_loader(root, tmp_path):
    """No module to check against (not a model, a config that does not read): the loader's own
    line says why, not a LoRA error about a model that was never read."""
    (tmp_path / "video_pipeline.yaml").write_text("dit: {no_such_key: 1}\n")
    for source, task in ((tmp_path, "txt2vid"), (tmp_path / "absent", "img2vid"), (root / "dit", "img2vid")):
        assert lora_target_on_meta(source, task) is None
        check_loras_fit(source, task, [(root / "loras" / "sd15_style.safetensors", 1.0)])


CLI_MISFITS = [("txt2vid", "tiny", "sd15_style"), ("txt2vid", "tiny", "svd_style"), ("txt2vid", "dit", "sd15_style"),
               ("txt2vid", "wan", "wan_wider"), ("img2vid", "tiny-svd", "dit_style"), ("img2vid", "svd", "sd15_style")]


@pytest.mark.parametrize("command, name, lora", CLI_MISFITS, ids=[f"{m[0]}-{m[2]}-on-{m[1]}" for m in CLI_MISFITS])
def test_the_cli_refuses_another_models_lora_before_the_model_loads(root, tmp_path, cli, pipeline_loads, command, name, lora):
    f = root / "loras" / f"{lora}.safetensors"
    model = "tiny" if name == "tiny-svd" else _source(root, name)  # img2vid's tiny is the tiny SVD
    r = cli(command, "--model", model, "--lora", f"{f}:0.8", "--frames", 5, "--width", 32, "--height", 32,
            "--output", tmp_path / "out.mp4")
    assert r.returncode != 0 and len(r.errors) == 1, r.stderr
    assert r.errors[0].startswith(f"error: {f}: ") and WORDS in r.errors[0], r.errors
    assert pipeline_loads == [] and not (tmp_path / "out.mp4").exists()


def _frames(folder: Path) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))])


def test_a_fitting_lora_renders_as_the_merge_after_the_load(root, tmp_path, cli, pipeline_loads):
    """``video txt2vid --lora`` with a LoRA that fits: one load, and the frames of the tiny DiT
    loaded on its own with the LoRA merged, pixel for pixel (PNG frames: lossless)."""
    from video.runtime.txt2vid import TextToVideo

    f = root / "loras" / "dit_style.safetensors"
    r = cli("txt2vid", "--model", "tiny", "--lora", f"{f}:0.7", "--prompt", "a red kite", "--frames", 3,
            "--width", 16, "--height", 16, "--steps", 2, "--seed", 5, "--output", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert pipeline_loads == ["TextToVideo"] and f"lora: {f} at 0.7 (1 layers)" in r.stderr
    pipe = TextToVideo.from_pretrained("tiny")
    apply_loras(pipe.models.lora_target(), [(f, 0.7)])
    want = pipe("a red kite", num_frames=3, height=16, width=16, num_inference_steps=2,
                generator=torch.Generator().manual_seed(5))
    assert np.array_equal(_frames(tmp_path / "out"), want)

