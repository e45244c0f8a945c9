"""Brightness: mean luma of every frame (0..1) and its contrast (mean per-frame luma std)."""

from __future__ import annotations


class Scorer:
    name, version, inputs = "brightness", 2, ("luma_mean", "luma_std")
    columns = {"brightness": "float64", "contrast": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        return {"brightness": float(clip.luma_mean.mean()), "contrast": float(clip.luma_std.mean())}
