"""The repeated blocks of the networks we run: the unit that activation checkpointing
recomputes and FSDP2 shards (:mod:`video.training`), and, split one level finer, the units that
regional compilation compiles (:mod:`video.runtime.speed`). One definition, so they always agree
on what a block is."""

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


def compile_units(model: torch.nn.Module) -> list[torch.nn.Module]:
    """What regional compilation compiles, input to output: a transformer's blocks, else the
    parts of each UNet/decoder block (its resnets, attentions, down- and upsamplers).

    Compile time goes with the size of the distinct graphs traced. A transformer's blocks are
    all alike, so one compiled graph serves every block. A UNet's down and up blocks are each
    unlike the others (channels, resolution, skip inputs), so compiling them whole traces every
    one in full; their parts repeat at the same shapes, and dynamo reuses one compiled part for
    every instance that passes its guards. On SVD-XT's UNet and temporal decoder: 35 graphs of
    2,362 traced nodes, against 14 graphs of 5,842 for the whole blocks. The blocks' own glue
    between parts (a skip concatenation) stays eager."""
    if isinstance(getattr(model, "blocks", None), torch.nn.ModuleList):
        return list(model.blocks)
    units: list[torch.nn.Module] = []
    for block in repeated_blocks(model):
        for child in block.children():
            units += list(child) if isinstance(child, torch.nn.ModuleList) else [child]
    return units
