"""Brightness: mean luma of every frame (0..1) and its contrast (mean per-frame luma std), on the
full scale whatever the file's colour range (black 0, white 1; version 3): read as coded, video
black was 16/255 = 0.063 and a full-range (JPEG) copy of a picture had 1.16x the contrast of its
video-range twin."""

from __future__ import annotations


class Scorer:
    name, version, inputs = "brightness", 3, ("luma_mean", "luma_std")
    columns = {"brightness": "float64", "contrast": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        return {"brightness": float(clip.luma_mean.mean()), "contrast": float(clip.luma_std.mean())}
