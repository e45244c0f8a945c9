"""Frame metrics with closed forms: PSNR and SSIM. Pure functions of two images (or two equal
stacks of frames); the learned metrics (FVD, CLIP-SIM, LPIPS) live in their own modules."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from video.models.image_encoder import gaussian_kernel1d

SSIM_SIGMA = 1.5
SSIM_WINDOW = 2 * int(3.5 * SSIM_SIGMA + 0.5) + 1  # 11: the Gaussian truncated at 3.5 sigma, as scikit-image does


def _f64(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float64)


def psnr(a, b, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(range^2 / MSE); inf for identical inputs."""
    a, b = _f64(a), _f64(b)
    if a.shape != b.shape:
        raise ValueError(f"psnr needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    mse = torch.mean((a - b) ** 2).item()
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def ssim_frames(a, b, data_range: float = 255.0, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Per-frame SSIM of two (F, H, W, C) or (H, W, C) stacks (Wang et al. 2004, eq. 13).

    Gaussian window (sigma 1.5, 11 taps: truncated at 3.5 sigma as scikit-image does), population
    covariances, K1 = 0.01, K2 = 0.03, averaged over channels and over the pixels whose window
    lies inside the image: the numbers of ``skimage.metrics.structural_similarity(...,
    gaussian_weights=True, use_sample_covariance=False)``. The five local moments come from one
    depthwise float32 convolution (float64 convolutions are several times slower on CPUs); each
    image is first centred on its mean and scaled to unit range, so E[x^2] - E[x]^2 keeps its
    digits in float32.
    """
    a, b = _f64(a), _f64(b)
    if a.shape != b.shape:
        raise ValueError(f"ssim needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.ndim == 3:
        a, b = a[None], b[None]
    if a.ndim != 4:
        raise ValueError(f"ssim expects (F, H, W, C) or (H, W, C), got {tuple(a.shape)}")
    n, h, w, c = a.shape
    radius = int(3.5 * sigma + 0.5)
    size = 2 * radius + 1
    if min(h, w) < size:
        raise ValueError(f"ssim needs frames of at least {size}x{size} px, got {h}x{w}")
    x = a.permute(0, 3, 1, 2) / data_range  # (N, C, H, W)
    y = b.permute(0, 3, 1, 2) / data_range
    centre = (x.mean(dim=(2, 3), keepdim=True) + y.mean(dim=(2, 3), keepdim=True)) / 2
    x, y = (x - centre).float(), (y - centre).float()
    moments = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # (N, 5C, H, W)
    k = gaussian_kernel1d(size, sigma, dtype=torch.float32)
    groups = moments.shape[1]
    m = F.conv2d(moments, k.view(1, 1, -1, 1).expand(groups, 1, size, 1).contiguous(), groups=groups)
    m = F.conv2d(m, k.view(1, 1, 1, -1).expand(groups, 1, 1, size).contiguous(), groups=groups)
    mx, my, sxx, syy, sxy = m.double().split(c, dim=1)
    vx, vy, cxy = sxx - mx * mx, syy - my * my, sxy - mx * my
    mx, my = mx + centre, my + centre  # back to absolute means for the luminance term
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.reshape(n, -1).mean(dim=1).numpy()


def ssim(a, b, data_range: float = 255.0) -> float:
    """Mean SSIM over the frames of two equal stacks (1.0 for identical inputs)."""
    return float(ssim_frames(a, b, data_range).mean())
