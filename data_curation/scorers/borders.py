"""Letterbox/pillarbox borders: uniform dark bars at the top/bottom or left/right of the key
frames. ``border_fraction`` is the share of the frame area they cover."""

from __future__ import annotations

import numpy as np

DARK, FLAT = 24, 6  # 8-bit mean and std of a bar line


def _bar(lines: np.ndarray) -> int:
    """How many leading lines (rows of ``lines``) are dark and flat."""
    ok = (lines.mean(1) < DARK) & (lines.std(1) < FLAT)
    return int(np.argmin(ok)) if not ok.all() else len(ok)


class Scorer:
    name, version, inputs = "borders", 1, ("keys",)
    columns = {"border_fraction": "float64"}

    def __init__(self, recipe=None):
        pass

    def score(self, clip) -> dict:
        fracs = []
        for k in clip.keys:
            g = k.mean(2)
            h, w = g.shape
            top, bottom = _bar(g), _bar(g[::-1])
            left, right = _bar(g.T), _bar(g.T[::-1])
            if top + bottom >= h or left + right >= w:  # an all-dark frame has no picture to frame
                fracs.append(0.0)
                continue
            fracs.append(1 - (h - top - bottom) * (w - left - right) / (h * w))
        return {"border_fraction": float(np.median(fracs))}
