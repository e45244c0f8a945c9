"""3D rotary position embedding over (frame, height, width), as Wan 2.1 and Open-Sora 2.0 use.

Each head's channels are split in three groups, one per axis, and each group is rotated by
angles proportional to that axis' position. Attention scores then depend only on position
differences, so any frame count or size works without a learned position table.
"""

from __future__ import annotations

import torch


def check_head_dim(head_dim: int) -> None:
    """Refuse a head size the three axes cannot share: rotations act on channel pairs, so it
    must be even, and each axis needs at least one pair (``axis_dims``), so at least 6."""
    if head_dim < 6 or head_dim % 2:
        raise ValueError(f"3D RoPE needs an even head size of at least 6 (dim / heads), got {head_dim}")


def axis_dims(head_dim: int) -> tuple[int, int, int]:
    """Channels per axis (t, h, w), each even; Wan's split: h and w get 2*(d//6), t the rest.
    Needs an even ``head_dim`` >= 6 (:func:`check_head_dim`)."""
    hw = 2 * (head_dim // 6)
    return head_dim - 2 * hw, hw, hw


def rope_angles(grid: tuple[int, int, int], head_dim: int, theta: float = 10000.0,
                offset: tuple[int, int, int] = (0, 0, 0), device=None) -> torch.Tensor:
    """Angles (T*H*W, head_dim/2) for a (T, H, W) token grid in raster order (t, then h, then w)."""
    angles = []
    for n, d, off in zip(grid, axis_dims(head_dim), offset, strict=True):
        if d == 0:
            continue
        freqs = theta ** (-torch.arange(0, d, 2, dtype=torch.float64, device=device) / d)
        pos = torch.arange(off, off + n, dtype=torch.float64, device=device)
        angles.append(torch.outer(pos, freqs))  # (n, d/2)
    t, h, w = grid
    at, ah, aw = angles
    full = torch.cat([
        at[:, None, None, :].expand(t, h, w, -1),
        ah[None, :, None, :].expand(t, h, w, -1),
        aw[None, None, :, :].expand(t, h, w, -1),
    ], dim=-1)
    return full.reshape(t * h * w, -1)


def rope_cos_sin(angles: torch.Tensor, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the angles, computed once per forward and shared by every block's q and k
    (float32 by default: bf16 angles lose positions past a few thousand tokens)."""
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (2i, 2i+1) of x (B, heads, L, D) by the angles whose cos and sin are
    given (L, D/2), in the dtype of ``cos`` (float32 unless asked otherwise), cast back to x's.
    Any layout whose trailing dims broadcast works: x (B, L, heads, D) with cos (L, 1, D/2)."""
    dtype = x.dtype
    xf = x.to(cos.dtype).unflatten(-1, (-1, 2))
    a, b = xf[..., 0], xf[..., 1]
    out = torch.stack([torch.addcmul(a * cos, b, sin, value=-1), torch.addcmul(a * sin, b, cos)], dim=-1)
    return out.flatten(-2).to(dtype)
