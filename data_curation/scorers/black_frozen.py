"""Black and frozen frames: the fraction of frames that are near-black (mean luma < 10% and
flat), and the fraction whose change from the previous frame is below compression noise."""

from __future__ import annotations

BLACK_LUMA, BLACK_STD, FROZEN_DIFF = 0.1, 0.03, 0.002  # video black is luma 16/255 = 0.063


class Scorer:
    name, version, inputs = "black_frozen", 1, ("luma_mean", "luma_std", "diff")
    columns = {"black_fraction": "float64", "frozen_fraction": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        black = (clip.luma_mean < BLACK_LUMA) & (clip.luma_std < BLACK_STD)
        d = clip.diff[1:]
        frozen = float((d < FROZEN_DIFF).mean()) if len(d) else None
        return {"black_fraction": float(black.mean()), "frozen_fraction": frozen}
