"""Black and frozen frames: the fraction of frames that are near-black (mean luma < 4.3% of the
full scale, 10% of video-range luma as coded, and flat), and the fraction that show no change
from the frame on screen half a second earlier (:data:`~data_curation.clip_frames.STILL_LAG_S`,
at a 64 px short side): a still image, a freeze frame or a stalled stream. Comparing frames a
fixed time apart keeps the measure independent of the frame rate: a slow pan moves well under a
pixel between neighbouring frames at 60 fps and 10 fps footage repeats each picture in a 30 fps
file, yet neither is frozen. The lag goes by frame time, not count (version 3), so a
variable-rate source is compared over half a second too; version 4 takes the frame on screen
half a second back by timestamp, where 3 rounded the lag to whole frames (12 at 25 fps)."""

from __future__ import annotations

import numpy as np

# luma_mean and luma_std are on the full scale (black 0, whatever the colour range). BLACK_LUMA and
# BLACK_STD are the 0.1 and 0.03 that versions 1-2 applied to video-range luma as coded (black at
# 16/255), brought to that scale: a video-range source is black where it was; a full-range one is
# now judged alike (it counted frames up to luma 25 of 255 as black, its video twin up to 11).
# FROZEN_DIFF (luma as coded): 1/255, above the noise of a re-encoded still, well below the ~0.02
# a 5 px/s pan of a 320x240 photo changes in half a second
BLACK_LUMA, BLACK_STD, FROZEN_DIFF = (0.1 - 16 / 255) * 255 / 219, 0.03 * 255 / 219, 1 / 255


def frozen_fraction(still_diff: np.ndarray, threshold: float = FROZEN_DIFF) -> float | None:
    """The share of frames whose change from the frame half a second earlier is below
    ``threshold``; None for a clip of one frame (nothing to compare)."""
    return float((still_diff < threshold).mean()) if len(still_diff) else None


class Scorer:
    name, version, inputs = "black_frozen", 4, ("luma_mean", "luma_std", "still_diff")
    columns = {"black_fraction": "float64", "frozen_fraction": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        black = (clip.luma_mean < BLACK_LUMA) & (clip.luma_std < BLACK_STD)
        return {"black_fraction": float(black.mean()), "frozen_fraction": frozen_fraction(clip.still_diff)}
