import math

import numpy as np
import pytest

from eval.inputs import align
from eval.lpips import LPIPS
from eval.reconstruction import reconstruction_metrics


def test_identical_videos(bikes_frames, tiny_weights):
    s, curves = reconstruction_metrics(bikes_frames[:4], bikes_frames[:4], LPIPS(tiny_weights["lpips"]))
    assert s["psnr"] == math.inf and s["ssim"] == pytest.approx(1.0) and s["lpips"] == pytest.approx(0.0, abs=1e-6)
    assert s["psnr_whole_clip"] == math.inf and s["psnr_inf_frames"] == 4
    assert curves["psnr"] == [None] * 4  # inf is not JSON


def test_degraded_video_scores_worse(bikes_frames, tiny_weights):
    ref = bikes_frames[:4]
    noisy = np.clip(ref + np.random.default_rng(0).normal(0, 20, ref.shape), 0, 255).astype(np.uint8)
    s, curves = reconstruction_metrics(noisy, ref, LPIPS(tiny_weights["lpips"]))
    assert 15 < s["psnr"] < 30 and s["ssim"] < 0.9 and s["lpips"] > 1e-3
    assert len(curves["lpips"]) == 4 and "lpips" not in reconstruction_metrics(noisy, ref)[0]


def test_align_resizes_and_truncates(bikes_frames):
    g, r, notes = align(bikes_frames[:5], bikes_frames[:8, ::2, ::2])
    assert g.shape == r.shape == (5, 96, 224, 3) and len(notes) == 2


def test_psnr_is_the_mean_of_per_frame_psnr(bikes_frames):
    """The headline PSNR is the mean of per-frame PSNR (as papers report it, and as SSIM beside
    it is), checked against scikit-image; the whole-clip value is kept under its own name."""
    from skimage.metrics import peak_signal_noise_ratio

    ref = bikes_frames[:3]
    rng = np.random.default_rng(0)
    gen = np.stack([np.clip(f + rng.normal(0, s, f.shape), 0, 255).astype(np.uint8)
                    for f, s in zip(ref, (2, 8, 40), strict=True)])  # one bad frame among good ones
    s, curves = reconstruction_metrics(gen, ref)
    per = [peak_signal_noise_ratio(r, g, data_range=255) for r, g in zip(ref, gen, strict=True)]
    assert s["psnr"] == pytest.approx(np.mean(per), rel=1e-12)
    assert curves["psnr"] == pytest.approx(per, rel=1e-12)
    assert s["psnr_whole_clip"] == pytest.approx(peak_signal_noise_ratio(ref, gen, data_range=255), rel=1e-12)
    assert s["psnr"] > s["psnr_whole_clip"] + 5  # the bad frame dominates the clip's MSE
    assert "psnr_inf_frames" not in s


def test_identical_frames_are_counted_not_averaged(bikes_frames):
    from skimage.metrics import peak_signal_noise_ratio

    ref = bikes_frames[:2]
    gen = ref.copy()
    gen[1] = np.clip(ref[1] + np.random.default_rng(0).normal(0, 10, ref[1].shape), 0, 255).astype(np.uint8)
    s, curves = reconstruction_metrics(gen, ref)
    assert s["psnr"] == pytest.approx(peak_signal_noise_ratio(ref[1], gen[1], data_range=255), rel=1e-12)
    assert s["psnr_inf_frames"] == 1 and curves["psnr"][0] is None
