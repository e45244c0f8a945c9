"""The speed layer: switches that keep the output exact (within float rounding) and make the
same work run faster on a GPU.

``compile_blocks`` compiles the UNet's (and the temporal VAE decoder's) repeated blocks one by
one rather than the whole graph: each distinct block shape compiles once, so cold start stays
short, and inductor's on-disk cache makes a second process start warm.
"""

from __future__ import annotations

import torch


def repeated_blocks(module: torch.nn.Module) -> list[torch.nn.Module]:
    """The blocks that make up most of a UNet or decoder, in order."""
    blocks: list[torch.nn.Module] = []
    for name in ("down_blocks", "up_blocks"):
        blocks.extend(getattr(module, name, []) or [])
    if getattr(module, "mid_block", None) is not None:
        blocks.append(module.mid_block)
    return blocks


def compile_blocks(pipe, mode: str | None = None, vae: bool = True) -> int:
    """Compile the UNet's blocks (and the VAE decoder's) in place; returns how many.

    ``dynamic=False``: shapes are fixed for a given clip size, and static shapes give inductor
    the most room to fuse the GroupNorm/SiLU and elementwise chains around the GEMMs."""
    n = 0
    targets = [pipe.models.unet]
    if vae:
        targets.append(pipe.models.vae.decoder)
    for t in targets:
        for blk in repeated_blocks(t):
            blk.compile(mode=mode, dynamic=False)
            n += 1
    return n
