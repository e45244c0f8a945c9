"""Black and frozen frames: the fraction of frames that are near-black (mean luma < 10% and
flat), and the fraction that show no change from the frame half a second earlier
(:data:`~data_curation.clip_frames.STILL_LAG_S`, at a 64 px short side): a still image, a
freeze frame or a stalled stream. Comparing frames a fixed time apart keeps the measure
independent of the frame rate: a slow pan moves well under a pixel between neighbouring frames
at 60 fps and 10 fps footage repeats each picture in a 30 fps file, yet neither is frozen."""

from __future__ import annotations

import numpy as np

# video black is luma 16/255 = 0.063; FROZEN_DIFF: 1/255, above the noise of a re-encoded still,
# well below the ~0.02 a 5 px/s pan of a 320x240 photo changes in half a second
BLACK_LUMA, BLACK_STD, FROZEN_DIFF = 0.1, 0.03, 1 / 255


def frozen_fraction(still_diff: np.ndarray, threshold: float = FROZEN_DIFF) -> float | None:
    """The share of frames whose change from the frame half a second earlier is below
    ``threshold``; None for a clip of one frame (nothing to compare)."""
    return float((still_diff < threshold).mean()) if len(still_diff) else None


class Scorer:
    name, version, inputs = "black_frozen", 2, ("luma_mean", "luma_std", "still_diff")
    columns = {"black_fraction": "float64", "frozen_fraction": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        black = (clip.luma_mean < BLACK_LUMA) & (clip.luma_std < BLACK_STD)
        return {"black_fraction": float(black.mean()), "frozen_fraction": frozen_fraction(clip.still_diff)}
