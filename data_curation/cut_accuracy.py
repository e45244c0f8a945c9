"""Scoring shot-boundary detections against known transitions (precision, recall, F1).

A detection and a true transition are half-open frame ranges ``[start, end)`` (a hard cut has
``start == end``: the first frame of the new shot). They match when they overlap once widened
by ``tol`` frames each side; each truth matches at most one detection, and as many pairs are
made as can be (a maximum matching), so the score does not depend on the order of either list.
"""

from __future__ import annotations

from collections.abc import Sequence


def match(detected: Sequence[Sequence[int]], truth: Sequence[Sequence[int]], tol: int = 2) -> list[tuple[int, int]]:
    """Pairs (detection index, truth index), one-to-one and as many as can be, sorted.

    Why not nearest first: two cuts found at 10 and 14 against true ones at 8 and 12 (``tol`` 2)
    paired 10 with 12 first and left 14 and 8 apart, F1 0.5, or 1.0 with the truth listed in
    the other order. Each detection here tries the truths nearest its centre first and takes one
    from an earlier detection only where that one can move to another (an augmenting path)."""
    near = [[j for _, j in sorted((abs((s + e) - (ts + te)), j) for j, (ts, te) in enumerate(truth)
                                  if s <= te + tol and e >= ts - tol)]
            for s, e in detected]
    owner: dict[int, int] = {}  # truth index -> detection index
    for i in range(len(detected)):
        _augment(i, near, owner)
    return sorted((i, j) for j, i in owner.items())


def _augment(root: int, near: list[list[int]], owner: dict[int, int]) -> bool:
    """Match detection ``root`` to a free truth, moving matched detections along one path of
    alternate truths (depth first, without recursion: a long run of close cuts is one long path)."""
    seen: set[int] = set()
    stack, path = [(root, iter(near[root]))], []  # path[k]: the truth stack[k] takes from stack[k + 1]
    while stack:
        i, options = stack[-1]
        for j in options:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner:
                owner[j] = i
                for (d, _), t in zip(stack[:-1], path, strict=True):
                    owner[t] = d
                return True
            path.append(j)
            stack.append((owner[j], iter(near[owner[j]])))
            break
        else:
            stack.pop()
            if path:
                path.pop()
    return False


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
