"""What ``flicker`` is (eval.temporal.flicker, the report's note, the README): a per-pixel second
temporal difference, VBench-style, so camera motion raises it while the flow-compensated
``warp_error`` stays near its static value; a linear fade cancels out. Built on a real photograph."""

import numpy as np
import pytest

from eval.temporal import flicker, frame_diff, warping_errors

FRAMES, TOP, LEFT, H, W = 12, 100, 20, 128, 192


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()  # 512x512 RGB


def pan(photo: np.ndarray, px: int) -> np.ndarray:
    """A window slid across the still photograph by ``px`` per frame: motion, no brightness change."""
    return np.stack([photo[TOP:TOP + H, LEFT + px * t:LEFT + px * t + W] for t in range(FRAMES)])


def blinking(photo: np.ndarray, levels: int) -> np.ndarray:
    """The still window with brightness alternating by +-``levels``: real flicker, no motion.
    Closed form (no clipping): luma alternates by +-levels / 255, second difference 4 levels / 255."""
    still = pan(photo, 0).astype(np.int16)
    sign = np.array([(-1) ** t for t in range(FRAMES)], np.int16)[:, None, None, None]
    return np.clip(still + levels * sign, 0, 255).astype(np.uint8)


def test_a_pan_raises_flicker_and_not_warp_error(photo):
    still_flicker, still_warp = flicker(pan(photo, 0)), warping_errors(pan(photo, 0)).mean()
    assert still_flicker == 0.0 and still_warp < 1e-3
    one_level, four_levels = blinking(photo, 1), blinking(photo, 4)
    assert flicker(one_level) == pytest.approx(4 / 255, rel=0.05)  # a few pixels clip at 0 or 255
    assert flicker(four_levels) == pytest.approx(16 / 255, rel=0.05)
    flick_added = warping_errors(one_level).mean() - still_warp  # what +-1-level flicker adds to warp_error

    pans = {px: pan(photo, px) for px in (1, 2, 4)}
    f = {px: flicker(v) for px, v in pans.items()}
    assert f[1] < f[2] < f[4]  # more motion, more "flicker"
    assert f[1] > flicker(one_level)  # a 1 px/frame pan already outscores real +-1-level flicker
    assert f[4] > flicker(four_levels)  # and 4 px/frame real +-4-level flicker
    assert f == pytest.approx({1: 0.031, 2: 0.061, 4: 0.105}, rel=0.05)  # the docstring's numbers
    for px, v in pans.items():  # flow-compensated: each pan stays below what +-1-level flicker adds
        assert warping_errors(v).mean() - still_warp < 0.75 * flick_added, px


def test_a_linear_fade_of_the_photo_gives_no_flicker(photo):
    still = pan(photo, 0).astype(np.float64)
    fade = np.rint(still * (1 - 0.04 * np.arange(FRAMES))[:, None, None, None]).astype(np.uint8)  # to 56 %
    assert frame_diff(fade).min() > 0.01  # the frames do change, ...
    # ... linearly: only uint8 rounding is left, independent +-0.5-level errors whose second
    # difference in luma has mean |.| of about 0.38 levels, a tenth of +-1-level flicker's 4
    assert flicker(fade) < 0.5 / 255


def test_the_report_and_the_docstring_say_motion_raises_flicker():
    """The measured behaviour above, as the reader is told it (the docstring said slow smooth
    motion cancels out)."""
    from eval.report import METRIC_NOTES

    for text in (METRIC_NOTES["flicker"], " ".join(flicker.__doc__.split())):
        assert "motion raises it" in text and "similar motion" in text and "warp_error" in text
    assert "smooth motion" not in flicker.__doc__
