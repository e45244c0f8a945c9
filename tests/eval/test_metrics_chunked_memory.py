"""PSNR and SSIM score a clip a few frames at a time: the same numbers as the whole clip at once
(a reference copy of that computation is kept here, and scikit-image checks it), and a peak
working set bounded by ``eval.metrics.CHUNK_BYTES`` however many frames there are. Before, SSIM
made float64 and float32 copies of every frame together: 166 B a value, 37 GB for 81 frames of
720p, so `video eval --reference` ran out of memory on long clips."""

import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import eval.metrics as metrics
from eval.metrics import psnr, psnr_frames, ssim_frames
from eval.reconstruction import reconstruction_metrics
from video.models.image_encoder import gaussian_kernel1d

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from live_bytes import LiveBytes  # noqa: E402


def whole_clip_ssim(a: np.ndarray, b: np.ndarray, data_range: float, sigma: float = 1.5) -> np.ndarray:
    """The computation as it was, every frame at once: the numbers chunks must reproduce."""
    x = torch.as_tensor(a, dtype=torch.float64).permute(0, 3, 1, 2) / data_range
    y = torch.as_tensor(b, dtype=torch.float64).permute(0, 3, 1, 2) / data_range
    c = x.shape[1]
    size = 2 * int(3.5 * sigma + 0.5) + 1
    centre = (x.mean(dim=(2, 3), keepdim=True) + y.mean(dim=(2, 3), keepdim=True)) / 2
    x, y = (x - centre).float(), (y - centre).float()
    moments = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    k = gaussian_kernel1d(size, sigma, dtype=torch.float32)
    g = moments.shape[1]
    m = F.conv2d(moments, k.view(1, 1, -1, 1).expand(g, 1, size, 1).contiguous(), groups=g)
    m = F.conv2d(m, k.view(1, 1, 1, -1).expand(g, 1, 1, size).contiguous(), groups=g)
    mx, my, sxx, syy, sxy = m.double().split(c, dim=1)
    vx, vy, cxy = sxx - mx * mx, syy - my * my, sxy - mx * my
    mx, my = mx + centre, my + centre
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.reshape(len(a), -1).mean(dim=1).numpy()


def _pair(n: int, h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random frames and a noisy copy: related, so SSIM is neither 0 nor 1."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 30, a.shape), 0, 255).astype(np.uint8)
    return a, b


def _peak_bytes(f) -> int:
    """Peak bytes of torch storages (a live-tensor trace) plus numpy/Python allocations
    (tracemalloc) while ``f()`` runs: everything a metric allocates on the CPU. A first traced op
    imports torch's dispatch machinery (60 MiB of module objects): done before counting."""
    with LiveBytes():
        torch.ones(1) + 1
    tracemalloc.start()
    try:
        with LiveBytes() as live:
            f()
        return live.peak + tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_ssim_in_chunks_equals_the_whole_clip(monkeypatch):
    a, b = _pair(10, 40, 56)
    per_frame = 40 * 56 * 3 * metrics.SSIM_BYTES_PER_VALUE
    monkeypatch.setattr(metrics, "CHUNK_BYTES", 3 * per_frame)  # chunks of 3, 3, 3 and 1 frames
    assert metrics.frames_per_chunk(40 * 56 * 3, metrics.SSIM_BYTES_PER_VALUE) == 3
    np.testing.assert_array_equal(ssim_frames(a, b), whole_clip_ssim(a, b, 255.0))
    fa, fb = a / 255.0, b / 255.0  # float input with its range: the same path
    np.testing.assert_array_equal(ssim_frames(fa, fb, data_range=1.0), whole_clip_ssim(fa, fb, 1.0))
    want = [structural_similarity(x, y, channel_axis=-1, data_range=255, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False) for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(ssim_frames(a, b), want, atol=1e-6)


def test_ssim_of_no_frames_says_so():
    a, b = _pair(1, 16, 16)
    with pytest.raises(ValueError, match="at least one frame"):
        ssim_frames(a[:0], b[:0])


def test_psnr_in_chunks_equals_the_whole_clip(monkeypatch):
    a, b = _pair(10, 40, 56, seed=1)
    monkeypatch.setattr(metrics, "CHUNK_BYTES", 3 * 40 * 56 * 3 * metrics.PSNR_BYTES_PER_VALUE)
    assert metrics.frames_per_chunk(40 * 56 * 3, metrics.PSNR_BYTES_PER_VALUE) == 3
    whole = torch.mean((torch.as_tensor(a, dtype=torch.float64) - torch.as_tensor(b, dtype=torch.float64)) ** 2)
    want = 10 * np.log10(255.0**2 / whole.item())
    assert psnr(a, b) == want  # integer squared errors: the same sum in any order
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), rel=1e-12)
    fa, fb = a / 255.0, b / 255.0
    assert psnr(fa, fb, data_range=1.0) == pytest.approx(peak_signal_noise_ratio(fa, fb, data_range=1.0),
                                                          rel=1e-12)
    s, curves = reconstruction_metrics(a, b)
    assert s["psnr_whole_clip"] == want
    assert curves["psnr"] == pytest.approx(list(psnr_frames(a, b)), rel=0)
    np.testing.assert_array_equal(curves["ssim"], whole_clip_ssim(a, b, 255.0))


def test_ssim_memory_is_bounded_by_the_chunk_budget():
    """16 frames of 256x256: the whole clip at once peaked at 498 MiB (166 B a value); in chunks
    the peak stays within CHUNK_BYTES (128 MiB), about four frames of the old working set."""
    a, b = _pair(16, 256, 256)
    values = a.size
    assert values * metrics.SSIM_BYTES_PER_VALUE > metrics.CHUNK_BYTES  # the clip at once would not fit
    peak = _peak_bytes(lambda: ssim_frames(a, b))
    assert peak <= metrics.CHUNK_BYTES, f"ssim peaked at {peak / 2**20:.0f} MiB for {values * 166 / 2**20:.0f} MiB"


def test_whole_clip_psnr_memory_is_bounded_by_the_chunk_budget():
    """40 frames of 256x256: float64 copies of the whole clip peaked at 240 MiB (32 B a value)."""
    a, b = _pair(40, 256, 256)
    assert a.size * metrics.PSNR_BYTES_PER_VALUE > metrics.CHUNK_BYTES
    peak = _peak_bytes(lambda: psnr(a, b))
    assert peak <= metrics.CHUNK_BYTES, f"psnr peaked at {peak / 2**20:.0f} MiB"
