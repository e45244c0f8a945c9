"""Luma levels for the cut detector: where black is, and the luma histogram taken at a normal
exposure. A night shot at luma ~25 of 255 fills two or three 8-level bins, so a brightness drift
of a few levels (a flickering light, an auto-exposure) moved most of its pixels across a bin
edge and looked like a cut; a dim frame's levels are stretched about black
(:func:`exposure_gain`) before they are counted (:func:`exposed_luma_hist`), and its thumbnail
before it is compared (:func:`data_curation.cuts.distance`)."""

from __future__ import annotations

import numpy as np

Y_BINS = 32  # bins of the luma histogram
VIDEO_BLACK = 16  # the luma level of black in limited ("video") range; full range: 0
EXPOSURE_LEVEL = 32.0  # levels above black a dim frame's mean is brought up to (limited range: luma 48)
MAX_GAIN = 12.0  # at most this stretch: darker frames (mean < 2.7 levels above black) are mostly noise
_LEVEL_EDGES = np.arange(257, dtype=np.float64)
_BIN_EDGES = np.arange(Y_BINS + 1) * (256 / Y_BINS)
_BIN_STARTS = np.arange(0, 256, 256 // Y_BINS)


def exposure_gain(above_black):
    """Gain that brings a frame whose mean luma is ``above_black`` levels (0..255 scale) above
    black up to :data:`EXPOSURE_LEVEL`: 1 for frames at least that bright, at most
    :data:`MAX_GAIN`. A continuous function of the mean, so a drifting scene's frames are
    stretched smoothly (a gain that jumped would make a cut of its own)."""
    if isinstance(above_black, float):  # one frame, as it is decoded: plain floats are 10x faster
        return min(MAX_GAIN, max(1.0, EXPOSURE_LEVEL / max(float(above_black), EXPOSURE_LEVEL / MAX_GAIN)))
    level = np.maximum(np.asarray(above_black, np.float64), EXPOSURE_LEVEL / MAX_GAIN)
    return np.clip(EXPOSURE_LEVEL / level, 1.0, MAX_GAIN)


def exposed_luma_hist(counts: np.ndarray, gain: float, black: int) -> np.ndarray:
    """:data:`Y_BINS`-bin histogram of luma levels counted ``counts`` (256 of them), stretched
    by ``gain`` about ``black``. Level ``v`` covers ``[v, v + 1)`` and is stretched to cover
    ``gain`` times that, its pixels spread evenly over it: each bin takes the share that falls in
    it (read off the cumulative counts at the bins' edges mapped back), so a stretch that changes
    a little moves little mass. ``gain`` 1 gives the plain histogram (bin = level * Y_BINS // 256);
    below black is black and stretched past white is white."""
    if gain == 1.0:
        return np.add.reduceat(counts, _BIN_STARTS)
    cdf = np.concatenate(([0.0], np.cumsum(counts)))
    at = np.interp(black + (_BIN_EDGES - black) / gain, _LEVEL_EDGES, cdf)
    at[0], at[-1] = 0.0, cdf[-1]
    return np.diff(at)


def black_level(frame) -> int:
    """The luma level of black in ``frame``: 0 in full range (JPEG; PyAV names it ``yuvj``)."""
    return 0 if frame.color_range == 2 or frame.format.name.startswith("yuvj") else VIDEO_BLACK
