"""Reconstruction scores of a video against its reference (a VAE round trip, or a generation
with a ground truth): PSNR over the whole clip, mean SSIM, and LPIPS when its weights are given."""

from __future__ import annotations

import math

import numpy as np

from eval.metrics import psnr, ssim_frames


def reconstruction_metrics(gen: np.ndarray, ref: np.ndarray, lpips=None) -> tuple[dict, dict]:
    """(scalars, per-frame curves) for two aligned uint8 (F, H, W, 3) stacks.

    ``psnr`` comes from the MSE of the whole clip (one number, as a VAE's loss sees it); the
    per-frame curve is kept for plots. Identical frames give inf PSNR, written to JSON as null.
    """
    per_psnr = [psnr(g, r) for g, r in zip(gen, ref, strict=True)]
    per_ssim = ssim_frames(gen, ref)
    scalars = {"psnr": psnr(gen, ref), "ssim": float(per_ssim.mean())}
    curves = {"psnr": [p if math.isfinite(p) else None for p in per_psnr], "ssim": per_ssim.tolist()}
    if lpips is not None:
        d = lpips(gen, ref)
        scalars["lpips"] = float(d.mean())
        curves["lpips"] = d.tolist()
    return scalars, curves
