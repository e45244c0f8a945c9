"""One attention function for every model of ours, behind one switch.

``sdpa`` (default) is torch's ``scaled_dot_product_attention``, which picks flash, cuDNN or
memory-efficient kernels on a GPU and runs on a CPU with the same result; ``xformers`` is
used when installed and asked for; ``math`` spells the product out (softmax(QK^T/sqrt d) V),
a reference for tests and FLOP counters. Tensors are (batch, heads, tokens, head_dim).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_BACKEND = "sdpa"


def set_attention_backend(name: str) -> None:
    global _BACKEND
    if name not in ("sdpa", "xformers", "math"):
        raise ValueError(f"unknown attention backend {name!r}; choose sdpa, xformers or math")
    if name == "xformers":
        try:
            import xformers.ops  # noqa: F401
        except ImportError:
            raise ValueError("attention backend 'xformers' needs `pip install xformers`") from None
    _BACKEND = name


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    if _BACKEND == "xformers":
        import xformers.ops as xops

        out = xops.memory_efficient_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return out.transpose(1, 2)
    if _BACKEND == "math":
        w = torch.softmax((q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5, dim=-1)
        return w @ v
    return F.scaled_dot_product_attention(q, k, v)
