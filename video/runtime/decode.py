"""Chunked temporal-VAE decoding with overlapping, blended windows.

The SVD decoder mixes frames with temporal convolutions, so decoding a clip in separate
chunks cuts that context at every boundary and the seams flicker. We decode overlapping
windows and cross-fade the shared frames with linear weights, so each output frame near a
seam is an average of two decodes that each saw context on one side.
"""

from __future__ import annotations

import contextlib

import torch


def plan_windows(num_frames: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) windows of ``chunk`` frames covering 0..num_frames, consecutive windows sharing
    at least ``overlap`` frames. With ``overlap=0`` these are diffusers' plain chunks (the last one
    short where ``chunk`` does not divide the clip). With ``overlap > 0`` the last window slides back
    to a full ``chunk`` and shares more with the one before: a short tail window had the least
    temporal context of any, and its second shape made a compiled decoder compile every part
    again (25 frames in windows of 4: a 1-frame tail). ``chunk >= 1`` and ``0 <= overlap < chunk``
    or ValueError: a window that does not advance would loop for ever, growing the list until
    memory runs out."""
    if chunk < 1 or overlap < 0 or overlap >= chunk:
        raise ValueError(f"decode windows need chunk >= 1 and 0 <= overlap < chunk, got chunk {chunk}, "
                         f"overlap {overlap}")
    if chunk >= num_frames:
        return [(0, num_frames)]
    step = chunk - overlap
    windows, start = [], 0
    while True:
        end = min(start + chunk, num_frames)
        if overlap and end - start < chunk:
            start = num_frames - chunk
        windows.append((start, end))
        if end == num_frames:
            return windows
        start += step


def blend_weights(windows: list[tuple[int, int]], i: int) -> torch.Tensor:
    """Per-frame weights of window ``i``, cross-fades that sum to 1 over the windows sharing a frame.

    Each window weighs a frame by its distance to the window's nearer end (1 at the edge frame),
    normalised over every window that holds the frame. Two windows sharing ``n`` frames give the
    linear ramp k / (n + 1); where one window shares frames with both neighbours at once (a last
    window slid back to full size), the weights still sum to 1."""

    def tent(start: int, end: int, frames: torch.Tensor) -> torch.Tensor:
        inside = (frames >= start) & (frames < end)
        return torch.where(inside, torch.minimum(frames - start + 1, end - frames), 0).float()

    start, end = windows[i]
    frames = torch.arange(start, end)
    total = sum(tent(s, e, frames) for s, e in windows if s < end and e > start)  # those sharing a frame
    return tent(start, end, frames) / total


def auto_chunk_size(vae: torch.nn.Module, num_frames: int, height: int, width: int, dtype: torch.dtype,
                    device: torch.device, budget_gib: float | None = None) -> int:
    """Frames per decode window for ``height`` x ``width`` output frames.

    CUDA, with ``budget_gib``: the largest window that keeps the process's allocated memory
    (what is resident now, plus the clip's output buffer, plus the window's activations; see
    ``video.runtime.memory``) within the budget and within free memory. Without it: whatever
    fits in 80% of free memory (on a large card that is the whole clip and over 30 GiB).

    CPU: the decode's own memory (the window's activations, counted in float32, and the output
    buffer; the weights are not counted, float32 SVD-XT's alone are 9 GiB) within ``budget_gib``
    and within 80% of the RAM still available (:func:`video.runtime.memory.available_memory`).
    It used to take the whole clip whatever its size: 56 GiB for SVD-XT at 25 x 576 x 1024, an
    out-of-memory kill. The window changes the frames (the decoder mixes the frames inside it),
    so the budget, the same on every machine, decides it wherever RAM allows; RAM decides only
    where the budget's window would not fit (``--decode-chunk N`` pins it). Where neither is
    known (no budget, RAM not readable): the whole clip, as before. Other devices: whole clip.
    """
    from video.runtime.memory import (
        GIB,
        available_memory,
        chunk_for_budget,
        decode_bytes_per_frame,
        output_bytes,
    )

    if device.type == "cpu":
        free = available_memory()
        caps = ([int(0.8 * free)] if free is not None else []) + ([int(budget_gib * GIB)] if budget_gib else [])
        if not caps:
            return num_frames
        per_frame = decode_bytes_per_frame(vae.config.block_out_channels, height, width, torch.float32)
        return chunk_for_budget(num_frames, per_frame, min(caps), 0, output_bytes(num_frames, height, width))
    if device.type != "cuda":
        return num_frames

    per_frame = decode_bytes_per_frame(vae.config.block_out_channels, height, width, dtype)
    free, _ = torch.cuda.mem_get_info(device)
    allocated = torch.cuda.memory_allocated(device)
    budget = allocated + int(0.8 * free)
    if budget_gib:
        budget = min(budget, int(budget_gib * GIB))
    return chunk_for_budget(num_frames, per_frame, budget, allocated, output_bytes(num_frames, height, width))


def tail_stance(size: int, first: int):
    """Plain chunks (overlap 0) end in a short window where the chunk does not divide the clip.
    A compiled decoder would compile every one of its parts again for that one window's shape
    (minutes on SVD-XT), to save a fraction of a second: it runs eagerly instead. Windows of the
    first window's size, and decoders that are not compiled, are untouched."""
    if size == first or not hasattr(torch.compiler, "set_stance"):
        return contextlib.nullcontext()
    return torch.compiler.set_stance("force_eager")


@torch.no_grad()
def decode_latents(
    vae: torch.nn.Module,
    latents: torch.Tensor,
    chunk_size: int | None = None,
    overlap: int = 2,
    on_window=None,
    budget_gib: float | None = None,
) -> torch.Tensor:
    """(F, C, h, w) scaled latents of one clip -> (F, 3, H, W) frames in about [-1, 1], float32.

    ``chunk_size=None`` picks a size from ``budget_gib`` and free memory (``auto_chunk_size``);
    ``overlap=0`` reproduces diffusers' plain chunking. ``overlap`` is clamped to ``chunk_size - 1``
    (a budget may leave room for a window of 1 or 2 frames, and the default overlap is 2);
    ``chunk_size < 1`` or ``overlap < 0`` is a ValueError (``plan_windows``).
    """
    f = latents.shape[0]
    z = latents / vae.config.scaling_factor
    if chunk_size is None:
        scale = 2 ** (len(vae.config.block_out_channels) - 1)
        chunk_size = auto_chunk_size(vae, f, z.shape[-2] * scale, z.shape[-1] * scale, z.dtype, z.device,
                                     budget_gib)
    windows = plan_windows(f, chunk_size, min(overlap, max(0, chunk_size - 1)))
    out = None
    total = torch.zeros(f, dtype=torch.float32, device=z.device)
    for i, (s, e) in enumerate(windows):
        with tail_stance(e - s, windows[0][1] - windows[0][0]):
            frames = vae.decode(z[s:e], num_frames=e - s).sample.float()
        if out is None:
            out = torch.zeros((f, *frames.shape[1:]), dtype=torch.float32, device=z.device)
        w = blend_weights(windows, i).to(z.device)
        out[s:e] += frames * w.view(-1, 1, 1, 1)
        total[s:e] += w
        if on_window is not None:
            on_window(s, e)
    return out / total.view(-1, 1, 1, 1)
