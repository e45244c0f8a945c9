"""Brightness: mean luma of every frame (0..1) and its contrast (mean per-frame luma std), on the
full scale whatever the file's colour range (black 0, white 1; version 3): read as coded, video
black was 16/255 = 0.063 and a full-range (JPEG) copy of a picture had 1.16x the contrast of its
video-range twin. Both are measured on each frame shrunk (area-averaged) to a 32 px short side,
the same for every source size, so ``contrast`` is the spread of the picture's broad light and
dark, not of its fine texture or noise: a sharp texture that averages to grey at 32 px scores
low, and a 4K and a 360p copy of a scene score alike."""

from __future__ import annotations


class Scorer:
    name, version, inputs = "brightness", 3, ("luma_mean", "luma_std")
    columns = {"brightness": "float64", "contrast": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        return {"brightness": float(clip.luma_mean.mean()), "contrast": float(clip.luma_std.mean())}
