"""Chunked temporal-VAE decoding with overlapping, blended windows.

The SVD decoder mixes frames with temporal convolutions, so decoding a clip in separate
chunks cuts that context at every boundary and the seams flicker. We decode overlapping
windows and cross-fade the shared frames with linear weights, so each output frame near a
seam is an average of two decodes that each saw context on one side.
"""

from __future__ import annotations

import torch


def plan_windows(num_frames: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) windows of at most ``chunk`` frames covering 0..num_frames, consecutive
    windows sharing ``overlap`` frames. With ``overlap=0`` these are diffusers' plain chunks.
    ``chunk >= 1`` and ``0 <= overlap < chunk`` or ValueError: a window that does not advance
    would loop for ever, growing the list until memory runs out."""
    if chunk < 1 or overlap < 0 or overlap >= chunk:
        raise ValueError(f"decode windows need chunk >= 1 and 0 <= overlap < chunk, got chunk {chunk}, "
                         f"overlap {overlap}")
    if chunk >= num_frames:
        return [(0, num_frames)]
    step = chunk - overlap
    windows, start = [], 0
    while True:
        end = min(start + chunk, num_frames)
        windows.append((start, end))
        if end == num_frames:
            return windows
        start += step


def blend_weights(windows: list[tuple[int, int]], i: int) -> torch.Tensor:
    """Per-frame weights of window ``i``: a linear ramp up over the frames it shares with the
    previous window and down over those it shares with the next (cross-fades that sum to 1)."""
    start, end = windows[i]
    w = torch.ones(end - start, dtype=torch.float32)
    if i > 0 and windows[i - 1][1] > start:
        n = windows[i - 1][1] - start
        w[:n] = torch.arange(1, n + 1, dtype=torch.float32) / (n + 1)
    if i + 1 < len(windows) and windows[i + 1][0] < end:
        n = end - windows[i + 1][0]
        w[-n:] = torch.minimum(w[-n:], torch.arange(n, 0, -1, dtype=torch.float32) / (n + 1))
    return w


def auto_chunk_size(vae: torch.nn.Module, num_frames: int, height: int, width: int, dtype: torch.dtype,
                    device: torch.device, budget_gib: float | None = None) -> int:
    """Frames per decode window for ``height`` x ``width`` output frames.

    With ``budget_gib``: the largest window that keeps the process's allocated memory (what is
    resident now, plus the clip's output buffer, plus the window's activations; see
    ``video.runtime.memory``) within the budget and within free memory. Without it: whatever
    fits in 80% of free memory (on a large card that is the whole clip and over 30 GiB).
    On CPU memory is rarely the limit: whole clip.
    """
    if device.type != "cuda":
        return num_frames
    from video.runtime.memory import GIB, chunk_for_budget, decode_bytes_per_frame, output_bytes

    per_frame = decode_bytes_per_frame(vae.config.block_out_channels, height, width, dtype)
    free, _ = torch.cuda.mem_get_info(device)
    allocated = torch.cuda.memory_allocated(device)
    budget = allocated + int(0.8 * free)
    if budget_gib:
        budget = min(budget, int(budget_gib * GIB))
    return chunk_for_budget(num_frames, per_frame, budget, allocated, output_bytes(num_frames, height, width))


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
        frames = vae.decode(z[s:e], num_frames=e - s).sample.float()
        if out is None:
            out = torch.zeros((f, *frames.shape[1:]), dtype=torch.float32, device=z.device)
        w = blend_weights(windows, i).to(z.device)
        out[s:e] += frames * w.view(-1, 1, 1, 1)
        total[s:e] += w
        if on_window is not None:
            on_window(s, e)
    return out / total.view(-1, 1, 1, 1)
