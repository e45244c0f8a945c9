"""Scoring shot-boundary detections against known transitions (precision, recall, F1).

A detection and a true transition are half-open frame ranges ``[start, end)`` (a hard cut has
``start == end``: the first frame of the new shot). They match when they overlap once widened
by ``tol`` frames each side; each truth matches at most one detection, nearest first.
"""

from __future__ import annotations

from collections.abc import Sequence


def match(detected: Sequence[Sequence[int]], truth: Sequence[Sequence[int]], tol: int = 2) -> list[tuple[int, int]]:
    """Pairs (detection index, truth index), one-to-one, nearest centres first."""
    pairs = []
    for i, (s, e) in enumerate(detected):
        for j, (ts, te) in enumerate(truth):
            if s <= te + tol and e >= ts - tol:
                pairs.append((abs((s + e) - (ts + te)), i, j))
    used_d, used_t, out = set(), set(), []
    for _, i, j in sorted(pairs):
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
            out.append((i, j))
    return out


def f1_score(detected: Sequence[Sequence[int]], truth: Sequence[Sequence[int]], tol: int = 2) -> dict:
    """``{"precision", "recall", "f1", "tp", "fp", "fn"}``; an empty truth and no detections is F1 1."""
    tp = len(match(detected, truth, tol))
    fp, fn = len(detected) - tp, len(truth) - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def cuts_to_ranges(cut_frames: Sequence[int]) -> list[list[int]]:
    """Cut frames (first frames of new shots, e.g. PySceneDetect's scene starts) as ranges."""
    return [[int(c), int(c)] for c in cut_frames]
