"""Motion: OpenCV Farneback dense optical flow between frames sampled at ``sample_fps`` (2 fps)
on full-scale grey frames (black 0, white 255 whatever the file's colour range) with a short
side of ``motion_short_side`` px, as in SVD's LVD filtering.
Magnitudes are in pixels of that small frame per ``1 / sample_fps`` seconds; ``motion_spread``
is the spatial standard deviation of the magnitude (global pans are large-mean, small-spread).
The samples are taken by time (:func:`~data_curation.clip_frames.read_clip`), so a
variable-rate source scores as its constant-rate twin (version 3; sampling every step-th
decoded frame scored a jittery phone clip's pan 30-76% low). A slot between two frames (every
12.5 frames at 25 fps) takes the nearest, and each pair's flow is brought to the nominal
interval by the pair's real time apart (version 4: with the step rounded to whole frames, one
pan scored 4% lower at 25 fps than at 24, 30 or 60, and the 25 fps copy lost a quantile rule;
and the samples are full-scale luma: Farneback is not contrast-invariant, and a video-range
file's 16-235 luma as coded scored a pan 3% below its full-range copy and ``video eval``).

The score saturates: Farneback (3 pyramid levels, a 9 px window) reads a few percent low within
its range and loses track past a few px per sample step, where a faster pan scores lower, not
higher. Measured on a panning texture: at a 64 px short side it is read to about 6-7 px per
step and then falls (8 px scored 2.9); at 16 px to about 3 (4 px scored 1.4). Real pans on a
320x240 25 fps clip at 64 px: 4 px a frame (13.3 px per step) scored 5.03, 8 px a frame (26.7)
4.04. So ``motion_mean`` ranks slow and moderate motion, and cannot tell a fast pan from a
moderate one; an upper bound on it keeps fast clips it should drop."""

from __future__ import annotations

import numpy as np


class Scorer:
    name, version, inputs = "motion", 4, ("sampled", "sample_times", "sample_fps")
    columns = {"motion_mean": "float64", "motion_spread": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        """``clip``: a :class:`~data_curation.clip_frames.ClipFrames`, or anything with
        ``sampled`` frames; without ``sample_times`` they are taken as exactly one step apart."""
        import cv2

        f = clip.sampled
        times = getattr(clip, "sample_times", None)
        nominal = 1.0 / clip.sample_fps if times is not None else None
        means, spreads = [], []
        for j, (a, b) in enumerate(zip(f[:-1], f[1:], strict=True)):
            scale = 1.0
            if times is not None:
                dt = float(times[j + 1] - times[j])
                if dt <= 0:  # timestamps out of order: no time to measure a speed over
                    continue
                scale = nominal / dt
            flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0)
            mag = np.linalg.norm(flow, axis=2)
            means.append(mag.mean() * scale)
            spreads.append(mag.std() * scale)
        if not means:
            return {"motion_mean": None, "motion_spread": None}
        return {"motion_mean": float(np.mean(means)), "motion_spread": float(np.mean(spreads))}
