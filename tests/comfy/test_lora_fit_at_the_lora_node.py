"""The node that takes a LoRA made for another model refuses it, before any weight loads.

Load Video Model with ``lora_name="sd15_style.safetensors"`` (a kohya SD 1.5 file) on the DiT,
or the Video LoRA node with the DiT's LoRA on ``tiny-svd``, returned a model; Text to Video /
Image to Video then failed with "1 LoRA layers match no layer of this model" after the whole
base model had loaded and its module been copied. They now refuse it themselves, in the words
the sampling node's merge would use (the reference: that merge's own error).

Image to Video's ``steps`` was always 25 (SVD's), where Text to Video, Inpaint and Animate take
0 as the model's default and ``video img2vid`` renders tiny-svd at its config's 8."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from dit_lora_folder import render_merged, write_dit_and_lora  # tests/comfy is on sys.path under pytest
from safetensors.torch import save_file

from video.comfy import functions as F
from video.comfy.models import BUILTIN_LABELS
from video.comfy.nodes import NODES, STEPS0
from video.models.lora import LoraError

SPECS = {s.node_id: s for s in NODES}
LABEL = {name: label for label, name in BUILTIN_LABELS.items()}  # what the drop-down shows
KOHYA_SD15 = "lora_unet_down_blocks_0_attentions_0_proj_in"
WORDS = "was it trained for another model?"
T2V = dict(prompt="a red kite", frames=3, width=16, height=16, steps=2, guidance_scale=5.0, seed=7)


def run(node_id: str, **inputs) -> tuple:
    """A node's outputs, called as ComfyUI calls it (outside ComfyUI the models folder is $VIDEO_MODELS)."""
    return SPECS[node_id].call(**inputs)[0]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """checkpoints/dit (the tiny DiT), loras/style.safetensors (a LoRA for it) and
    loras/sd15_style.safetensors (a kohya SD 1.5 UNet LoRA)."""
    root = write_dit_and_lora(tmp_path_factory.mktemp("models"))
    save_file({f"{KOHYA_SD15}.lora_down.weight": torch.randn(4, 320, 1, 1),
               f"{KOHYA_SD15}.lora_up.weight": torch.randn(320, 4, 1, 1), f"{KOHYA_SD15}.alpha": torch.tensor(4.0)},
              str(root / "loras" / "sd15_style.safetensors"))
    return root


@pytest.fixture
def models(folder, monkeypatch) -> Path:
    monkeypatch.setenv("VIDEO_MODELS", str(folder))
    return folder


MISFITS = [(LABEL["tiny"], "sd15_style.safetensors"), ("dit", "sd15_style.safetensors"),
           (LABEL["tiny-svd"], "style.safetensors")]


@pytest.mark.parametrize("ckpt, lora", MISFITS, ids=["sd15-on-tiny", "sd15-on-dit", "dit-on-tiny-svd"])
def test_the_loader_refuses_another_models_lora_before_any_load(models, pipeline_loads, ckpt, lora):
    with pytest.raises(LoraError) as e:
        run("VideoPipelineModelLoader", ckpt_name=ckpt, lora_name=lora, lora_strength=1.0)
    assert str(e.value).startswith(f"{models / 'loras' / lora}: ") and WORDS in str(e.value)
    assert pipeline_loads == []


def _sample(model: F.VideoModel):
    if model.kind == "svd":
        return F.image_to_video(model, torch.rand(1, 64, 64, 3), frames=2, steps=1, width=64, height=64)
    return F.text_to_video(model, **T2V)


@pytest.mark.parametrize("ckpt, lora", MISFITS, ids=["sd15-on-tiny", "sd15-on-dit", "dit-on-tiny-svd"])
def test_the_video_lora_node_refuses_it_in_the_samplers_words(models, pipeline_loads, ckpt, lora):
    model = run("VideoPipelineModelLoader", ckpt_name=ckpt, lora_name="none", lora_strength=1.0)[0]
    with pytest.raises(LoraError) as at_node:
        run("VideoPipelineLora", model=model, lora_name=lora, strength=0.8)
    assert pipeline_loads == []
    # what the sampling node said of the same LoRA, after its load (the model as the node made it before)
    late = dataclasses.replace(model, loras=[(models / "loras" / lora, 0.8)], _cache={})
    with pytest.raises(LoraError) as at_sampler:
        _sample(late)
    assert str(at_node.value) == str(at_sampler.value) and WORDS in str(at_node.value)


def test_a_fitting_lora_renders_as_merged_into_a_whole_load(models):
    """The DiT folder's own LoRA through the Video LoRA node: the frames of the folder loaded
    whole from disk with the LoRA merged."""
    model = run("VideoPipelineLora", model=run("VideoPipelineModelLoader", ckpt_name="dit", lora_name="none",
                                               lora_strength=1.0)[0],
                lora_name="style.safetensors", strength=0.8)[0]
    got = F.text_to_video(model, **T2V)
    assert torch.equal(got, render_merged(models / "checkpoints" / "dit", [(models / "loras" / "style.safetensors",
                                                                            0.8)], T2V))


def test_image_to_video_steps_0_is_the_models_default():
    """0 (the widget's default now, as Text to Video's) renders the model folder's steps:
    tiny-svd's config says 8 (SVD's 25), what ``video img2vid`` renders it with."""
    from video.config import load_model_config

    spec = SPECS["VideoPipelineImageToVideo"]
    steps = next(p for p in spec.inputs if p.name == "steps")
    assert steps == STEPS0 and steps.default == 0
    want_steps = load_model_config("tiny").sampling.num_inference_steps
    assert want_steps == 8
    model = F.load_video_model("tiny-svd")
    photo = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    defaults = {p.name: p.default for p in spec.inputs if p.default is not None}
    frames, _ = run("VideoPipelineImageToVideo", model=model, image=F.frames_to_comfy(photo[None]),
                    **{**defaults, "frames": 2, "width": 64, "height": 64})
    direct = model.img2vid()(photo, num_frames=2, num_inference_steps=want_steps, height=64, width=64,
                             motion_bucket_id=defaults["motion_bucket_id"],
                             noise_aug_strength=defaults["noise_aug_strength"], generator=torch.Generator().manual_seed(0))
    assert torch.equal(frames, F.frames_to_comfy(direct))
