"""Bytes each kind of kernel moves in one forward: our DiT beside diffusers' Wan transformer.

    python bench/traffic.py                  # dit_l vs Wan 1.3B, 81 and 33 frames at 480x832, bf16
    python bench/traffic.py --size tiny      # the same script on the tiny sizes (seconds)

No GPU and no weights: both models are built on the ``meta`` device and run under a dispatch
mode that records every aten op that allocates its output (views are free), with the bytes it
reads and writes. Attention is replaced by an empty result of the right shape and counted apart
(q, k, v read, output written: what a fused kernel moves). GEMMs (mm, addmm, bmm, convolution)
are one class; everything else is listed by op. The totals predict eager time that is bound
by memory traffic rather than by matmul rate: at ~3.4 TB/s (H100 HBM3) every 100 GB is ~30 ms.
It is a count, not a timing: which kernels dominate on the card is for the GPU profile
(``bench/txt2vid.py --profile``) to say.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from txt2vid import SIZES  # noqa: E402  (bench/txt2vid.py: the same two models at the same sizes)

from video.atomic import atomic_file  # noqa: E402
from video.config import CONFIG_DIR, load_config  # noqa: E402
from video.models.dit import DiT, DiTConfig  # noqa: E402
from video.runtime.txt2vid import cast_keeping_fp32  # noqa: E402

GEMM = {"mm", "addmm", "bmm", "baddbmm", "convolution", "matmul", "linear"}
# ops that allocate without reading (factories) or only relabel memory
UNCOUNTED = {"empty", "empty_like", "new_empty", "empty_strided", "zeros", "ones", "full", "arange",
             "scalar_tensor", "_unsafe_view", "lift_fresh"}


def nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


class TrafficCounter(TorchDispatchMode):
    """Per op name: calls and bytes read + written, for ops whose output is new memory."""

    def __init__(self):
        super().__init__()
        self.bytes: collections.Counter = collections.Counter()
        self.calls: collections.Counter = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func._schema.name.split("::")[-1]
        ret = func._schema.returns
        if (ret and ret[0].alias_info is not None and not ret[0].alias_info.is_write) or name in UNCOUNTED:
            return out  # a view of its input, or a factory
        key = "GEMM" if name in GEMM else name
        self.bytes[key] += nbytes(tree_leaves((args, kwargs))) + nbytes(tree_leaves(out))
        self.calls[key] += 1
        return out


class AttentionStub:
    """Stands in for ``F.scaled_dot_product_attention``: counts a fused kernel's traffic (q, k, v
    in, one output) and returns an empty tensor, so no N^2 matrix is built on meta."""

    def __init__(self):
        self.bytes = 0
        self.calls = 0

    def __call__(self, query, key, value, *args, **kwargs):
        out = query.new_empty(query.shape[:-1] + (value.shape[-1],))
        self.bytes += nbytes((query, key, value, out))
        self.calls += 1
        return out


def count(fn, *inputs) -> dict:
    stub, counter = AttentionStub(), TrafficCounter()
    real = F.scaled_dot_product_attention
    F.scaled_dot_product_attention = stub
    try:
        with torch.no_grad(), counter:
            fn(*inputs)
    finally:
        F.scaled_dot_product_attention = real
    other = {k: v for k, v in counter.bytes.items() if k != "GEMM"}
    return {"gemm_gb": counter.bytes["GEMM"] / 1e9, "gemm_calls": counter.calls["GEMM"],
            "attention_gb": stub.bytes / 1e9, "attention_calls": stub.calls,
            "other_gb": sum(other.values()) / 1e9, "other_calls": sum(counter.calls[k] for k in other),
            "by_op": {k: {"gb": v / 1e9, "calls": counter.calls[k]}
                      for k, v in sorted(other.items(), key=lambda kv: -kv[1])}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="l")
    ap.add_argument("--frames", default="81,33", help="comma list of video frame counts (4k+1)")
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=832)
    ap.add_argument("--text-len", type=int, default=512)
    ap.add_argument("--json", default="bench/results/traffic.json")
    args = ap.parse_args()
    from diffusers import WanTransformer3DModel

    ours_name, wan_kw = SIZES[args.size]
    cfg = load_config(DiTConfig, CONFIG_DIR / "model" / f"{ours_name}.yaml")
    dtype = torch.bfloat16
    with torch.device("meta"):
        ours = DiT(cfg).to(dtype).eval()
        wan = WanTransformer3DModel(patch_size=(1, 2, 2), qk_norm="rms_norm_across_heads", cross_attn_norm=True,
                                    eps=1e-6, **wan_kw)
        wan = cast_keeping_fp32(wan, dtype).eval()
    rows = []
    for frames in [int(f) for f in args.frames.split(",")]:
        lat = (1, cfg.in_channels, (frames - 1) // 4 + 1, args.height // 8, args.width // 8)
        x = torch.empty(lat, dtype=dtype, device="meta")
        ctx = torch.empty(1, args.text_len, cfg.text_dim, dtype=dtype, device="meta")
        t = torch.empty(1, device="meta")
        for name, fn in (("ours (DiT)", lambda x=x, t=t, ctx=ctx: ours(x, t, ctx)),
                         ("diffusers WanTransformer3DModel", lambda x=x, t=t, ctx=ctx: wan(x, t * 1000, ctx, return_dict=False))):
            rows.append({"model": name, "frames": frames, "latent": list(lat), **count(fn)})
        ours_row, wan_row = rows[-2:]
        for r in (ours_row, wan_row):
            r["total_gb"] = r["gemm_gb"] + r["attention_gb"] + r["other_gb"]
        ours_row["bytes_vs_wan"] = ours_row["total_gb"] / wan_row["total_gb"]  # the peer's: < 1 moves less
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out) as tmp:
        tmp.write_text(json.dumps({"size": args.size, "dtype": "bfloat16", "rows": rows}, indent=2))
    print(f"{'model':32s} {'frames':>6s} {'GEMM GB':>8s} {'attn GB':>8s} {'other GB':>9s} {'other kernels':>13s}")
    for r in rows:
        print(f"{r['model']:32s} {r['frames']:6d} {r['gemm_gb']:8.1f} {r['attention_gb']:8.1f} {r['other_gb']:9.1f} "
              f"{r['other_calls']:13d}")
        print("    " + ", ".join(f"{k} {v['gb']:.1f}" for k, v in list(r["by_op"].items())[:8]))
    for r in rows:
        if "bytes_vs_wan" in r:
            print(f"{r['frames']} frames: ours moves {r['total_gb']:.1f} GB, Wan {r['total_gb'] / r['bytes_vs_wan']:.1f} GB: "
                  f"{r['bytes_vs_wan']:.2f}x Wan's bytes")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
