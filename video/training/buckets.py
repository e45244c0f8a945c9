"""Aspect-ratio and frame-count buckets: items of many shapes trained without stretching them to
one size, each batch drawn from a single bucket so it stacks into one tensor.

A bucket is ``(frames, height, width)``. The sizes ``data.buckets: [[h, w], ...]`` are targets of
about equal area; an item goes to the one nearest its aspect ratio (compared as ``log(h / w)``,
so 2:1 and 1:2 are equally far from 1:1), and to the longest ``data.frame_buckets`` count it has
frames for (an image is a one-frame item). ``BucketOrder`` plays the trainer's
``ResumableOrder`` part: the batches of an epoch, each one optimizer step's global batch, are a
function of (seed, epoch, global batch) alone, and the position in them is all a checkpoint
needs to resume mid-epoch, under any split of that global batch over processes and
accumulation.
"""

from __future__ import annotations

import math
import warnings

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
    cut into batches of ``batch`` in that order (a short last batch is filled from the start of
    the same bucket, so every item is seen and every batch is full); the batches are then
    shuffled by the same generator. ``batch`` is the trainer's global batch, batch_size x
    processes x grad_accum: one optimizer step's items all come from one bucket, and
    ``take(k)`` hands them out ``k`` at a time (the trainer's micro-batch of batch_size x
    processes, of which each rank takes its slice). The plan and the position (items taken
    this epoch) depend on the global batch alone, not on how it is split, so 2 processes x
    batch 1 see what 1 process x grad_accum 2 sees, and a resume that trades processes for
    accumulation continues with the same items. Without ``batch`` the first ``take``'s ``k``
    is the unit (one step of one process without accumulation)."""

    def __init__(self, keys: list, seed: int, batch: int | None = None):
        if batch is not None and batch < 1:
            raise ValueError(f"the global batch must be positive; got {batch}")
        self.keys, self.seed, self.batch = list(keys), seed, batch
        self.epoch, self.items = 0, 0  # items of this epoch's plan taken
        self._legacy_pos: int | None = None  # a checkpoint from before positions counted items
        self._saved_batch: int | None = None  # the global batch a loaded position was taken in
        self._plan: list[list[int]] | None = None
        self._plan_at: tuple[int, int] | None = None  # (epoch, batch) of _plan

    def __len__(self) -> int:
        return len(self.keys)

    def plan(self, epoch: int, k: int) -> list[list[int]]:
        """The batches of ``epoch`` for a (global) batch of ``k`` items."""
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

    def _current(self, n: int) -> list[list[int]]:
        if self._plan is None or self._plan_at != (self.epoch, n):
            self._plan, self._plan_at = self.plan(self.epoch, n), (self.epoch, n)
        return self._plan

    def take(self, k: int) -> list[int]:
        """The next ``k`` items: a slice of the current global batch (``k`` must divide it)."""
        if self.batch is None:
            self.batch = k
            self._rescale()
        n = self.batch
        if k < 1 or n % k:
            raise ValueError(f"bucketed batches: a micro-batch of {k} items does not divide the global batch of {n}")
        if self._legacy_pos is not None:  # its position counted batches of batch_size x processes
            if n != k:
                warnings.warn("this checkpoint is from before bucketed runs planned whole global batches: with "
                              "optim.grad_accum > 1 the batches from here on are not the ones the old plan had "
                              "(as many steps into the epoch; with epochs=N the step count is the new plan's)",
                              stacklevel=2)
            self.items, self._legacy_pos = self._legacy_pos * k, None
        self.items = -(-self.items // k) * k  # a resume with another global batch: the next whole slice
        plan = self._current(n)
        if self.items >= len(plan) * n:  # >=: a resume with other data or batch size may have fewer batches
            self.epoch, self.items = self.epoch + 1, 0
            plan = self._current(n)
        b, s = divmod(self.items, n)
        self.items += k
        return plan[b][s:s + k]

    def batches_per_epoch(self, k: int | None = None) -> int:
        """Global batches (optimizer steps) in an epoch; ``k``: the global batch, if not ``batch``."""
        k = k or self.batch
        if not k:
            raise ValueError("batches_per_epoch needs the global batch")
        counts: dict = {}
        for key in self.keys:
            counts[key] = counts.get(key, 0) + 1
        return sum(math.ceil(c / k) for c in counts.values())

    def state_dict(self) -> dict:
        """The position: the epoch and the items taken in it, with the global batch they were
        taken in (the same for every split of that batch)."""
        if self._legacy_pos is not None:  # an old checkpoint's position not yet taken up: kept as it was
            return {"epoch": self.epoch, "pos": self._legacy_pos}
        return {"epoch": self.epoch, "items": self.items, "batch": self.batch}

    def load_state_dict(self, s: dict) -> None:
        self.epoch = int(s["epoch"])
        if "items" in s:
            self.items, self._legacy_pos = int(s["items"]), None
            self._saved_batch = int(s["batch"]) if s.get("batch") else None
            self._rescale()
        else:  # older checkpoints: "pos" batches of the first take's size
            self.items, self._legacy_pos, self._saved_batch = 0, int(s["pos"]), None
        self._plan = None

    def _rescale(self) -> None:
        """A checkpoint taken with another global batch resumes as many steps into the epoch
        (its batches are other ones anyway: the plan depends on the global batch)."""
        old, new = self._saved_batch, self.batch
        if old and new and old != new:
            self.items = -(-self.items // old) * new
        if new:
            self._saved_batch = None


def bucket_lists(buckets: list, frame_buckets: list, frames: int, height: int, width: int,
                 one_frame: bool = False) -> tuple[list[list[int]], list[int]]:
    """``data.buckets`` and ``data.frame_buckets`` with the one not set taken from the config's
    fixed shape, as an unbucketed run would train: sizes ``[[height, width]]``, frame counts
    ``[frames]`` (``[1]`` when ``one_frame``: an image folder alone is one frame at any
    ``data.frames``). An empty list would keep each item's own size or length, so setting only
    one of them trained every item at its full resolution, or every clip whole, each alone
    in its bucket."""
    hw = [[int(h), int(w)] for h, w in buckets] or [[int(height), int(width)]]
    counts = [int(f) for f in frame_buckets] or [1 if one_frame else int(frames)]
    return hw, counts


def _talks() -> bool:
    """Under torchrun only rank 0 prints (every rank builds the dataset)."""
    import os

    return os.environ.get("RANK", "0") == "0"


class Bucketed(torch.utils.data.Dataset):
    """A dataset seen through buckets: item ``j`` is the base item ``index[j]`` loaded at its
    bucket's frames and size (resize to cover, centre crop). The base dataset provides
    ``native_size(i) -> (frames, height, width)`` (read from headers, not decoded) and
    ``load(i, frames, height, width) -> item``. Items that fit no frame bucket are left out,
    and so are items whose size cannot be read (a broken file: it has no bucket), each with
    a warning naming it, as the unbucketed run skips them when it loads them."""

    WARN = 10  # unreadable files named one by one; the rest are counted in the summary line

    def __init__(self, base, hw: list[list[int]], frame_counts: list[int]):
        from video.training.loading import unreadable_errors

        self.base = base
        hw_t = [(int(h), int(w)) for h, w in hw]
        errors = unreadable_errors()
        sizes: list[tuple[int, int, int] | None] = []
        self.unreadable: dict[int, str] = {}  # base index -> why its size could not be read
        for i in range(len(base)):
            try:
                sizes.append(base.native_size(i))
            except errors as e:
                sizes.append(None)
                self.unreadable[i] = " ".join(str(e).split()) or type(e).__name__
                if _talks() and len(self.unreadable) <= self.WARN:
                    print(f"warning: item {i} is unreadable, left out of the buckets: {self.unreadable[i]}")
        readable = [i for i, s in enumerate(sizes) if s is not None]
        fitted = assign_buckets([sizes[i] for i in readable], hw_t, [int(f) for f in frame_counts])
        keys: list[Bucket | None] = [None] * len(base)
        for i, k in zip(readable, fitted, strict=True):
            keys[i] = k
        self.index = [i for i, k in enumerate(keys) if k is not None]
        self.keys = [keys[i] for i in self.index]
        self.short = len(readable) - len(self.index)
        self.dropped = len(base) - len(self.index)
        if self.unreadable and _talks():
            more = len(self.unreadable) - self.WARN
            print(f"warning: {len(self.unreadable)} of {len(base)} items left out of the buckets: their size "
                  "could not be read" + (f" ({more} more than those named)" if more > 0 else ""))
        if not self.index:
            if len(self.unreadable) == len(base):
                raise ValueError(f"no item's size could be read for the buckets ({len(base)} unreadable, e.g. "
                                 f"{next(iter(self.unreadable.values()))})")
            raise ValueError(f"no item fits the frame buckets {list(frame_counts)}")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, j: int) -> dict:
        return self.base.load(self.index[j], *self.keys[j])

    def load_at(self, j: int, bucket: Bucket) -> dict:
        """Item ``j`` loaded at another bucket's frames and size (a replacement for an
        unreadable item of that bucket: the batch still stacks)."""
        return self.base.load(self.index[j], *bucket)

    def set_step(self, step: int) -> None:
        if hasattr(self.base, "set_step"):
            self.base.set_step(step)

    def order(self, seed: int, batch: int | None = None) -> BucketOrder:
        """The batch order for a global batch of ``batch`` items (see :class:`BucketOrder`)."""
        return BucketOrder(self.keys, seed, batch)

    def describe(self) -> str:
        counts: dict = {}
        for k in self.keys:
            counts[k] = counts.get(k, 0) + 1
        parts = ", ".join(f"{f}x{h}x{w}: {n}" for (f, h, w), n in sorted(counts.items()))
        base = f"{self.base.describe()}; " if hasattr(self.base, "describe") else ""
        return f"{base}buckets (frames x height x width: items) {parts}" + (
            f"; {self.short} items shorter than every frame bucket left out" if self.short else "") + (
            f"; {len(self.unreadable)} unreadable items left out" if self.unreadable else "")
