"""A Video LoRA node's model shares the unchanged parts of the model going in: its pipeline holds
the same text encoder, tokenizer and VAE objects (SVD: VAE and image encoder) as the loaded
model's, and a copy of its own only of the module the LoRA merges into. Each LoRA node used to
load the whole pipeline again from disk beside the one ComfyUI keeps for the loader's output
(two pipelines after one LoRA node, three after two chained).

The frames stay those of a pipeline loaded whole from disk with the LoRA merged (as the CLI's
``--lora`` loads it), and the loaded model's weights stay untouched: its clip is the same
before and after a LoRA run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from dit_lora_folder import render_merged  # tests/comfy is on sys.path under pytest

from video.comfy import functions as F

T2V = dict(prompt="a red kite", frames=3, width=16, height=16, steps=2, guidance_scale=5.0, seed=7)


def _save_lora(path: Path, module: torch.nn.Module, suffix: str, prefix: str, seed: int) -> None:
    """A rank-2 LoRA on one layer of ``module`` whose name ends with ``suffix``."""
    from video.models.lora import LoraPart, adaptable_layers, save_lora

    layers = adaptable_layers(module)
    name = [n for n in layers if n.endswith(suffix)][seed % 2]
    w = layers[name].weight
    g = torch.Generator().manual_seed(seed)
    part = LoraPart(torch.randn(2, w.shape[1], generator=g), torch.randn(w.shape[0], 2, generator=g), 2.0)
    save_lora({name: part}, path, "peft", prefix=prefix)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """A models folder with two LoRAs for the built-in tiny DiT."""
    from video.runtime.txt2vid import build_tiny

    root = tmp_path_factory.mktemp("models")
    dit = build_tiny(0).transformer
    _save_lora(root / "loras" / "style.safetensors", dit, "attn.qkv", "transformer", 0)
    _save_lora(root / "loras" / "motion.safetensors", dit, "attn.qkv", "transformer", 1)
    return root


def _t2v(model: F.VideoModel) -> torch.Tensor:
    return F.text_to_video(model, **T2V)


def _whole_t2v(loras: list[tuple[Path, float]]) -> torch.Tensor:
    """The clip of the tiny DiT loaded from disk with ``loras`` merged, called as the node calls it:
    a reference that shares nothing with the nodes' pipelines."""
    return render_merged("tiny", loras, T2V)


def test_a_lora_copy_shares_the_loaded_models_parts_and_leaves_its_weights(models):
    base = F.load_video_model("tiny", models)
    before = _t2v(base)
    lora = F.add_lora(base, "style", 0.7, models)
    styled = _t2v(lora)
    assert torch.equal(_t2v(base), before)  # the loaded model's transformer is untouched
    assert not torch.equal(styled, before)  # the LoRA is merged
    plain, merged = base.txt2vid().models, lora.txt2vid().models
    for part in ("text_encoder", "tokenizer", "latents"):
        assert getattr(merged, part) is getattr(plain, part), part
    assert merged.transformer is not plain.transformer
    assert torch.equal(_whole_t2v([(models / "loras" / "style.safetensors", 0.7)]), styled)
    assert torch.equal(_whole_t2v([]), before)
    # the loader's own LoRA widget: a model of the same weights, built on the same parts
    widget = F.load_video_model("tiny", models, lora="style", lora_strength=0.7)
    assert torch.equal(_t2v(widget), styled)
    assert widget.txt2vid().models.text_encoder is plain.text_encoder


def test_chained_copies_share_too_whichever_pipeline_is_built_first(models):
    base = F.load_video_model("tiny", models)
    one = F.add_lora(base, "style", 0.7, models)
    both = F.add_lora(one, "motion", -0.5, models)
    # the LoRA copies first (the loaded model's own pipeline not built yet), then the loaded model
    frames = {name: _t2v(m) for name, m in (("both", both), ("one", one), ("base", base))}
    encoders = {id(m.txt2vid().models.text_encoder) for m in (base, one, both)}
    assert len(encoders) == 1
    transformers = {id(m.txt2vid().models.transformer) for m in (base, one, both)}
    assert len(transformers) == 3
    style, motion = models / "loras" / "style.safetensors", models / "loras" / "motion.safetensors"
    assert torch.equal(frames["one"], _whole_t2v([(style, 0.7)]))
    assert torch.equal(frames["both"], _whole_t2v([(style, 0.7), (motion, -0.5)]))
    assert torch.equal(frames["base"], _whole_t2v([]))


def test_svd_lora_copy_shares_the_vae_and_image_encoder(models):
    base = F.load_video_model("tiny-svd", models)
    _save_lora(models / "loras" / "svd_style.safetensors", base.img2vid().models.unet, "to_q", "unet", 0)
    image = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    kw = dict(frames=2, steps=1, seed=1)
    before = F.image_to_video(base, image, **kw)
    lora = F.add_lora(base, "svd_style", 1.5, models)
    styled = F.image_to_video(lora, image, **kw)
    assert torch.equal(F.image_to_video(base, image, **kw), before)
    assert not torch.equal(styled, before)
    plain, merged = base.img2vid().models, lora.img2vid().models
    assert merged.vae is plain.vae and merged.image_encoder is plain.image_encoder
    assert merged.unet is not plain.unet
    from video.models.lora import apply_loras
    from video.runtime.img2vid import ImageToVideo

    whole = ImageToVideo.from_pretrained("tiny-svd")  # from disk, the LoRA merged: shares nothing
    apply_loras(whole.models.unet, [(models / "loras" / "svd_style.safetensors", 1.5)], merge=True)
    direct = whole(F.comfy_to_frames(image)[0], num_frames=2, num_inference_steps=1, motion_bucket_id=127,
                   noise_aug_strength=0.02, generator=torch.Generator().manual_seed(1))
    assert torch.equal(F.frames_to_comfy(direct), styled)
