"""LoRA training: peft adapters on the attention projections of the SVD UNet or the DiT, the
base frozen; the adapters are what is optimized, checkpointed and exported
(``final/lora.safetensors`` in the peft/diffusers layout, ``final/lora_kohya.safetensors``).
Reading and applying the files is :mod:`video.models.lora`."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from video.models.lora import METADATA_KEY, LoraPart, adaptable_layers, save_lora
from video.training.config import LoraConfig, TrainConfig

# Attention q/k/v/out projections, matched as module-path suffixes (peft's list semantics).
DIFFUSERS_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]  # diffusers Attention: SVD UNet, Wan
DIT_TARGETS = ["qkv", "out", "q", "kv"]  # video.models.dit: self_attn.qkv/out, cross_attn.q/kv/out
ADAPTER = "default"


def default_targets(model: torch.nn.Module) -> list[str]:
    from video.models.dit import DiT

    return DIT_TARGETS if isinstance(model, DiT) else DIFFUSERS_TARGETS


def peft_prefix(model: torch.nn.Module) -> str:
    """diffusers' component name: ``unet`` for a UNet, ``transformer`` otherwise."""
    return "unet" if "UNet" in type(model).__name__ else "transformer"


def add_lora(model: torch.nn.Module, cfg: LoraConfig) -> list[str]:
    """Freeze ``model`` and inject trainable rank-``cfg.rank`` adapters (B = 0, so the model
    starts unchanged) into the target layers; returns their module paths."""
    from video.models.lora import require_peft

    require_peft()
    from peft import LoraConfig as PeftLoraConfig
    from peft import inject_adapter_in_model

    targets = list(cfg.targets) or default_targets(model)
    model.requires_grad_(False)
    config = PeftLoraConfig(r=cfg.rank, lora_alpha=cfg.alpha or cfg.rank, lora_dropout=cfg.dropout,
                            target_modules=targets)
    try:
        inject_adapter_in_model(config, model, adapter_name=ADAPTER)
    except ValueError as e:
        hint = ""
        if list(cfg.targets) and targets != default_targets(model):  # the DiT's names on a Wan model, say
            hint = f"; this model's attention layers: lora.targets=[{','.join(default_targets(model))}]"
        raise ValueError(f"lora.targets {targets} match no layer of {type(model).__name__}: {e}{hint}") from None
    return sorted(p for p, m in adaptable_layers(model).items() if hasattr(m, "lora_A"))


def lora_parts(model: torch.nn.Module, adapter: str = ADAPTER) -> dict[str, LoraPart]:
    """The adapter ``adapter`` of a peft-injected model as {module path: LoraPart}."""
    out = {}
    for path, m in adaptable_layers(model).items():
        if hasattr(m, "lora_A") and adapter in m.lora_A:
            out[path] = LoraPart(m.lora_A[adapter].weight.detach().clone(), m.lora_B[adapter].weight.detach().clone(),
                                 float(m.lora_alpha[adapter]))
    return out


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """What a LoRA checkpoint holds: the trainable (adapter) parameters only; the frozen base is
    rebuilt from the config on resume."""
    return {k: p.detach() for k, p in model.named_parameters() if p.requires_grad}


def checkpoint_header(cfg: LoraConfig) -> dict[str, str]:
    """The safetensors header of a LoRA checkpoint's adapters: alpha and rank as diffusers'
    ``lora_adapter_metadata`` holds them. The adapters' keys carry no alpha, so without it a file
    copied out of ``checkpoints/step_N/`` (away from its state.json) would be read at alpha =
    rank and render at rank / alpha times the strength of ``final/lora.safetensors``."""
    return {METADATA_KEY: json.dumps({"r": cfg.rank, "lora_alpha": float(cfg.alpha or cfg.rank)}), "format": "pt"}


def run_metadata(cfg: TrainConfig) -> dict[str, str]:
    """What a run's exported LoRA records in its header of the model it was trained on: the
    run's ``model`` as its config gives it (a path or a built-in name), its ``task``, and the
    ``init_from`` whose weights that model started from, if any. The adapters alone do not
    say which base they fit; ``video info`` prints these."""
    meta = {"base_model": str(cfg.model), "task": str(cfg.task)}
    if cfg.init_from:
        meta["init_from"] = str(cfg.init_from)
    return meta


def export_lora(model: torch.nn.Module, folder: Path, cfg: TrainConfig | None = None) -> tuple[Path, Path]:
    """``lora.safetensors`` (peft/diffusers layout) and ``lora_kohya.safetensors`` in ``folder``;
    with the run's ``cfg``, each header records its base model and task (:func:`run_metadata`).
    The kohya file names a Wan transformer's layers in Wan's own names (musubi-tuner's, which
    diffusers' WanPipeline and ComfyUI read), our DiT's and the SVD UNet's by their paths."""
    parts = lora_parts(model)
    meta = run_metadata(cfg) if cfg is not None else None
    return (save_lora(parts, folder / "lora.safetensors", "peft", peft_prefix(model), metadata=meta),
            save_lora(parts, folder / "lora_kohya.safetensors", "kohya", metadata=meta, model=model))
