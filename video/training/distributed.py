"""Multi-process training under ``torchrun``: one process per GPU (or CPU, with gloo), each
taking its slice of the single-process global batch, rank 0 writing.

Two ways to share the model (``parallel=``):

- ``ddp``: :class:`~torch.nn.parallel.DistributedDataParallel`; every rank holds the whole
  model and optimizer, gradients are all-reduced in buckets while the backward still runs.
- ``fsdp``: FSDP2 (``fully_shard``) per repeated block, then the root (torchtitan's order);
  parameters, gradients and optimizer state are sharded, a block is all-gathered just before
  it runs. With ``precision=bf16`` on a GPU, blocks compute in bf16 and reduce gradients in
  float32 (the weights and optimizer stay float32).

A single process is world size 1: every helper here is then a no-op.
"""

from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist

PARALLEL = ("ddp", "fsdp")


def setup() -> tuple[int, int]:
    """(rank, world size); initialises the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def parallelize(model: torch.nn.Module, parallel: str, bf16: bool = False) -> torch.nn.Module:
    """Wrap ``model`` for the process group. ``ddp`` returns the DDP wrapper (call the model
    through it; ``.module`` is the model); ``fsdp`` shards ``model`` in place and returns it.
    Without a process group the model comes back as it is."""
    if parallel not in PARALLEL:
        raise ValueError(f"parallel must be one of {', '.join(PARALLEL)}; got {parallel!r}")
    if not _active():
        return model
    on_gpu = next(model.parameters()).is_cuda
    if parallel == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        # Frozen parameters (LoRA's base, frozen encoders) are left out of the buckets by DDP
        # itself; every trainable parameter of our models takes part in each loss, so the
        # unused-parameter search (an extra graph walk per step) stays off.
        return DistributedDataParallel(model, device_ids=[torch.cuda.current_device()] if on_gpu else None)
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    from video.training.checkpointing import repeated_blocks

    mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16 and on_gpu \
        else MixedPrecisionPolicy()
    blocks = repeated_blocks(model)
    for i, block in enumerate(blocks):
        # the last block's parameters are needed first in the backward: keep them gathered
        fully_shard(block, mp_policy=mp, reshard_after_forward=i < len(blocks) - 1)
    fully_shard(model, mp_policy=mp)
    return model


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DDP wrapper (FSDP2 shards in place: the model is itself)."""
    return getattr(model, "module", model)


def is_sharded(model: torch.nn.Module) -> bool:
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in unwrap(model).parameters())


@contextlib.contextmanager
def gradient_sync(model: torch.nn.Module, enabled: bool):
    """Gradient accumulation: only the last micro-batch of a step communicates; the others
    accumulate locally (DDP ``no_sync``, FSDP2 ``set_requires_gradient_sync``)."""
    if enabled or not _active():
        yield
    elif hasattr(model, "no_sync"):
        with model.no_sync():
            yield
    elif hasattr(model, "set_requires_gradient_sync"):
        model.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            model.set_requires_gradient_sync(True)
    else:
        yield


def full_value(t: torch.Tensor) -> torch.Tensor:
    """A plain tensor from a possibly sharded one (collective for a DTensor: call on every rank)."""
    from torch.distributed.tensor import DTensor

    return t.full_tensor() if isinstance(t, DTensor) else t


def collective_device() -> torch.device:
    """Where a tensor for a collective must live: NCCL moves only GPU tensors (a CPU tensor
    fails with "no backend for device type cpu"), gloo only CPU ones."""
    if dist.is_available() and dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def mean(value: float) -> float:
    """The mean of ``value`` over the ranks (the loss printed, the stop flag)."""
    if not _active():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=collective_device())
    dist.all_reduce(t)
    return t.item() / dist.get_world_size()


def gather(obj) -> list:
    if not _active():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast(obj):
    """Rank 0's ``obj`` on every rank."""
    if not _active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if _active():
        dist.barrier()


def check_in_sync(params) -> None:
    """Replicated (DDP) ranks must hold the same weights after a step; a divergence is a bug,
    not noise."""
    sums = gather(float(sum(p.detach().double().sum().item() for p in params)))
    if len(set(sums)) > 1:
        raise RuntimeError(f"ranks diverged: parameter sums {sums}")
