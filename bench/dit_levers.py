"""Levers on our compiled DiT forward, one process, beside diffusers' Wan compiled the same way.

    python bench/dit_levers.py                       # on a GPU: dit_l at 81 frames 480x832, bf16
    python bench/dit_levers.py --size tiny --frames 5 --no-compile   # CPU smoke run

Issue 4 asks ≥ 560 TFLOP/s for one dit_l forward at 81 frames. Each variant runs on a copy of
the same random weights with its switches set, compiled block by block (``compile_blocks``,
as the runtime compiles), and is checked against the first variant's output (relative L2
error), so a faster variant that computes something else shows as such:

- ``both``: the model as it ships since the first H100 run: self-attention's q, k, v kept
  (B, N, heads, hd) in memory as Wan does (``SelfAttention.tokens_major``), and the FFN's
  GELU in its first GEMM's epilogue (``DiTBlock.fused_gelu``, ``dit.feed_forward``);
- ``plain``: neither (the layout and FFN before that run); ``tokens_major``, ``fused_gelu``: one each;
- ``both_cdt``: ``both`` compiled with inductor's coordinate-descent tuning of its own
  (norm, RoPE, elementwise) kernels, which the H100 profile puts at ~41 ms of the ~518;
- ``both_cg``: ``both`` with each compiled block captured in a CUDA graph (mode
  "reduce-overhead"): the profile's kernels sum to ~507 of the ~518 ms, so up to ~11 ms are
  gaps between kernels (launches, the eager glue between blocks);
- ``both_whole``: ``both`` compiled as one graph rather than block by block: the glue between
  blocks (timestep modulation, patch embedding, the head) fuses too, at a longer compile;
- ``wan``: diffusers' WanTransformer3DModel at the same size, compiled the same way.

It also times attention alone at the model's self- and cross-attention shapes under each
kernel (``txt2vid.attention_rows``): the cross-attention (32,760 queries, 512 text keys) is a
short-key shape the long-sequence kernels may serve badly. ``--profile`` stores the top
kernels of one compiled forward of the first variant and of the fastest so far, just before
the first variant that empties dynamo's cache (``both_cg``, ``both_cdt``, ``both_whole``:
other settings, slower compiles), so a run cut short in the whole-model compile keeps it;
only variants listed before that point are profiled. JSON is written after every row: a run
cut short keeps what it measured. Each row keeps its per-repeat seconds (``times``) and
min-max ``spread``, and each of ours its speed against Wan's row (``speed_vs_wan``, Wan's
median over ours: above 1 is ours faster) and whether the two spreads overlap, in which
case the gap between the medians is within the run-to-run spread, not a measured difference.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from txt2vid import (  # noqa: E402
    SIZES,
    attention_rows,
    bench,
    bench_setup,
    build_wan,
    profile,
    randomise,
    speed_vs_wan,
    sync,
)

from video.atomic import atomic_file  # noqa: E402
from video.models.dit import DiT, DiTBlock, SelfAttention  # noqa: E402
from video.runtime.speed import compile_blocks, sdpa_priority  # noqa: E402

VARIANTS = {  # "wan" in --variants places diffusers' Wan row among them
    "both": {"tokens_major": True, "fused_gelu": True},
    "plain": {},
    "tokens_major": {"tokens_major": True},
    "fused_gelu": {"fused_gelu": True},
    "both_cdt": {"tokens_major": True, "fused_gelu": True, "inductor": {"coordinate_descent_tuning": True}},
    "both_cg": {"tokens_major": True, "fused_gelu": True, "mode": "reduce-overhead"},
    "both_whole": {"tokens_major": True, "fused_gelu": True, "whole": True},
}


def resets_dynamo(name: str) -> bool:
    """Whether a variant compiles under other inductor settings, mode or unit: it starts (and
    leaves) dynamo's cache empty, so what it compiled cannot be profiled afterwards."""
    return name != "wan" and bool(VARIANTS[name].keys() & {"inductor", "mode", "whole"})


def eager_variants(names: list[str]) -> tuple[list[str], list[str]]:
    """(kept, skipped) of ``names`` under ``--no-compile``: a variant differing from another only
    in how it compiles (both_cg, both_cdt, both_whole) is, eager, that same model timed again."""
    skipped = [n for n in names if n != "wan" and resets_dynamo(n)]
    return [n for n in names if n not in skipped], skipped


def compare_to_wan(rows: list[dict]) -> None:
    """Each successful row of ours gets ``speed_vs_wan`` (Wan's median seconds over ours) and
    ``spread_overlaps_wan`` (whether its min-max range meets Wan's) once Wan's row is in."""
    wan = next((r for r in rows if r["variant"] == "diffusers Wan" and "seconds" in r), None)
    if wan is None:
        return
    for r in rows:
        if r is not wan and "seconds" in r:
            r.update(speed_vs_wan(r, wan))


def with_switches(model: DiT, switches: dict) -> DiT:
    twin = copy.deepcopy(model)
    for m in twin.modules():
        if isinstance(m, SelfAttention):
            m.tokens_major = switches.get("tokens_major", False)
        if isinstance(m, DiTBlock):
            m.fused_gelu = switches.get("fused_gelu", False)
    return twin


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SIZES), default=None, help="l on a GPU, tiny on a CPU")
    ap.add_argument("--frames", type=int, default=81)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=832)
    ap.add_argument("--text-len", type=int, default=512)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--peak-tflops", type=float, default=790.0)
    ap.add_argument("--sdpa", default="cudnn", help="attention-kernel order (video.runtime.speed.SDPA_FIRST)")
    ap.add_argument("--variants", default="both,wan,both_cg,both_cdt,both_whole",
                    help=f"comma list of {', '.join(VARIANTS)} and wan (diffusers' Wan, compiled the same way)")
    ap.add_argument("--no-compile", action="store_true", help="time the variants eager (CPU smoke runs)")
    ap.add_argument("--profile", action="store_true",
                    help="top kernels of the first variant and of the fastest so far, before any variant that "
                         "empties dynamo's cache (both_cg, both_cdt, both_whole)")
    ap.add_argument("--json", default="bench/results/dit_levers.json")
    args = ap.parse_args()
    names = args.variants.split(",")
    if any(n not in VARIANTS and n != "wan" for n in names):
        ap.error(f"--variants takes a comma list of {', '.join(VARIANTS)}, wan")
    skipped = []
    if args.no_compile:
        names, skipped = eager_variants(names)
        if skipped:
            print(f"--no-compile: skipping {', '.join(skipped)} (they differ from both only in how they compile)")

    device, size, dtype, cfg, wan_kw, gen = bench_setup(args)
    with torch.device(device):
        ours = DiT(cfg).to(dtype).eval()
    randomise(ours, gen)
    lat = (1, cfg.in_channels, (args.frames - 1) // 4 + 1, args.height // 8, args.width // 8)
    x = torch.randn(lat, generator=gen, device=device).to(dtype)
    ctx = torch.randn(1, args.text_len, cfg.text_dim, generator=gen, device=device).to(dtype)
    t = torch.rand(1, generator=gen, device=device)
    flops = ours.flops_per_forward(lat, args.text_len)
    tokens = ours.token_grid(lat)
    result = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
              "dtype": str(dtype).replace("torch.", ""), "size": size, "frames": args.frames, "latent": list(lat),
              "tokens": tokens[0] * tokens[1] * tokens[2], "tflop": flops / 1e12, "sdpa": args.sdpa,
              "compiled": not args.no_compile, "peak_tflops": args.peak_tflops, "rows": [], "profile": {},
              "skipped": [{"variant": n, "why": "--no-compile: it differs from both only in how it compiles"}
                          for n in skipped]}

    def dump() -> None:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(out) as tmp:
            tmp.write_text(json.dumps(result, indent=2))

    def measure(name: str, model: torch.nn.Module, call) -> dict:
        row = {"variant": name}
        spec = VARIANTS.get(name, {})
        with torch.no_grad(), sdpa_priority(args.sdpa):
            if args.no_compile:
                pass
            elif spec.get("whole"):
                model.compile(dynamic=False)
            else:
                compile_blocks([model], mode=spec.get("mode"))
            t0 = time.perf_counter()
            out = call()  # compiled: tracing and code generation happen here
            sync(device)
            row["first_call_s"] = time.perf_counter() - t0
            times = bench(call, device, warmup=2, reps=args.reps)
        sec = statistics.median(times)
        row.update(seconds=sec, times=times, spread=[min(times), max(times)], tflops_per_s=flops / sec / 1e12,
                   mfu=flops / sec / 1e12 / args.peak_tflops)
        return row, out.float()

    def wan_row() -> dict:
        wan = build_wan(wan_kw, device, dtype)
        randomise(wan, gen)
        row, _ = measure("diffusers Wan", wan, lambda: wan(x, t * 1000, ctx, return_dict=False)[0])
        return row

    # attention alone first: seconds, and a call cut short by its time limit keeps them
    heads, hd = cfg.heads, cfg.dim // cfg.heads
    result["attention"] = []
    for kv in (None, args.text_len):  # self-attention, then cross-attention to the text
        result["attention"] += attention_rows(device, dtype, result["tokens"], heads, hd, args.reps,
                                              args.peak_tflops, kv_tokens=kv, skipped=result["skipped"])
        dump()

    reference = None
    best = None
    profiled = False

    def run_profile() -> None:
        """Top kernels of the first variant of ours and of the fastest so far (whose compiled
        code dynamo still holds), one compiled forward each."""
        if best is None:
            return
        first = next(n for n in names if n != "wan")
        for name in dict.fromkeys([first, best[0]]):
            if resets_dynamo(name):
                continue  # its compiled code was dropped with the dynamo cache
            twin = with_switches(ours, VARIANTS[name])
            with torch.no_grad(), sdpa_priority(args.sdpa):
                if not args.no_compile:
                    compile_blocks([twin])
                try:
                    result["profile"][name] = profile(lambda m=twin: m(x, t, ctx), device, top=30)
                except Exception as e:  # noqa: BLE001
                    result["profile"][name] = [{"name": f"FAILED {type(e).__name__}: {e}"[:200], "calls": 0,
                                                "self_ms": 0.0}]
            print(f"profiled {name}", flush=True)
            dump()
            del twin
            gc.collect()

    for name in names:
        out = None
        if args.profile and not profiled and resets_dynamo(name):  # before the slow, cache-emptying variants
            run_profile()
            profiled = True
        try:
            if name == "wan":
                row = wan_row()
            elif resets_dynamo(name):
                # other inductor settings, compile mode or unit: dynamo's cache would hand back the
                # code compiled for the same switches, so start from an empty one (and leave it empty after)
                import torch._inductor.config as inductor_config

                torch._dynamo.reset()
                twin = with_switches(ours, VARIANTS[name])
                try:
                    with inductor_config.patch(**VARIANTS[name].get("inductor", {})):
                        row, out = measure(name, twin, lambda m=twin: m(x, t, ctx))
                finally:
                    del twin
                    torch._dynamo.reset()
            else:
                twin = with_switches(ours, VARIANTS[name])
                row, out = measure(name, twin, lambda m=twin: m(x, t, ctx))
                del twin
        except Exception as e:  # noqa: BLE001 - a failed variant is a result; the others still run
            row = {"variant": name, "error": f"{type(e).__name__}: {e}"[:300]}
            print(f"{name}: FAILED {row['error']}", flush=True)
        if "error" not in row:
            if out is not None:
                if reference is None:
                    reference = out
                row["rel_l2_vs_first"] = ((out - reference).norm() / reference.norm()).item()
                if best is None or row["seconds"] < best[1]["seconds"]:
                    best = (name, row)
        result["rows"].append(row)
        compare_to_wan(result["rows"])
        if "error" not in row:
            vs = f", {row['speed_vs_wan']:.3f}x Wan's speed" if "speed_vs_wan" in row else ""
            print(f"{row['variant']:14s} {row['seconds']:.4f} s {row['tflops_per_s']:6.1f} TFLOP/s "
                  f"(first call {row['first_call_s']:.1f} s, rel. error {row.get('rel_l2_vs_first', '-')}, spread "
                  f"{1e3 * (row['spread'][1] - row['spread'][0]):.1f} ms{vs})", flush=True)
        dump()
        out = None
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()

    if args.profile and not profiled:  # no variant emptied dynamo's cache: profile after the last
        run_profile()
        dump()

    print(f"\n{result['device']} | {result['dtype']} | {'compiled blocks' if result['compiled'] else 'eager'} | "
          f"{args.frames} frames, {result['tokens']} tokens, {result['tflop']:.1f} TFLOP | sdpa {args.sdpa}")
    for r in result["rows"]:
        if "error" in r:
            print(f"  {r['variant']:14s} FAILED {r['error'][:80]}")
        else:
            err = f"{r['rel_l2_vs_first']:.1e}" if "rel_l2_vs_first" in r else "-"
            vs = (f"{r['speed_vs_wan']:.3f}x Wan" + ("" if r["spread_overlaps_wan"] else ", spreads apart")
                  if "speed_vs_wan" in r else "")
            print(f"  {r['variant']:14s} {r['seconds']:7.4f} s {r['tflops_per_s']:7.1f} TFLOP/s {100 * r['mfu']:5.1f}% "
                  f"first {r['first_call_s']:6.1f} s  spread {1e3 * (r['spread'][1] - r['spread'][0]):5.1f} ms  "
                  f"err {err}  {vs}")
    print("\nattention alone, one kernel each (heads x queries x keys x head dim):")
    for r in result["attention"]:
        shape = f"{r['heads']}x{r['tokens']}x{r['kv_tokens']}x{r['head_dim']}"
        got = f"{r['seconds'] * 1e3:8.3f} ms {r['tflops_per_s']:7.1f} TFLOP/s" if "seconds" in r else r["error"]
        print(f"  {r['kernel']:10s} {shape:>20s} {got}")
    for name, events in result["profile"].items():
        print(f"\ntop kernels, {name}, {'compiled' if result['compiled'] else 'eager'} (self ms):")
        for e in events[:14]:
            print(f"  {e['self_ms']:8.2f}  x{e['calls']:<4d} {e['name'][:90]}")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
