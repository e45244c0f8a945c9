"""Aspect-ratio and frame-count buckets: items of many shapes trained without stretching them to
one size, each batch drawn from a single bucket so it stacks into one tensor.

A bucket is ``(frames, height, width)``. The sizes ``data.buckets: [[h, w], ...]`` are targets of
about equal area; an item goes to the one nearest its aspect ratio (compared as ``log(h / w)``,
so 2:1 and 1:2 are equally far from 1:1), and to the longest ``data.frame_buckets`` count it has
frames for (an image is a one-frame item). ``BucketOrder`` plays the trainer's
``ResumableOrder`` part: the batches of an epoch are a function of (seed, epoch) alone, and the
position in them is all a checkpoint needs to resume mid-epoch.
"""

from __future__ import annotations

import math

import torch

Bucket = tuple[int, int, int]  # (frames, height, width)


def nearest_aspect(height: int, width: int, sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The ``(h, w)`` of ``sizes`` whose aspect ratio is nearest ``height / width`` in log space
    (the first of equals)."""
    a = math.log(height / width)
    return min(sizes, key=lambda s: abs(math.log(s[0] / s[1]) - a))


def frame_bucket(frames: int, counts: list[int]) -> int | None:
    """The longest allowed frame count the item has frames for; ``None`` when it is shorter
    than all of them (an image only fits a bucket of 1)."""
    fits = [c for c in counts if c <= frames]
    return max(fits) if fits else None


def assign_buckets(sizes: list[tuple[int, int, int]], hw: list[tuple[int, int]],
                   frame_counts: list[int]) -> list[Bucket | None]:
    """``(frames, height, width)`` of each item -> its bucket ``(frames, h, w)``, or ``None``
    where no frame count fits. Empty ``hw`` keeps each item's size; empty ``frame_counts``
    keeps its frames."""
    out: list[Bucket | None] = []
    for f, h, w in sizes:
        fb = frame_bucket(f, frame_counts) if frame_counts else f
        if fb is None:
            out.append(None)
            continue
        bh, bw = nearest_aspect(h, w, hw) if hw else (h, w)
        out.append((fb, bh, bw))
    return out


class BucketOrder:
    """Batches drawn within one bucket, epoch by epoch, as ``ResumableOrder`` does for items.

    Each epoch: a permutation seeded by (seed, epoch) orders the items; each bucket's items are
    cut into batches of ``k`` in that order (a short last batch is filled from the start of the
    same bucket, so every item is seen and every batch has ``k`` items); the batches are then
    shuffled by the same generator. ``take(k)`` returns the next batch, a list of ``k`` item
    indices. ``k`` is the trainer's global batch (batch size x ranks): each rank's slice of a
    batch comes from the same bucket too."""

    def __init__(self, keys: list, seed: int):
        self.keys, self.seed = list(keys), seed
        self.epoch, self.pos = 0, 0
        self._plan: list[list[int]] | None = None
        self._k: int | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def plan(self, epoch: int, k: int) -> list[list[int]]:
        """The batches of ``epoch`` for a batch size of ``k``."""
        g = torch.Generator().manual_seed(self.seed * 100003 + epoch)
        perm = torch.randperm(len(self.keys), generator=g).tolist()
        groups: dict = {}
        for i in perm:
            groups.setdefault(self.keys[i], []).append(i)
        batches = []
        for items in groups.values():  # insertion order follows perm: no dependence on key sorting
            for s in range(0, len(items), k):
                b = items[s:s + k]
                while len(b) < k:
                    b = b + items[:k - len(b)]
                batches.append(b)
        order = torch.randperm(len(batches), generator=g).tolist()
        return [batches[j] for j in order]

    def take(self, k: int) -> list[int]:
        if self._plan is None or self._k != k:
            self._k, self._plan = k, self.plan(self.epoch, k)
        if self.pos >= len(self._plan):  # >: a resume with other data or batch size has fewer batches
            self.epoch, self.pos = self.epoch + 1, 0
            self._plan = self.plan(self.epoch, k)
        batch = self._plan[self.pos]
        self.pos += 1
        return batch

    def batches_per_epoch(self, k: int) -> int:
        counts: dict = {}
        for key in self.keys:
            counts[key] = counts.get(key, 0) + 1
        return sum(math.ceil(c / k) for c in counts.values())

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, s: dict) -> None:
        self.epoch, self.pos = int(s["epoch"]), int(s["pos"])
        self._plan = None  # rebuilt for this epoch at the next take(k)


class Bucketed(torch.utils.data.Dataset):
    """A dataset seen through buckets: item ``j`` is the base item ``index[j]`` loaded at its
    bucket's frames and size (resize to cover, centre crop). The base dataset provides
    ``native_size(i) -> (frames, height, width)`` (read from headers, not decoded) and
    ``load(i, frames, height, width) -> item``. Items that fit no frame bucket are left out."""

    def __init__(self, base, hw: list[list[int]], frame_counts: list[int]):
        self.base = base
        hw_t = [(int(h), int(w)) for h, w in hw]
        sizes = [base.native_size(i) for i in range(len(base))]
        keys = assign_buckets(sizes, hw_t, [int(f) for f in frame_counts])
        self.index = [i for i, k in enumerate(keys) if k is not None]
        self.keys = [keys[i] for i in self.index]
        self.dropped = len(base) - len(self.index)
        if not self.index:
            raise ValueError(f"no item fits the frame buckets {list(frame_counts)}")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, j: int) -> dict:
        return self.base.load(self.index[j], *self.keys[j])

    def set_step(self, step: int) -> None:
        if hasattr(self.base, "set_step"):
            self.base.set_step(step)

    def order(self, seed: int) -> BucketOrder:
        return BucketOrder(self.keys, seed)

    def describe(self) -> str:
        counts: dict = {}
        for k in self.keys:
            counts[k] = counts.get(k, 0) + 1
        parts = ", ".join(f"{f}x{h}x{w}: {n}" for (f, h, w), n in sorted(counts.items()))
        base = f"{self.base.describe()}; " if hasattr(self.base, "describe") else ""
        return f"{base}buckets (frames x height x width: items) {parts}" + (
            f"; {self.dropped} items shorter than every frame bucket left out" if self.dropped else "")
