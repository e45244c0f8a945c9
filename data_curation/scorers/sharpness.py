"""Sharpness: variance of the Laplacian of Gaussian (sigma 1 px) of the first/middle/last
frames' luma, the classic focus measure; blurry clips score low.

Measured at one working size, :data:`~data_curation.clip_frames.SHARP_SHORT_SIDE` (180 px
short side, reached in one resampling from the decoded frame), so that it does not rank by
resolution: at native size the variance falls with the square of the scale, and the same scene
scored about six times lower at 1280x960 than at 320x240. The Gaussian makes it measure detail a
few pixels across rather than single-pixel steps, which resampling, aliased rendering and
compression noise change from copy to copy. Detail finer than the working size does not count:
a 720p clip upscaled from 180p scores about as a native one (it is as sharp at 180 px). The luma
is on the full 0..255 scale whatever the file's colour range (version 3): read as coded, a
video-range (16..235) copy scored (219/255)^2 = 0.74 of its full-range (JPEG) twin, so webcam
and MJPEG sources won the "sharper" near-duplicate tie-breaks; video-range clips now score 1.36x
what versions 1-2 gave them."""

from __future__ import annotations

import numpy as np

SIGMA = 1.0


def log_variance(grey: np.ndarray, sigma: float = SIGMA) -> float:
    """Variance of the Laplacian (4-neighbour) of ``grey`` smoothed by a Gaussian of ``sigma`` px."""
    import cv2

    g = cv2.GaussianBlur(grey.astype(np.float64), (0, 0), sigma)
    return float(cv2.Laplacian(g, cv2.CV_64F).var())


class Scorer:
    name, version, inputs = "sharpness", 3, ("key_luma",)
    columns = {"sharpness": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        return {"sharpness": float(np.mean([log_variance(k) for k in clip.key_luma]))}
