"""recolour converts only the mask's bounding box, a frame at a time, in float32: memory near
the clip's own size (the whole clip in float64 HSV with a six-way ``np.select`` took 5 GB for
60 VGA frames and a 98x98 box), and the colours within a level of an independent reference
(:mod:`colorsys`, in float64)."""

from __future__ import annotations

import colorsys
import tracemalloc

import numpy as np
import pytest

from video.edit.mask import composite_alpha, load_mask
from video.edit.recipes import blend_shifted, hsv_to_rgb, recolour, rgb_to_hsv, shift_colour


def _clip(frames: int = 12, height: int = 96, width: int = 128) -> np.ndarray:
    """Smooth colour ramps with a little noise: every hue sector and saturation level."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 255 / (width + height)], -1)
    out = [np.clip(np.roll(base, 7 * i, 1) + rng.normal(0, 6, base.shape), 0, 255) for i in range(frames)]
    return np.round(out).astype(np.uint8)


def _reference_shift(pixels: np.ndarray, hue: float, saturation: float) -> np.ndarray:
    """colorsys, pixel by pixel, in float64: the shift as the textbook defines it."""
    out = np.empty(pixels.shape, np.float64)
    for idx, (r, g, b) in np.ndenumerate(pixels.reshape(-1, 3).view([("r", "u1"), ("g", "u1"), ("b", "u1")])[:, 0]):
        h, s, v = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
        out.reshape(-1, 3)[idx[0]] = colorsys.hsv_to_rgb((h + hue / 360) % 1.0, min(s * saturation, 1.0), v)
    return out * 255


@pytest.mark.parametrize("hue, saturation", [(9, 1.0), (180, 0.5), (-77, 2.0), (300, 0.0)])
def test_shift_matches_colorsys(hue, saturation):
    pixels = _clip(2, 24, 32)
    got, want = shift_colour(pixels, hue, saturation), _reference_shift(pixels, hue, saturation)
    assert got.dtype == np.float32 and got.shape == pixels.shape
    assert np.abs(got - want).max() < 0.01  # float32 against float64: far below a level


def test_recolour_within_a_level_of_the_reference_and_exact_outside():
    clip, box = _clip(4, 48, 64), "10,5,50,40"
    out = recolour(None, clip, box, hue=40, saturation=1.5)
    alpha = composite_alpha(load_mask(box, *clip.shape[:3]), 2).numpy()[..., None]
    want = np.round(clip + alpha * (_reference_shift(clip, 40, 1.5) - clip))
    assert np.abs(out.astype(int) - want).max() <= 1
    assert np.mean(out == want) > 0.95  # a level apart only where float32 and float64 round a tie apart
    outside = alpha[..., 0] == 0
    assert np.array_equal(out[outside], clip[outside])
    assert np.abs(out[~outside].astype(int) - clip[~outside]).mean() > 5  # the box did change


def test_hsv_round_trip_in_float32():
    rgb = np.random.default_rng(2).random((500, 3)).astype(np.float32)
    back = hsv_to_rgb(rgb_to_hsv(rgb))
    assert back.dtype == np.float32 and np.abs(back - rgb).max() < 1e-5


def test_recolour_memory_near_the_clip():
    """A small box on a 12-frame clip: the traced (NumPy) peak within a few clip sizes; the old
    whole-clip float64 conversion peaked near 100x the clip."""
    clip = _clip(24, 96, 128)
    recolour(None, clip, "4,4,40,40", hue=9)  # warm-up: imports, caches
    tracemalloc.start()
    try:
        recolour(None, clip, "4,4,40,40", hue=9)
        box_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        recolour(None, clip, "0,0,128,96", hue=9)  # the whole frame: a frame at a time
        full_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert box_peak < 2.5 * clip.nbytes, box_peak / clip.nbytes
    assert full_peak < 4 * clip.nbytes, full_peak / clip.nbytes


def test_blend_leaves_frames_without_mask_untouched():
    clip = _clip(3, 32, 32)
    alpha = np.zeros(clip.shape[:3], np.float32)
    alpha[1, 5:9, 6:20] = 0.5
    out = blend_shifted(clip, alpha, hue=90)
    assert np.array_equal(out[[0, 2]], clip[[0, 2]])
    changed = np.argwhere(np.any(out != clip, -1))
    assert len(changed) and changed[:, 1].min() >= 5 and changed[:, 1].max() < 9
