import math

import numpy as np
import pytest

from eval.inputs import align
from eval.lpips import LPIPS
from eval.reconstruction import reconstruction_metrics


def test_identical_videos(bikes_frames, tiny_weights):
    s, curves = reconstruction_metrics(bikes_frames[:4], bikes_frames[:4], LPIPS(tiny_weights["lpips"]))
    assert s["psnr"] == math.inf and s["ssim"] == pytest.approx(1.0) and s["lpips"] == pytest.approx(0.0, abs=1e-6)
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
