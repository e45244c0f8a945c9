"""Activation checkpointing: keep only each repeated block's input during the forward and
recompute the block in the backward, trading about one extra forward for activation memory
that no longer grows with depth (torchtitan applies it per block, before ``fully_shard``).

The blocks are :func:`video.models.blocks.repeated_blocks`, the same unit FSDP2 shards
(:mod:`video.training.distributed`) and the runtime compiles.
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from video.models.blocks import repeated_blocks


def checkpoint_block(block: torch.nn.Module) -> None:
    """Make ``block`` recompute its forward in the backward. The instance's ``forward`` is
    replaced (not the module), so state-dict keys, ``isinstance`` checks and hooks that FSDP2
    puts around ``__call__`` are unchanged. ``use_reentrant=False``: keyword arguments and
    inputs that need no gradient work, and the RNG state is replayed for dropout."""
    if getattr(block, "_activation_checkpointed", False):
        return
    inner = block.forward

    def forward(*args, **kwargs):
        return checkpoint(inner, *args, use_reentrant=False, **kwargs)

    block.forward = forward
    block._activation_checkpointed = True


def apply_activation_checkpointing(model: torch.nn.Module) -> int:
    """Checkpoint every repeated block of ``model``; returns how many were wrapped."""
    blocks = repeated_blocks(model)
    for b in blocks:
        checkpoint_block(b)
    return len(blocks)
