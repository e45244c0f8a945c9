"""A live-tensor trace for memory tests: the peak bytes of tensor storages alive at once among
those the traced ops create (their inputs, e.g. loaded weights, are not counted)."""

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class LiveBytes(TorchDispatchMode):
    """``peak``: the most bytes alive at once; ``dtype``: count only storages of that dtype (a
    float32 copy of 16-bit weights, say). Meta tensors hold no storage and are not counted."""

    def __init__(self, dtype: torch.dtype | None = None):
        super().__init__()
        self.dtype = dtype
        self.refs, self.sizes, self.now, self.peak = {}, {}, 0, 0

    def _drop(self, key):
        self.refs[key] -= 1
        if not self.refs[key]:
            self.now -= self.sizes.pop(key)
            del self.refs[key]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if (isinstance(t, torch.Tensor) and t.device.type != "meta" and self.dtype in (None, t.dtype)
                    and (key := t.untyped_storage().data_ptr())):
                if key not in self.refs:
                    self.refs[key], self.sizes[key] = 0, t.untyped_storage().nbytes()
                    self.now += self.sizes[key]
                    self.peak = max(self.peak, self.now)
                self.refs[key] += 1
                weakref.finalize(t, self._drop, key)
        return out


def python_peak_bytes(f) -> int:
    """The most memory Python itself allocated while ``f()`` ran (tracemalloc: numpy arrays
    and Python objects, not torch storages): for reads that must stop at what they need."""
    import tracemalloc

    tracemalloc.start()
    try:
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
