"""A LoRA run resumes after its base run went on past the final/ the adapters were trained on:
the base's final/ loads (it was refused as out of date, and the refusal's other way out,
init_from=BASE/final, was then refused as another base); a fresh run on such a base is still
refused (init_from.init_source)."""

import pytest
import torch
from safetensors.torch import load_file

from video.config import CONFIG_DIR, load_config
from video.training.config import TrainConfig
from video.training.trainer import train

SMALL = ["data.size=4", "batch_size=1", "data.height=32", "data.width=32", "sample_every=0", "ckpt_every=1"]


def cfg(name: str, *extra: str) -> TrainConfig:
    return load_config(TrainConfig, CONFIG_DIR / "train" / f"{name}.yaml", [*SMALL, *extra])


def test_a_lora_resumes_on_the_final_it_was_trained_on(tmp_path):
    base, lora = tmp_path / "base", tmp_path / "lora"
    train(cfg("dit_stage1_image", f"out={base}", "steps=2"), progress=False)
    lora_args = ("dit_lora", f"out={lora}", "steps=3", "data.frames=1")
    train(cfg(*lora_args, f"init_from={base}"), progress=False, stop_after=2)
    train(cfg("dit_stage1_image", f"out={base}", "steps=4"), progress=False, stop_after=3)  # base went on
    with pytest.raises(ValueError, match="newer checkpoint, step 3"):  # a fresh LoRA run is still told
        train(cfg(*lora_args, f"init_from={base}", f"out={tmp_path / 'fresh'}"), progress=False)
    for init in (base, base / "final"):  # the run folder, or its final/ as the refusal offers: one base
        summary = train(cfg(*lora_args, f"init_from={init}", "steps=4"), progress=False)
        assert summary["step"] == 4
    exported = load_file(str(lora / "final" / "lora.safetensors"))
    assert exported and all(torch.isfinite(t).all() for t in exported.values())
