"""Small files the model-folder and LoRA tests make: a placeholder file at a path, and a
two-layer model with a matching peft-layout LoRA of rank 2 on its first layer."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file


def touch(path: Path, data: bytes = b"x") -> Path:
    """A file with ``data`` at ``path``, its folders made: a name to find, not a model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def two_layer_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.Linear(6, 4))


def save_first_layer_lora(path: Path) -> Path:
    """A peft-layout LoRA (rank 2) for :func:`two_layer_model`'s first layer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"0.lora_A.weight": torch.randn(2, 8), "0.lora_B.weight": torch.randn(6, 2)}, str(path))
    return path
