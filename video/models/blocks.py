"""The repeated blocks of the networks we run: the unit that regional compilation compiles one
by one (:mod:`video.runtime.speed`), activation checkpointing recomputes and FSDP2 shards
(:mod:`video.training`). One definition, so the three always agree on what a block is."""

from __future__ import annotations

import torch


def repeated_blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    """Input to output: a transformer's ``blocks`` (our DiT, diffusers' Wan), else a diffusers
    UNet's or VAE decoder's down, mid and up blocks (a decoder has no down blocks)."""
    if isinstance(getattr(model, "blocks", None), torch.nn.ModuleList):
        return list(model.blocks)
    down = list(getattr(model, "down_blocks", None) or [])
    mid = [model.mid_block] if getattr(model, "mid_block", None) is not None else []
    up = list(getattr(model, "up_blocks", None) or [])
    if not (down or mid or up):
        raise ValueError(f"no repeated blocks known for {type(model).__name__}: expected a transformer "
                         "(blocks) or a diffusers UNet/decoder (down_blocks, mid_block, up_blocks)")
    return down + mid + up
