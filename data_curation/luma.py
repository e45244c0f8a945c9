"""Luma levels for the cut detector: where black is, and the luma histogram taken at a normal
exposure. A night shot at luma ~25 of 255 fills two or three 8-level bins, so a brightness drift
of a few levels (a flickering light, an auto-exposure) moved most of its pixels across a bin
edge and looked like a cut; a dim frame's levels are stretched about black
(:func:`exposure_gain`) before they are counted (:func:`exposed_luma_hist`, into soft bins, as
one raw level is several stretched ones), and its thumbnail before it is compared
(:func:`data_curation.cuts.distance`)."""

from __future__ import annotations

import numpy as np

Y_BINS = 32  # bins of the luma histogram
VIDEO_BLACK = 16  # the luma level of black in limited ("video") range; full range: 0
EXPOSURE_LEVEL = 32.0  # levels above black a dim frame's mean is brought up to (limited range: luma 48)
MAX_GAIN = 12.0  # at most this stretch: darker frames (mean < 2.7 levels above black) are mostly noise
_LEVEL_EDGES = np.arange(257, dtype=np.float64)
_BIN_EDGES = np.arange(Y_BINS + 1) * (256 / Y_BINS)
_BIN_STARTS = np.arange(0, 256, 256 // Y_BINS)
SOFT_GAIN = 2.0  # from this gain on (a mean 16 levels above black or darker) the luma bins are all soft
_FINE_EDGES = np.arange(256 * 4 + 1) / 4  # quarter levels: a stretched level covers 4 cells or more
_FINE_AT = np.clip((_FINE_EDGES[:-1] + 1 / 8) / (256 / Y_BINS) - 0.5, 0, Y_BINS - 1)  # cell centres, in bins
_SOFT_WEIGHTS = np.clip(1 - np.abs(_FINE_AT[:, None] - np.arange(Y_BINS)), 0, 1)  # (cell, bin): its share


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
    ``gain`` times that, its pixels spread evenly over it; below black is black and stretched
    past white is white. ``gain`` 1 gives the plain histogram (bin = level * Y_BINS // 256).

    A dim frame's bins are soft (:func:`_soft_bins`), mixed in with the plain ones by
    ``gain - 1`` (all soft from :data:`SOFT_GAIN`), so the histogram is continuous in the gain.
    Why: one raw level of a dim frame is ``gain`` stretched levels, and a flat area (a night sky,
    a wall) sits on one or two raw levels. Under a flickering light the stretch brings it back
    near the same place, but rounding leaves it a level or so off, and with hard bins half the
    frame then jumped a bin: a 1 Hz flicker at ~10 levels above black gave 0.31 of histogram
    distance between two frames of equal brightness (a false dissolve in a sparse decode)."""
    if gain == 1.0:
        return np.add.reduceat(counts, _BIN_STARTS)
    cdf = np.concatenate(([0.0], np.cumsum(counts)))
    at = np.interp(black + (_BIN_EDGES - black) / gain, _LEVEL_EDGES, cdf)
    at[0], at[-1] = 0.0, cdf[-1]
    soft = min(1.0, (gain - 1.0) / (SOFT_GAIN - 1.0))
    return (1.0 - soft) * np.diff(at) + soft * _soft_bins(cdf, gain, black)


def _soft_bins(cdf: np.ndarray, gain: float, black: int) -> np.ndarray:
    """The stretched levels' mass shared between the two nearest bin centres by closeness
    (linear interpolation; all to the end bin beyond the first or last centre): mass that moves
    a little moves a little between bins, wherever the bin edges fall."""
    at = np.interp(black + (_FINE_EDGES - black) / gain, _LEVEL_EDGES, cdf)
    at[0], at[-1] = 0.0, cdf[-1]
    return np.diff(at) @ _SOFT_WEIGHTS


def black_level(frame) -> int:
    """The luma level of black in ``frame``: 0 in full range (JPEG; PyAV names it ``yuvj``)."""
    return 0 if frame.color_range == 2 or frame.format.name.startswith("yuvj") else VIDEO_BLACK
