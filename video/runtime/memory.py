"""How many frames the temporal VAE may decode at once within a memory budget.

The decoder's peak is an activation peak at full resolution, and it grows linearly with the
frames decoded together (the temporal layers see the whole window). Counting live tensors
while the diffusers ``AutoencoderKLTemporalDecoder`` decodes on fake tensors
(``torch.distributed._tools.mem_tracker.MemTracker`` under ``FakeTensorMode``; the test
``tests/runtime/test_memory_budget.py`` repeats it) gives, for every configuration tried
(``block_out_channels`` [128,256,512,512], [32,32,64,64], [32,96,128,128], [64,128,128,128],
[32,64,128]; one or two layers per block), exactly

    peak activation elements per output pixel = c1 + 6 * c0,   c_i = block_out_channels[i]

the upsampled ``c1``-channel input of the last up block still alive while its first resnet
holds six ``c0``-wide full-resolution tensors (norms, activations, convolutions and the
temporal mixer's reshaped copies). For SVD / SVD-XT (c0 = 128, c1 = 256) at 576x1024 in
float16 that is 1024 x 576 x 1024 x 2 B = 1.125 GiB per frame: diffusers' chunk of 8 frames
needs 9 GiB beside about 4.2 GiB of resident weights (UNet 1.52 B, CLIP ViT-H 0.63 B, VAE 0.1 B
parameters in float16), which is where the 13.4 GiB peak measured on an H200 with chunk 8 comes from.

The UNet's own peak, traced the same way (``UNetSpatioTemporalConditionModel`` on fake tensors,
one batch item): 27 x c0 activation elements per latent position (frames x h x w), the same
ratio for SVD and SVD-XT at 14 and 25 frames and several sizes (26.3 for the tiny model's
c0 = 32). For SVD-XT (c0 = 320) at 25 x 72 x 128 latents in float16 that is 3.71 GiB per item:
the guided batch of two holds 7.42 GiB beside 4.2 GiB of weights, about 11.6 GiB in all, so a
10 GiB budget cannot hold both halves of classifier-free guidance at once. One after the other
(``split_guidance``) the step peaks near 4.2 + 3.7 = 7.9 GiB; the two UNet calls cost a few
kernel launches more, not FLOPs.

The CUDA caching allocator rounds and fragments blocks and convolutions take workspace, so the
policy reserves ``ALLOCATOR_SLACK`` on top of the traced count; that factor is a design margin,
not a measurement.
"""

from __future__ import annotations

import math
import os

import torch

GIB = 2**30
DEFAULT_BUDGET_GIB = 10.0  # issue 10: SVD-XT 25x576x1024 float16 must peak at or below 10 GiB
ALLOCATOR_SLACK = 1.2


def decode_bytes_per_frame(block_out_channels, height: int, width: int, dtype: torch.dtype) -> int:
    """Peak activation bytes the temporal decoder holds per output frame (module docstring)."""
    c0, c1 = block_out_channels[0], block_out_channels[1] if len(block_out_channels) > 1 else block_out_channels[0]
    return (c1 + 6 * c0) * height * width * torch.finfo(dtype).bits // 8


UNET_PLANES_PER_C0 = 27  # traced, see the module docstring


def unet_bytes_per_item(c0: int, frames: int, height: int, width: int, dtype: torch.dtype) -> int:
    """Peak activation bytes of one batch item through the spatio-temporal UNet, for latents of
    ``frames`` x ``height`` x ``width`` (module docstring)."""
    return UNET_PLANES_PER_C0 * c0 * frames * height * width * torch.finfo(dtype).bits // 8


def guidance_fits_together(per_item: int, budget: int, resident: int, slack: float = ALLOCATOR_SLACK) -> bool:
    """Whether the guided batch of two fits ``budget`` beside ``resident`` bytes; if not, the
    conditional and unconditional halves run one after the other."""
    return resident + slack * 2 * per_item <= budget


def chunk_for_budget(num_frames: int, per_frame: int, budget: int, resident: int, fixed: int = 0,
                     slack: float = ALLOCATOR_SLACK) -> int:
    """Largest window (1..num_frames) with ``resident + fixed + slack * chunk * per_frame <= budget``.

    ``resident``: bytes already allocated (weights, latents); ``fixed``: what the decode keeps
    for the whole clip regardless of the window (the float32 output and blend weights). Never
    below one frame: a budget too small for a single frame is the caller's to report.
    """
    room = budget - resident - fixed
    # a frame's share rounded up: rounded down, a window could overshoot the budget by a frame
    return int(max(1, min(num_frames, room // max(1, math.ceil(slack * per_frame)))))


def output_bytes(num_frames: int, height: int, width: int) -> int:
    """The float32 (F, 3, H, W) blend accumulator ``decode_latents`` keeps for the whole clip."""
    return num_frames * 3 * height * width * 4


def available_memory() -> int | None:
    """Bytes of RAM this process can still take without swapping or being killed, or None where
    this machine does not say. Why: on the CPU the decode windows are sized from it
    (:func:`video.runtime.decode.auto_chunk_size`); the whole clip at once needed 56 GiB for
    SVD-XT at 25 x 576 x 1024. psutil's "available" (the kernel's MemAvailable: free memory
    plus the page cache it can drop) where importable, else /proc/meminfo's, else
    ``SC_AVPHYS_PAGES`` (free pages only, an underestimate); capped by a cgroup v2 limit (a
    container's ``memory.max``), which none of those see."""
    free = None
    try:
        import psutil

        free = int(psutil.virtual_memory().available)
    except ImportError:
        try:
            with open("/proc/meminfo") as f:
                free = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
        except (OSError, StopIteration, ValueError, IndexError):
            try:
                free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            except (AttributeError, ValueError, OSError):
                pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f, open("/sys/fs/cgroup/memory.current") as g:
            limit, used = f.read().strip(), int(g.read())
        if limit != "max":
            room = max(0, int(limit) - used + _cgroup_reclaimable())
            free = room if free is None else min(free, room)
    except (OSError, ValueError):
        pass
    return free


def _cgroup_reclaimable() -> int:
    """Bytes of the cgroup's ``memory.current`` that are file cache the kernel drops before it
    kills anything (``inactive_file`` of ``memory.stat``): after reading large files in a
    container, counting them as used left room for a window of one frame."""
    try:
        with open("/sys/fs/cgroup/memory.stat") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("inactive_file ")), 0)
    except (OSError, ValueError, IndexError):
        return 0
