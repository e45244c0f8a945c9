"""Text area: the share of the frame covered by text lines that ``rapidocr_onnxruntime``
(PP-OCRv4 detection and recognition, models shipped in its wheel) finds and reads on the first,
middle and last frames; the mean over the three (SVD used CRAFT the same way). A detected box
counts only where the recogniser reads letters or digits in it with confidence >=
:data:`MIN_TEXT_SCORE`: detection alone fires on fur, foliage and spokes (a cat's face covered
10% of its photo; a cyclist was dropped as captioned).

Each kept line is then measured again (:func:`line_boxes`): the first pass's boxes, found on the
512 px key frame, are 1.2-2.5x the text's own box (its height comes out in the detector's
~4 px steps, so a subtitle 5-10 px high reads 13-20 px, and rapidocr widens every box by its
unclip margin). Detected again on its crop magnified to the size the detector was made for, a
line measures 0.9-1.25x its glyphs' bounding box from 1/40 to 1/7.5 of the frame height
(bench/NOTES.md).

Detection on the key frames as they are (:data:`DET_LIMIT_TYPE`) finds subtitles from about
1/25 of the frame height as reliably as rapidocr's default upscaling; smaller ones (under about
1/30: 18-24 px on 720p) are sometimes missed (7-11 of 12 found, against 11-12 upscaled), so a
clip with small subtitles can score a lower ``text_area`` than it has."""

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
# found from about 1/25 of the frame's height (under about 1/30, drawn on a 720p encode, some
# are missed that the default finds), about 4-11x faster (bench/curate.py's OCR rows;
# bench/NOTES.md). The lines found are measured on magnified crops (:func:`line_boxes`).
DET_LIMIT_TYPE = "max"
# The second look at a kept line: its crop (the box and REFINE_MARGIN of its height around it)
# is magnified so the first-pass box is REFINE_HEIGHT px high (its text ~40-80 px, sizes the
# detector reads to a pixel), at most REFINE_MAX_SCALE times and REFINE_PIXELS pixels; a key
# frame's lines share REFINE_FRAME_PIXELS, which bounds the cost of a frame full of text. A
# line whose crop would grow less than MIN_REFINE_SCALE keeps its first-pass box.
REFINE_HEIGHT, REFINE_MAX_SCALE, REFINE_MARGIN = 96, 8.0, 0.25
REFINE_PIXELS = 256 * 256
REFINE_FRAME_PIXELS = 4 * REFINE_PIXELS
MIN_REFINE_SCALE = 1.25


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


def is_text(text: str, score: float, min_score: float = MIN_TEXT_SCORE) -> bool:
    """A recognised line that counts: confident, with at least one letter or digit."""
    return float(score) >= min_score and any(ch.isalnum() for ch in text)


def covered(boxes, height: int, width: int) -> float:
    """Share of an ``height x width`` frame inside the union of ``boxes`` (polygons as point
    lists), at most 1: boxes that overlap (two close lines, words of one line) count once."""
    from shapely.geometry import Polygon, box
    from shapely.ops import unary_union

    polys = [Polygon(np.asarray(b, float)).buffer(0) for b in boxes]
    if not polys:
        return 0.0
    return float(unary_union(polys).intersection(box(0, 0, width, height)).area / (height * width))


def text_area(result, height: int, width: int) -> float:
    """Share of an ``height x width`` frame covered by the boxes of ``result`` (rapidocr's
    ``[[box, text, score], ...]`` or None) that :func:`is_text` keeps, as they were detected."""
    return covered([b for b, text, score in result or [] if is_text(text, score)], height, width)


def _crop_scale(box: np.ndarray, height: int, width: int, budget: float) -> tuple[tuple[int, int, int, int], float]:
    """The crop ``(x0, y0, x1, y1)`` of a ``height x width`` frame around ``box`` and the
    magnification it gets (:data:`REFINE_HEIGHT` and the limits next to it)."""
    import cv2

    h = max(1.0, min(cv2.minAreaRect(box.astype(np.float32))[1]))
    m = REFINE_MARGIN * h
    x0, y0 = np.maximum(np.floor(box.min(0) - m), 0).astype(int)
    x1, y1 = np.ceil(box.max(0) + m).astype(int)
    x1, y1 = min(int(x1), width), min(int(y1), height)
    area = max(1, (x1 - x0) * (y1 - y0))
    scale = min(REFINE_HEIGHT / h, REFINE_MAX_SCALE, (min(REFINE_PIXELS, budget) / area) ** 0.5)
    return (int(x0), int(y0), x1, y1), float(scale)


def line_boxes(frame: np.ndarray, box, budget: float = REFINE_PIXELS) -> list[np.ndarray]:
    """The text of one kept line, ``box`` on the RGB ``frame``, measured on its magnified crop:
    the boxes the detector finds there that lie mostly inside ``box``, in frame coordinates;
    ``[box]`` where the crop would not grow or nothing is found.

    Why: on a key frame small text is a few pixels high and the detector's box about twice that
    (see the module docstring); magnified, the same detector and margins fit the glyphs."""
    import cv2
    from shapely.geometry import Polygon

    box = np.asarray(box, np.float64)
    (x0, y0, x1, y1), scale = _crop_scale(box, *frame.shape[:2], budget)
    if scale < MIN_REFINE_SCALE or x1 <= x0 or y1 <= y0:
        return [box]
    # each side a multiple of 32, so the detector's own resize (to a multiple of 32) is a no-op
    out_w, out_h = (max(32, 32 * round(n * scale / 32)) for n in (x1 - x0, y1 - y0))
    crop = cv2.resize(np.ascontiguousarray(frame[y0:y1, x0:x1, ::-1]), (out_w, out_h), interpolation=cv2.INTER_CUBIC)
    found, _ = _engine().text_det(crop)  # the "max" detector: the crop is read at this size
    sx, sy = out_w / (x1 - x0), out_h / (y1 - y0)
    line = Polygon(box).buffer(0)
    inside = []
    for d in found if found is not None else []:
        b = np.asarray(d, np.float64) / (sx, sy) + (x0, y0)
        p = Polygon(b).buffer(0)
        if p.area > 0 and p.intersection(line).area > 0.5 * p.area:
            inside.append(b)
    return inside or [box]


def frame_text_area(frame: np.ndarray, result) -> float:
    """Share of the RGB ``frame`` covered by the lines of ``result`` (rapidocr's output on it)
    that :func:`is_text` keeps, each measured by :func:`line_boxes`."""
    kept = [b for b, text, score in result or [] if is_text(text, score)]
    budget = REFINE_FRAME_PIXELS / max(1, len(kept))
    boxes = [b for k in kept for b in line_boxes(frame, k, budget)]
    return covered(boxes, *frame.shape[:2])


class Scorer:
    name, version, inputs = "ocr", 4, ("keys",)
    columns = {"text_area": "float64"}

    def __init__(self, recipe=None):
        self.engine = _engine()

    def score(self, clip) -> dict:
        areas = []
        for k in clip.keys:
            # text_score=0: every read comes back, is_text decides (the engine keeps the last kwargs)
            result, _ = self.engine(k[..., ::-1], use_det=True, use_cls=False, use_rec=True, text_score=0.0)
            areas.append(frame_text_area(k, result))
        return {"text_area": float(np.mean(areas))}
