"""The CLIP image path of SVD: resize exactly as the published model saw images, then normalise.

sgm's ``FrozenOpenCLIPImageEmbedder`` resizes with kornia (Gaussian anti-alias blur, then
bicubic with ``align_corners=True``) on images in [-1, 1]; torch's own ``antialias=True``
filter is a different kernel, so we reproduce kornia's recipe here in plain torch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def gaussian_kernel1d(size: int, sigma: float, dtype=torch.float32, device=None) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype, device=device) - size // 2
    if size % 2 == 0:
        x = x + 0.5
    k = torch.exp(-(x**2) / (2.0 * sigma**2))
    return k / k.sum()


def gaussian_blur2d(x: torch.Tensor, kernel: tuple[int, int], sigma: tuple[float, float]) -> torch.Tensor:
    """Separable Gaussian blur with reflect padding, per channel. x: (B, C, H, W)."""
    b, c, h, w = x.shape
    ky = gaussian_kernel1d(kernel[0], sigma[0], x.dtype, x.device)
    kx = gaussian_kernel1d(kernel[1], sigma[1], x.dtype, x.device)
    py, px = (kernel[0] - 1) // 2, (kernel[1] - 1) // 2
    y = F.pad(x, (px, kernel[1] - 1 - px, py, kernel[0] - 1 - py), mode="reflect")
    y = y.reshape(b * c, 1, *y.shape[-2:])
    y = F.conv2d(y, ky.view(1, 1, -1, 1))
    y = F.conv2d(y, kx.view(1, 1, 1, -1))
    return y.reshape(b, c, h, w)


def resize_antialiased(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """kornia-style anti-aliased bicubic resize of (B, C, H, W)."""
    h, w = x.shape[-2:]
    sig = (max((h / size[0] - 1.0) / 2.0, 0.001), max((w / size[1] - 1.0) / 2.0, 0.001))
    ks = [int(max(2.0 * 2 * s, 3)) for s in sig]
    ks = tuple(k + 1 if k % 2 == 0 else k for k in ks)
    x = gaussian_blur2d(x, ks, sig)
    return F.interpolate(x, size=size, mode="bicubic", align_corners=True)


def clip_pixel_values(
    image: torch.Tensor,
    size: int = 224,
    mean: tuple[float, ...] = OPENAI_CLIP_MEAN,
    std: tuple[float, ...] = OPENAI_CLIP_STD,
) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] -> CLIP input (B, 3, size, size).

    The resize runs on [-1, 1] values, as in sgm, because the blur's reflect padding and
    bicubic overshoot then clip the same way the published model's training did.
    """
    x = resize_antialiased(image * 2.0 - 1.0, (size, size))
    x = (x + 1.0) / 2.0
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s
