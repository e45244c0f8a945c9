"""Frame metrics with closed forms; the heavier learned metrics (FVD, CLIP-SIM) build on these."""

from __future__ import annotations

import math

import numpy as np
import torch


def psnr(a, b, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(range^2 / MSE); inf for identical inputs."""
    a = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a, dtype=torch.float64)
    b = torch.as_tensor(np.asarray(b) if not isinstance(b, torch.Tensor) else b, dtype=torch.float64)
    mse = torch.mean((a - b) ** 2).item()
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)
