"""Text area: the share of the frame covered by text lines that ``rapidocr_onnxruntime``
(PP-OCRv4 detection and recognition, models shipped in its wheel) finds and reads on the first,
middle and last frames; the mean over the three (SVD used CRAFT the same way). A detected box
counts only where the recogniser reads letters or digits in it with confidence >=
:data:`MIN_TEXT_SCORE`: detection alone fires on fur, foliage and spokes (a cat's face covered
10% of its photo; a cyclist was dropped as captioned)."""

from __future__ import annotations

import sys

import numpy as np

_ENGINE = None
MIN_TEXT_SCORE = 0.5  # rapidocr's own default ``text_score``
# How the detector sizes its input. rapidocr's wheel config is "min" 736: the shorter side is
# scaled up to 736 px, made for document photos; on our key frames (longest side <=
# KEY_MAX_SIDE, 512) that is about 2.5x (6.5x the pixels) before detection. With "max" rapidocr
# picks its own side length (960, 1500 or 2000 by the frame's size; the value given is ignored)
# and only shrinks larger frames, so the key frames are read as they are: the same subtitles
# found down to 1/30 of the frame's height, about 4-11x faster (bench/curate.py's OCR rows;
# bench/NOTES.md).
DET_LIMIT_TYPE = "max"


def task_cpus() -> int | None:
    """The CPUs Ray gave the task this process is running, or None outside a Ray task.

    onnxruntime sizes its thread pool to every core of the machine and, unlike torch, does not
    follow the ``OMP_NUM_THREADS`` Ray sets for a task; with one OCR worker per core, each
    worker would run a pool as large as the machine."""
    ray = sys.modules.get("ray")  # only a Ray worker has it imported for us: never import it here
    if ray is None or not ray.is_initialized():
        return None
    ctx = ray.get_runtime_context()
    if ctx.worker.mode != ray.WORKER_MODE:  # the driver (a local run inside a Ray session)
        return None
    cpus = ctx.get_assigned_resources().get("CPU")
    return max(1, int(cpus)) if cpus else None


def _engine():
    global _ENGINE
    if _ENGINE is None:
        from rapidocr_onnxruntime import RapidOCR

        threads = task_cpus()  # None: onnxruntime's default, one thread per core
        kw = {"intra_op_num_threads": threads, "inter_op_num_threads": 1} if threads else {}
        _ENGINE = RapidOCR(det_limit_type=DET_LIMIT_TYPE, **kw)
    return _ENGINE


def _polygon_area(box) -> float:
    x, y = np.asarray(box, float).T
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def is_text(text: str, score: float, min_score: float = MIN_TEXT_SCORE) -> bool:
    """A recognised line that counts: confident, with at least one letter or digit."""
    return float(score) >= min_score and any(ch.isalnum() for ch in text)


def text_area(result, height: int, width: int) -> float:
    """Share of an ``height x width`` frame covered by the boxes of ``result`` (rapidocr's
    ``[[box, text, score], ...]`` or None) that :func:`is_text` keeps, at most 1."""
    total = sum(_polygon_area(box) for box, text, score in result or [] if is_text(text, score))
    return min(1.0, total / (height * width))


class Scorer:
    name, version, inputs = "ocr", 3, ("keys",)
    columns = {"text_area": "float64"}

    def __init__(self, recipe=None):
        self.engine = _engine()

    def score(self, clip) -> dict:
        areas = []
        for k in clip.keys:
            # text_score=0: every read comes back, is_text decides (the engine keeps the last kwargs)
            result, _ = self.engine(k[..., ::-1], use_det=True, use_cls=False, use_rec=True, text_score=0.0)
            areas.append(text_area(result, k.shape[0], k.shape[1]))
        return {"text_area": float(np.mean(areas))}
