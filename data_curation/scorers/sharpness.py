"""Sharpness: variance of the Laplacian of the grey key frames (first/middle/last), the
classic focus measure; blurry or heavily compressed clips score low."""

from __future__ import annotations

import numpy as np


class Scorer:
    name, version, inputs = "sharpness", 1, ("keys",)
    columns = {"sharpness": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        import cv2

        vals = [cv2.Laplacian(cv2.cvtColor(k, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for k in clip.keys]
        return {"sharpness": float(np.mean(vals))}
