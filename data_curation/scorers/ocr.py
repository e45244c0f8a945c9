"""Text area: the share of the frame covered by text boxes that ``rapidocr_onnxruntime``
(PP-OCRv4 detection, models shipped in its wheel) finds on the first, middle and last frames;
the mean over the three (SVD used CRAFT the same way). Only detection runs, not recognition."""

from __future__ import annotations

import numpy as np

_ENGINE = None


def _engine():
    global _ENGINE
    if _ENGINE is None:
        from rapidocr_onnxruntime import RapidOCR

        _ENGINE = RapidOCR()
    return _ENGINE


def _polygon_area(box) -> float:
    x, y = np.asarray(box, float).T
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


class Scorer:
    name, version, inputs = "ocr", 1, ("keys",)
    columns = {"text_area": "float64"}

    def __init__(self, recipe=None):
        self.engine = _engine()

    def score(self, clip) -> dict:
        areas = []
        for k in clip.keys:
            result, _ = self.engine(k[..., ::-1], use_det=True, use_cls=False, use_rec=False)
            boxes = result or []
            total = sum(_polygon_area(b) for b in boxes)
            areas.append(min(1.0, total / (k.shape[0] * k.shape[1])))
        return {"text_area": float(np.mean(areas))}
