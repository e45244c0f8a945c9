"""Letterbox/pillarbox borders: uniform black bars at the top/bottom or left/right of the key
frames. ``border_fraction`` is the share of the frame area they cover.

A bar is black or near-black, flat, the same on every key frame, and ends at a clear edge to a
brighter picture. Dark lines alone are not enough: a dim scene (a cat photo at 15% brightness)
has dark, smooth rows at its edges that shade into the picture, and read as 96% border."""

from __future__ import annotations

import numpy as np

# A bar line: mean below DARK and std below FLAT, in 8-bit RGB (averaged over the channels).
# Video black (luma 16) decodes to 0 and the near-black bars of real encodes (luma 16-20, with
# compression noise) to under ~6; DARK 10 is about luma 25, ffmpeg cropdetect's limit of 24.
DARK, FLAT = 10, 4
# The bar must end at an edge: the picture next to it has its 95th percentile at least EDGE
# above the bar's. A dim scene shades gradually into its dark corners and has no such edge.
EDGE = 10
EDGE_LINES = 3  # picture lines looked at past the bar (after the one line resizing may blend)
MAX_SIDE = 0.4  # a "bar" over more than this share of the height (width) is a dark picture


def _run(lines: np.ndarray) -> int:
    """How many leading lines (rows of ``lines``) are dark and flat."""
    ok = (lines.mean(1) < DARK) & (lines.std(1) < FLAT)
    return int(np.argmin(ok)) if not ok.all() else len(ok)


def _edge(lines: np.ndarray, n: int) -> bool:
    """Whether the picture past ``n`` leading bar lines is clearly brighter than the bar."""
    pic = lines[n + 1 : n + 1 + EDGE_LINES]
    if n == 0 or not len(pic):
        return False
    return float(np.percentile(pic, 95)) >= float(np.percentile(lines[:n], 95)) + EDGE


def _side(frames: list[np.ndarray]) -> int:
    """Bar lines at the start of every one of ``frames`` (each: lines x pixels, gray).

    A real bar is the same on every key frame: the bar is the shortest dark run, and it counts
    only where it ends at a clear edge on at least one frame (the others may have dark picture
    next to it) and covers at most MAX_SIDE of the frame."""
    n = min(_run(f) for f in frames)
    if n > MAX_SIDE * len(frames[0]) or not any(_edge(f, n) for f in frames):
        return 0
    return n


class Scorer:
    name, version, inputs = "borders", 2, ("keys",)
    columns = {"border_fraction": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        grays = [k.mean(2) for k in clip.keys]
        # an all-dark frame (a fade, a black frame) has no picture to frame: it says nothing
        grays = [g for g in grays if _run(g) < len(g)]
        if not grays:
            return {"border_fraction": 0.0}
        h, w = grays[0].shape
        top, bottom = _side(grays), _side([g[::-1] for g in grays])
        left, right = _side([g.T for g in grays]), _side([g.T[::-1] for g in grays])
        return {"border_fraction": float(1 - (h - top - bottom) * (w - left - right) / (h * w))}
