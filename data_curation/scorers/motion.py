"""Motion: OpenCV Farneback dense optical flow between frames sampled at ``sample_fps`` (2 fps)
on grey frames with a short side of ``motion_short_side`` px, as in SVD's LVD filtering.
Magnitudes are in pixels of that small frame per sample step; ``motion_spread`` is the
spatial standard deviation of the magnitude (global pans are large-mean, small-spread). The
samples are taken by time (:func:`~data_curation.clip_frames.read_clip`), so a variable-rate
source scores as its constant-rate twin (version 3; sampling every step-th decoded frame scored
a jittery phone clip's pan 30-76% low)."""

from __future__ import annotations

import numpy as np


class Scorer:
    name, version, inputs = "motion", 3, ("sampled",)
    columns = {"motion_mean": "float64", "motion_spread": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        import cv2

        f = clip.sampled
        if len(f) < 2:
            return {"motion_mean": None, "motion_spread": None}
        means, spreads = [], []
        for a, b in zip(f[:-1], f[1:], strict=True):
            flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0)
            mag = np.linalg.norm(flow, axis=2)
            means.append(mag.mean())
            spreads.append(mag.std())
        return {"motion_mean": float(np.mean(means)), "motion_spread": float(np.mean(spreads))}
