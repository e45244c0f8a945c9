"""One forward of our DiT beside diffusers' WanTransformer3DModel at the same size, same run.

    python bench/txt2vid.py                 # on a GPU: dit_l vs Wan 2.1 1.3B, 81 and 33 frames at 480x832, bf16
    python bench/txt2vid.py --size tiny     # CPU smoke run of the same script
    python bench/txt2vid.py --compile --profile   # also both models with compiled blocks, and a kernel profile

Prints seconds, TFLOP/s and MFU (against --peak-tflops, the dense bf16 matmul rate measured
on the lent H100/H200: ~790) for each, and writes JSON. Random weights, random inputs (never
zeros); FLOPs from ``DiT.flops_per_forward`` (checked against torch's FlopCounterMode in the
tests), the same count for both since the shapes are the same. ``--compile`` adds a row per
model with its repeated blocks compiled one by one (``Module.compile``, static shapes: the
regional compile our runtime uses), the first call's time reported as compile time.
``--profile`` stores the top kernels of one eager forward of each model at the first frame
count, so the gap between them can be read rather than guessed.

``--sdpa torch,cudnn`` (default) times each model once per attention-kernel order
(``video.runtime.speed.sdpa_priority``: torch's own choice, which torch 2.11 on an H100 made cuDNN; or cuDNN's fused
attention first, reported faster on Hopper); compiled rows use the last order. Attention makes
~70% of the FLOPs at 81 frames, so the kernel decides most of the gap to the issue's goal. The
attention-only rows time each kernel alone at the model's shape (heads x tokens x head dim).

Each row keeps its per-repeat seconds (``times``) and their min-max ``spread``; each row of ours
its speed against Wan's row at the same frames, attention order and compile (``speed_vs_wan``:
Wan's median over ours, above 1 is ours faster) and whether the two spreads overlap
(``spread_overlaps_wan``): where they do, the gap between the medians is within the
run-to-run spread, not a measured difference.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from video.atomic import atomic_file  # noqa: E402
from video.config import CONFIG_DIR, load_config  # noqa: E402
from video.models.dit import DiT, DiTConfig  # noqa: E402
from video.runtime.speed import SDPA_FIRST, compile_blocks, sdpa_priority  # noqa: E402
from video.runtime.txt2vid import cast_keeping_fp32  # noqa: E402

SIZES = {
    # name: (our config, Wan config kwargs)
    "l": ("dit_l", dict(num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
                        text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30)),
    "tiny": ("dit_tiny", dict(num_attention_heads=4, attention_head_dim=16, in_channels=4, out_channels=4,
                              text_dim=32, freq_dim=32, ffn_dim=128, num_layers=2)),
}


def randomise(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Every parameter drawn on the device (zeros time faster than real data)."""
    with torch.no_grad():
        for p in model.parameters():
            fan = p[0].numel() if p.ndim > 1 else 1
            p.copy_(torch.randn(p.shape, generator=gen, device=p.device, dtype=torch.float32).to(p.dtype)
                    / max(fan, 1) ** 0.5)


def speed_vs_wan(row: dict, wan: dict) -> dict:
    """``speed_vs_wan`` (Wan's median seconds over the row's: above 1 the row is faster) and
    ``spread_overlaps_wan`` (whether the two rows' min-max ranges meet)."""
    return {"speed_vs_wan": wan["seconds"] / row["seconds"],
            "spread_overlaps_wan": row["spread"][0] <= wan["spread"][1] and wan["spread"][0] <= row["spread"][1]}


def compare_to_wan(rows: list[dict]) -> None:
    """Each timed row of ours gets :func:`speed_vs_wan` against Wan's timed row at the same
    frames, attention order and compile, once that row is in."""
    wan = {(r["frames"], r["sdpa"], r["compiled"]): r for r in rows if r["model"].startswith("diffusers")
           and "seconds" in r}
    for r in rows:
        peer = wan.get((r["frames"], r["sdpa"], r["compiled"]))
        if not r["model"].startswith("diffusers") and "seconds" in r and peer is not None:
            r.update(speed_vs_wan(r, peer))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench(fn, device, warmup: int, reps: int) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        if device.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            times.append(a.elapsed_time(b) / 1000)
        else:
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return times


def profile(fn, device, top: int = 25) -> list[dict]:
    """The ``top`` kernels (GPU) or ops (CPU) of one call by self time."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    fn()
    with torch_profile(activities=acts) as prof:
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = sorted(prof.key_averages(), key=lambda e: getattr(e, key), reverse=True)[:top]
    return [{"name": e.key, "calls": e.count, "self_ms": getattr(e, key) / 1000} for e in events]


def sdpa_label(order: str, device: torch.device) -> str:
    """A row's attention-order label, by what ran: a CPU has no cuDNN kernel (nor the GPU's
    flash), so under any order it runs torch's CPU kernel, and a row labelled "cudnn" there
    named a kernel that never ran."""
    return order if device.type == "cuda" or order == "torch" else f"{order} asked: cpu kernel"


def attention_skip(kernel: str, device: torch.device, kv_tokens: int | None) -> str | None:
    """Why an attention-only row is not run (None: it runs): on a GPU the math kernel's self-
    attention materialises the N x N scores."""
    if kernel == "math" and device.type == "cuda" and kv_tokens is None:
        return "math self-attention materialises the N x N scores: minutes and tens of GiB at these sizes"
    return None


def attention_rows(device, dtype, tokens: int, heads: int, head_dim: int, reps: int, peak: float,
                   kv_tokens: int | None = None, skipped: list | None = None) -> list[dict]:
    """One attention call at the model's shape under each kernel alone (no fallback), in
    TFLOP/s (4 N M d FLOPs): which kernel this card and torch serve fastest. Self-attention by
    default; ``kv_tokens`` gives the cross-attention shape (M text tokens). A kernel not run
    goes to ``skipped`` with the reason, so the JSON says what is missing and why."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    kv = kv_tokens or tokens
    gen = torch.Generator(device=device).manual_seed(1)
    q, k, v = (torch.randn(1, heads, n, head_dim, generator=gen, device=device).to(dtype)
               for n in (tokens, kv, kv))
    flops = 4 * tokens * kv * heads * head_dim
    rows = []
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                          ("efficient", SDPBackend.EFFICIENT_ATTENTION), ("math", SDPBackend.MATH)):
        why = attention_skip(name, device, kv_tokens)
        if why:
            if skipped is not None:
                skipped.append({"attention": name, "tokens": tokens, "kv_tokens": kv, "why": why})
            continue
        row = {"kernel": name, "tokens": tokens, "kv_tokens": kv, "heads": heads, "head_dim": head_dim}
        try:
            with sdpa_kernel([backend]), torch.no_grad():
                times = bench(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v), device, 2, reps)
            sec = statistics.median(times)
            row.update(seconds=sec, tflops_per_s=flops / sec / 1e12, mfu=flops / sec / 1e12 / peak)
        except RuntimeError as e:  # this kernel cannot serve the shape/dtype/device
            row["error"] = whole_sentences(str(e))
        rows.append(row)
    return rows


def whole_sentences(message: str, limit: int = 240) -> str:
    """``message``'s first line cut at the last sentence end within ``limit`` characters (the
    first sentence whole even when longer): a cut by count left "... was found. This is "."""
    line = message.strip().splitlines()[0] if message.strip() else ""
    if len(line) <= limit:
        return line
    ends = [i + 1 for i in range(len(line)) if line[i] == "." and (i + 1 == len(line) or line[i + 1] == " ")]
    within = [i for i in ends if i <= limit]
    return line[:within[-1]] if within else line[:ends[0]] if ends else line


def bench_setup(args) -> tuple[torch.device, str, torch.dtype, DiTConfig, dict, torch.Generator]:
    """What this bench and ``dit_levers.py`` share: the device (CUDA when there is one), the
    size (``l`` there, ``tiny`` on a CPU, which also shrinks ``args``' frame size and text
    length), the dtype (bf16 on CUDA), our config, Wan's arguments and the seeded generator."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    size = args.size or ("l" if device.type == "cuda" else "tiny")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    ours_name, wan_kw = SIZES[size]
    if size == "tiny":
        args.height, args.width, args.text_len = 64, 96, 16
    cfg = load_config(DiTConfig, CONFIG_DIR / "model" / f"{ours_name}.yaml")
    return device, size, dtype, cfg, wan_kw, torch.Generator(device=device).manual_seed(0)


def build_wan(wan_kw: dict, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """diffusers' WanTransformer3DModel at our size, as diffusers runs it in bf16: its
    _keep_in_fp32_modules (rope, time embedder, modulation table, norms) stay float32, as
    from_pretrained keeps them."""
    from diffusers import WanTransformer3DModel

    with torch.device(device):
        wan = WanTransformer3DModel(patch_size=(1, 2, 2), qk_norm="rms_norm_across_heads", cross_attn_norm=True,
                                    eps=1e-6, **wan_kw)
        return cast_keeping_fp32(wan, dtype).eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default=None, choices=list(SIZES), help="l on GPU (default), tiny on CPU")
    ap.add_argument("--frames", default="81,33", help="pixel frame counts (latent = (f-1)/4+1)")
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--width", type=int, default=832)
    ap.add_argument("--text-len", type=int, default=512)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--peak-tflops", type=float, default=790.0)
    ap.add_argument("--compile", action="store_true", help="also time both models with compiled blocks")
    ap.add_argument("--profile", action="store_true", help="store each model's top kernels (eager)")
    ap.add_argument("--sdpa", default="torch,cudnn",
                    help=f"attention-kernel orders to time each model under (of {', '.join(SDPA_FIRST)})")
    ap.add_argument("--json", default="bench/results/txt2vid.json")
    args = ap.parse_args()
    orders = args.sdpa.split(",")
    if any(o not in SDPA_FIRST for o in orders):
        ap.error(f"--sdpa takes a comma list of {', '.join(SDPA_FIRST)}")

    device, size, dtype, cfg, wan_kw, gen = bench_setup(args)
    with torch.device(device):
        ours = DiT(cfg).to(dtype).eval()
    wan = build_wan(wan_kw, device, dtype)
    randomise(ours, gen)
    randomise(wan, gen)
    n_ours = sum(p.numel() for p in ours.parameters())
    n_wan = sum(p.numel() for p in wan.parameters())
    rows, profiles = [], {}

    def dump() -> dict:
        """The JSON so far, written after every row: a run cut short keeps what it measured."""
        result = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
                  "dtype": str(dtype).replace("torch.", ""), "size": size, "params_ours": n_ours, "params_wan": n_wan,
                  "height": args.height, "width": args.width, "text_len": args.text_len, "peak_tflops": args.peak_tflops,
                  "rows": rows, "attention": attn_rows, "skipped": skipped, "profile": profiles}
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(out) as tmp:  # a kill while writing keeps the previous rows whole
            tmp.write_text(json.dumps(result, indent=2))
        return result

    def forward(model, x, t, ctx):
        return model(x, t, ctx) if isinstance(model, DiT) else model(x, t * 1000, ctx, return_dict=False)[0]

    variants = [(name, model, False, o) for o in orders
                for name, model in (("ours (DiT)", ours), ("diffusers WanTransformer3DModel", wan))]
    if args.compile:
        variants += [("ours (DiT), compiled blocks", ours, True, orders[-1]),
                     ("diffusers Wan, compiled blocks", wan, True, orders[-1])]
    # compiled rows run on copies: compile_blocks works in place, and the eager rows of a later
    # frame count must stay eager (and not pay the recompile inside their warm-up)
    compiled_copies: dict[int, torch.nn.Module] = {}
    attn_rows, skipped = [], []
    for frames in [int(f) for f in args.frames.split(",")]:
        lat = (1, cfg.in_channels, (frames - 1) // 4 + 1, args.height // 8, args.width // 8)
        x = torch.randn(lat, generator=gen, device=device).to(dtype)
        ctx = torch.randn(1, args.text_len, cfg.text_dim, generator=gen, device=device).to(dtype)
        t = torch.rand(1, generator=gen, device=device)
        flops = ours.flops_per_forward(lat, args.text_len)
        tokens = ours.token_grid(lat)
        calls = {id(m): (lambda m=m, x=x, t=t, ctx=ctx: forward(m, x, t, ctx)) for m in (ours, wan)}
        n_tok = tokens[0] * tokens[1] * tokens[2]
        with torch.no_grad():
            for name, model, compiled, order in variants:
                row = {"model": name, "frames": frames, "sdpa": sdpa_label(order, device), "compiled": compiled}
                try:
                    call = calls[id(model)]
                    with sdpa_priority(order):
                        if compiled:
                            if id(model) not in compiled_copies:
                                compiled_copies[id(model)] = copy.deepcopy(model)
                                compile_blocks([compiled_copies[id(model)]])
                            twin = compiled_copies[id(model)]
                            call = lambda twin=twin, x=x, t=t, ctx=ctx: forward(twin, x, t, ctx)  # noqa: E731
                            t0 = time.perf_counter()
                            call()  # the first call at this shape: tracing and code generation
                            sync(device)
                            row["compile_s"] = time.perf_counter() - t0
                        times = bench(call, device, warmup=2, reps=args.reps)
                except Exception as e:  # noqa: BLE001 - a failed row is a result; the others still run
                    row["error"] = f"{type(e).__name__}: {e}"[:300]
                    print(f"{name} ({order}, {frames} frames): FAILED {row['error']}", flush=True)
                    rows.append(row)
                    dump()
                    continue
                sec = statistics.median(times)
                row.update({"latent": list(lat), "tokens": tokens[0] * tokens[1] * tokens[2],
                            "tflop": flops / 1e12, "seconds": sec, "times": times, "spread": [min(times), max(times)],
                            "tflops_per_s": flops / sec / 1e12, "mfu": flops / sec / 1e12 / args.peak_tflops})
                rows.append(row)
                compare_to_wan(rows)
                dump()
            # the kernel experiments after this frame count's model rows: a fatal kernel error (an
            # illegal access under one attention kernel) cannot cost the rows issue 4 needs
            if args.profile and not profiles:
                profiles = {"frames": frames}
                for o in orders:
                    suffix = "" if o == "torch" else f"/{o}"
                    for who, model in (("ours", ours), ("wan", wan)):
                        try:
                            with sdpa_priority(o):
                                profiles[who + suffix] = profile(calls[id(model)], device)
                        except Exception as e:  # noqa: BLE001
                            profiles[who + suffix] = [{"name": f"FAILED {type(e).__name__}: {e}"[:200],
                                                       "calls": 0, "self_ms": 0.0}]
        attn_rows += attention_rows(device, dtype, n_tok, cfg.heads, cfg.dim // cfg.heads, args.reps, args.peak_tflops,
                                    skipped=skipped)
        dump()
    result = dump()
    print(f"\n{result['device']} | {result['dtype']} eager | ours {n_ours / 1e9:.3f}B params, Wan {n_wan / 1e9:.3f}B")
    sw = max([6] + [len(r["sdpa"]) for r in rows])  # the attention label's width
    print(f"{'model':34s} {'sdpa':>{sw}s} {'frames':>6s} {'tokens':>7s} {'TFLOP':>7s} {'s':>7s} {'TFLOP/s':>8s} "
          f"{'MFU':>6s} {'compile s':>9s} {'x Wan':>6s} {'spread ms':>9s}")
    for r in rows:
        if "error" in r:
            print(f"{r['model']:34s} {r['sdpa']:>{sw}s} {r['frames']:6d} FAILED {r['error'][:60]}")
            continue
        comp = f"{r['compile_s']:9.1f}" if "compile_s" in r else " " * 9
        vs = f"{r['speed_vs_wan']:5.3f}x" if "speed_vs_wan" in r else " " * 6
        mfu = f"{100 * r['mfu']:5.1f}%" if device.type == "cuda" else f"{'n/a':>6s}"  # the peak is a GPU's
        print(f"{r['model']:34s} {r['sdpa']:>{sw}s} {r['frames']:6d} {r['tokens']:7d} {r['tflop']:7.1f} {r['seconds']:7.3f} "
              f"{r['tflops_per_s']:8.1f} {mfu} {comp} {vs} {1e3 * (r['spread'][1] - r['spread'][0]):9.1f}"
              + ("" if r.get("spread_overlaps_wan", True) else "  (spreads apart)"))
    print("\nattention alone, one kernel each (self-attention of one layer):")
    for r in attn_rows:
        shape = f"{r['heads']}x{r['tokens']}x{r['head_dim']}"
        got = f"{r['seconds'] * 1e3:8.2f} ms {r['tflops_per_s']:7.1f} TFLOP/s" if "seconds" in r else r["error"]
        print(f"  {r['kernel']:10s} {shape:>16s} {got}")
    for r in skipped:
        print(f"  {r['attention']:10s} {r['tokens']} x {r['kv_tokens']} tokens: skipped ({r['why']})")
    for who in [k for k in profiles if k != "frames"]:
        print(f"\ntop kernels, {who}, {profiles['frames']} frames (self ms):")
        for e in profiles[who][:12]:
            print(f"  {e['self_ms']:8.2f}  x{e['calls']:<4d} {e['name'][:90]}")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
