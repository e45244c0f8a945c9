"""Reconstruction scores of a video against its reference (a VAE round trip, or a generation
with a ground truth): PSNR and SSIM as means of per-frame values, the whole-clip PSNR beside
them, and LPIPS when its weights are given."""

from __future__ import annotations

import math

import numpy as np

from eval.metrics import mean_finite, psnr, psnr_frames, ssim_frames


def reconstruction_metrics(gen: np.ndarray, ref: np.ndarray, lpips=None) -> tuple[dict, dict]:
    """(scalars, per-frame curves) for two aligned uint8 (F, H, W, 3) stacks.

    ``psnr`` is the mean of per-frame PSNR, as papers (and common_metrics_on_video_quality)
    report it and as ``ssim`` beside it is; a frame identical to its reference (inf dB) is left
    out of that mean and counted in ``psnr_inf_frames`` (present when not 0), and a video whose
    every frame is identical has inf ``psnr`` (null in JSON; the aggregate counts it in
    ``psnr_inf``). ``psnr_whole_clip`` is 10 log10(255^2 / MSE of the whole clip), the number a
    VAE's reconstruction loss tracks: one bad frame lowers it more than it lowers the mean.
    PSNR and SSIM take a few frames at a time (``eval.metrics.CHUNK_BYTES`` of working set), so
    their memory does not grow with the clip's length; LPIPS goes in batches of its own.
    """
    per_psnr = psnr_frames(gen, ref)
    per_ssim = ssim_frames(gen, ref)
    mean_psnr, inf_frames = mean_finite(per_psnr)
    scalars = {"psnr": mean_psnr, "psnr_whole_clip": psnr(gen, ref), "ssim": float(per_ssim.mean())}
    if inf_frames:
        scalars["psnr_inf_frames"] = inf_frames
    curves = {"psnr": [p if math.isfinite(p) else None for p in per_psnr.tolist()], "ssim": per_ssim.tolist()}
    if lpips is not None:
        d = lpips(gen, ref)
        scalars["lpips"] = float(d.mean())
        curves["lpips"] = d.tolist()
    return scalars, curves
