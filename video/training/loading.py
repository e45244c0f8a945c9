"""From a dataset (:mod:`video.training.data`) to the trainer's batches: the sample order
(:func:`make_order`, resumable, bucket-aware), ``data[i]`` surviving unreadable media
(:class:`ItemLoader`), threads loading the coming steps while the model trains
(:class:`Prefetcher`) and the stacking of items into a batch (:func:`collate`). Apart from the
datasets because none of it depends on what an item is, only on the ``len`` / ``data[i]`` /
``keys`` / ``load_at`` / ``order`` interface the datasets and buckets offer.
"""

from __future__ import annotations

import torch


def make_order(data, seed: int, batch: int | None = None):
    """The trainer's sample order: batches within one bucket for a bucketed dataset, else the
    plain per-epoch permutation. Both resume from ``state_dict()`` alone. ``batch``: the global
    batch (batch_size x processes x grad_accum), which a bucketed order plans in, so that every
    split of it takes the same items (the plain order is a stream of items: it needs none)."""
    from video.training.state import ResumableOrder

    return data.order(seed, batch) if hasattr(data, "order") else ResumableOrder(len(data), seed)


def say(line: str) -> None:
    """Print ``line`` (to stdout, as the trainer's other lines) above a running progress bar:
    ``tqdm.write`` clears the bar first and redraws it below, where a plain print landed glued
    onto the bar's unfinished line (the bar draws on stderr with a carriage return, no newline).
    Without a bar it is a plain print."""
    from tqdm import tqdm

    tqdm.write(line)


def unreadable_errors() -> tuple[type[BaseException], ...]:
    """What loading a broken or missing media file raises: our MediaError, OSError (PIL, a
    missing file), PyAV's and decord's errors. Anything else is a bug and stays one."""
    from video.media import MediaError

    errors: list[type[BaseException]] = [MediaError, OSError, EOFError]
    try:
        import av

        errors.append(av.error.FFmpegError)
    except ImportError:
        pass
    try:
        import decord

        errors.append(decord.DECORDError)
    except ImportError:
        pass
    return tuple(errors)


class ItemLoader:
    """The trainer's ``data[i]``, surviving unreadable media: an item whose file cannot be read
    is replaced, with a warning naming it, by the next readable item after it (cyclically)
    of the same shape (the same bucket when bucketed). When every item of its bucket is
    unreadable, the next readable item of another bucket with at least as many frames takes
    its place, loaded at this bucket's frames and size, so the batch still stacks and the run
    goes on while other buckets have readable items. A corrupt file found at step 5000 then
    costs one warning instead of the run, and every resume failing at that step. The
    replacement depends on the index and on which files are broken, not on when they were
    found: the data order, the noise and a resume stay exact. (Checking every file up front
    would mean decoding it: a header probe passes a truncated file.)"""

    def __init__(self, data):
        self.data = data
        self.bad: dict[int, str] = {}  # index -> why it could not be read
        self.bad_files: dict = {}  # file_key -> why: a kohya file's repeats are decoded and warned of once
        self.took: dict[int, int] = {}  # index -> the readable item that took its place
        self._errors = unreadable_errors()
        self._emptied: set = set()  # buckets said to have no readable item left

    def _candidates(self, i: int):
        """``(j, load)`` in the order tried for item ``i``: its own shape's items from ``i`` on
        (cyclically), then, bucketed, other buckets' items long enough for its frame count."""
        keys = getattr(self.data, "keys", None)  # Bucketed: an item's bucket, its shape
        n = len(self.data)
        for j in _ring(i, n):  # lazily: a readable item costs one step, not a list of n
            if keys is None or keys[j] == keys[i]:
                yield j, self.data.__getitem__
        if keys is not None and hasattr(self.data, "load_at"):
            for j in _ring(i, n):
                if keys[j] != keys[i] and keys[j][0] >= keys[i][0]:
                    yield j, lambda j, key=keys[i]: self.data.load_at(j, key)

    def _try(self, j: int, load) -> dict | None:
        if j in self.bad:
            return None
        key = file_key(self.data, j)
        if key in self.bad_files:  # another repeat of a file found unreadable: not decoded again
            self.bad[j] = self.bad_files[key]
            return None
        try:
            return load(j)
        except self._errors as e:
            self.bad[j] = self.bad_files[key] = " ".join(str(e).split()) or type(e).__name__
            say(f"warning: item {j} is unreadable, training on the next readable item instead "
                f"({len(self.bad_files)} so far): {self.bad[j]}")
            return None

    def tried(self, i: int) -> list[int]:
        """The items loading ``i`` read: ``i`` itself, or, when it was replaced, ``i``, the
        unreadable items after it and the one that took its place (a fix of any of them changes
        what ``i`` loads). What the latent cache fingerprints for a replaced item."""
        if i not in self.took:  # read itself (or not yet loaded): no walk over the candidates
            return [i]
        last = self.took[i]
        out = []
        for j, _ in self._candidates(i):
            out.append(j)
            if j == last:
                break
        return out

    def __call__(self, i: int) -> dict:
        keys = getattr(self.data, "keys", None)
        for j, load in self._candidates(i):
            if keys is not None and keys[j] != keys[i] and keys[i] not in self._emptied:
                self._emptied.add(keys[i])
                say(f"warning: no readable item left in the bucket {'x'.join(map(str, keys[i]))}: items of other "
                    "buckets take their place, loaded at its size")
            item = self._try(j, load)
            if item is not None:
                if j != i:
                    self.took[i] = j
                return item
        every = ": every file of the data is unreadable" if len(self.bad) == len(self.data) else ""
        raise ValueError(f"no readable item left to replace item {i} ({len(self.bad_files)} unreadable, "
                         f"item {i}: {self.bad.get(i, 'unknown')}){every}")


def file_key(data, i: int):
    """What decides whether item ``i`` of ``data`` can be read: the file it reads where the
    data says (``data.file_key(i)``: a kohya file's repeats share one), through buckets to their
    base; else the index itself (a manifest's spans of one source can differ in readability)."""
    if hasattr(data, "file_key"):
        return data.file_key(i)
    base, index = getattr(data, "base", None), getattr(data, "index", None)
    if base is not None and index is not None:  # Bucketed: its item j is the base's index[j]
        return file_key(base, index[i])
    return i


def _ring(i: int, n: int):
    """``i, i + 1, ..., n - 1, 0, ..., i - 1``, one at a time."""
    return ((i + k) % n for k in range(n))


def set_step(data, step: int) -> None:
    """Tell the datasets in ``data`` whose items vary from step to step (kohya tag shuffling)
    which step is loading; wrappers pass it on."""
    if hasattr(data, "set_step"):
        data.set_step(step)


class Prefetcher:
    """``num_workers`` threads that load (read, decode, resize) the items of the current step
    and the next ``depth - 1`` ahead, in order, while the model trains: PyAV, PIL, numpy and
    torch release the GIL while they work, so threads overlap decoding with each other and
    with the step, without the copies and start-up of worker processes.

    The batches are the ones ``load`` gives one at a time (``num_workers=0``): the coming
    steps' indices come from a copy of the data order (the trainer's own order still moves
    only as it trains, so its checkpoints hold the trained position), and each load first
    tells the data its step (:func:`set_step`, per thread), so kohya tag shuffles match too.
    ``plan(order)`` takes one micro-batch's indices for this rank from ``order``."""

    def __init__(self, load: ItemLoader, order, plan, accum: int, step: int, last: int, workers: int,
                 depth: int = 2):
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        self.load, self.plan, self.accum = load, plan, accum
        self.ahead = order  # a copy at the trainer's position: see :func:`copy_order`
        self.next_step, self.last, self.depth = step, last, depth
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="train-load")
        self.queue: deque = deque()  # (step, micro, indices, futures), in the order the trainer takes them

    def _load(self, step: int, i: int) -> dict:
        set_step(self.load.data, step)
        return self.load(i)

    def _fill(self) -> None:
        while self.next_step < self.last and len(self.queue) + self.accum <= self.depth * self.accum:
            for micro in range(self.accum):
                idx = self.plan(self.ahead)
                self.queue.append((self.next_step, micro, idx,
                                   [self.pool.submit(self._load, self.next_step, i) for i in idx]))
            self.next_step += 1

    def get(self, step: int, micro: int, idx: list[int]) -> list[dict]:
        """The items of micro-batch ``micro`` of ``step``, whose indices the trainer took: ``idx``."""
        self._fill()
        got_step, got_micro, got_idx, futures = self.queue.popleft()
        if (got_step, got_micro, got_idx) != (step, micro, list(idx)):
            raise RuntimeError(f"prefetch out of step: planned step {got_step} micro {got_micro} {got_idx}, "
                               f"the trainer took step {step} micro {micro} {list(idx)}")
        items = [f.result() for f in futures]
        self._fill()
        return items

    def close(self) -> None:
        for *_, futures in self.queue:
            for f in futures:
                f.cancel()
        self.queue.clear()
        self.pool.shutdown(wait=True)


def copy_order(data, seed: int, order):
    """A second data order at ``order``'s position (orders resume from ``state_dict()`` alone)."""
    twin = make_order(data, seed, getattr(order, "batch", None))
    twin.load_state_dict(order.state_dict())
    return twin


def collate(items: list[dict]) -> dict:
    """Tensors stacked, numbers to a tensor, strings to a list, key by key."""
    out = {}
    for k, v in items[0].items():
        vals = [it[k] for it in items]
        out[k] = torch.stack(vals) if isinstance(v, torch.Tensor) else vals if isinstance(v, str) else torch.tensor(vals)
    return out
