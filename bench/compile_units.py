"""Regional compilation at two granularities, side by side: whole down/mid/up blocks (what we
compiled before) against their parts (resnets, attentions, resamplers: ``blocks.compile_units``,
what we compile now), on the SVD UNet and temporal VAE decoder.

Each granularity runs in a fresh process with an empty inductor cache, so neither profits from
the other's kernels. Per granularity: the units compiled, the graphs dynamo traced, compile time
(the first compiled call of one UNet evaluation and one decode, minus the same calls eager),
the steady time of those calls, and the largest difference from eager.

    python bench/compile_units.py --model tiny                    # CPU, a few minutes
    python bench/compile_units.py --model svd_xt --frames 2 --size 64x64   # CPU, the full-size graphs, small tensors
    python bench/compile_units.py --model svd_xt --frames 25      # GPU, 576x1024 fp16

Prints the ratio (blocks / parts) of compile time and of steady time, and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(model: str, frames: int | None, size: str | None, granularity: str, device: str) -> dict:
    """One granularity, in this process (the parent calls it through a child process)."""
    sys.path.insert(0, str(ROOT))
    import torch
    from torch._dynamo.utils import counters

    import video.models.blocks as blocks
    from video.config import load_model_config
    from video.models.svd import build_random
    from video.runtime.speed import compile_blocks

    if granularity == "blocks":  # the earlier unit: each down/mid/up block whole
        blocks.compile_units = blocks.repeated_blocks
    dev = torch.device(device)
    dtype = torch.float16 if dev.type == "cuda" else torch.float32
    cfg = load_model_config(model)
    s = cfg.sampling
    f = frames or s.num_frames
    h, w = (int(v) for v in size.split("x")) if size else (s.height, s.width)
    models = build_random(cfg, seed=0, device=dev, dtype=dtype)
    unet, vae = models.unet, models.vae
    c = unet.config
    gen = torch.Generator(device=dev).manual_seed(0)
    x = torch.randn(2, f, c.in_channels, h // 8, w // 8, generator=gen, device=dev).to(dtype)
    emb = torch.randn(2, 1, c.cross_attention_dim, generator=gen, device=dev).to(dtype)
    ids = torch.tensor([[s.fps - 1, s.motion_bucket_id, s.noise_aug_strength]] * 2, device=dev, dtype=dtype)
    z = torch.randn(min(f, 8), 4, h // 8, w // 8, generator=gen, device=dev).to(dtype)

    def call():
        with torch.no_grad():
            a = unet(x, torch.tensor(1.0, device=dev), encoder_hidden_states=emb, added_time_ids=ids).sample
            b = vae.decode(z, num_frames=len(z)).sample
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return a.float(), b.float()

    def timed():
        t = time.perf_counter()
        out = call()
        return time.perf_counter() - t, out

    call()  # eager warm-up
    eager_s, (a0, b0) = timed()
    n = compile_blocks([unet, vae.decoder])
    first_s, _ = timed()
    steady_s, (a1, b1) = timed()
    return {"granularity": granularity, "units": n, "graphs": counters["stats"]["unique_graphs"],
            "traced_ops": counters["stats"]["calls_captured"], "eager_s": eager_s, "first_call_s": first_s,
            "compile_s": first_s - eager_s, "steady_s": steady_s,
            "max_abs_diff": max(float((a1 - a0).abs().max()), float((b1 - b0).abs().max()))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny", help="model config (tiny, svd, svd_xt)")
    ap.add_argument("--frames", type=int, default=None, help="frames (default: the config's)")
    ap.add_argument("--size", default=None, help="HxW (default: the config's); graphs have the same ops at any size")
    ap.add_argument("--device", default=None, help="cuda when available, else cpu")
    ap.add_argument("--repeats", type=int, default=1, help="runs per granularity, interleaved")
    ap.add_argument("--json", default="bench/results/compile_units.json")
    ap.add_argument("--child-timeout", type=float, default=None,
                    help="seconds each granularity's process may take (default: 280 on a GPU, where two fit a "
                         "570 s device call; no cap on the CPU, where svd_xt's blocks take about 360 s on two cores)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.model, args.frames, args.size, args.child, args.device)))
        return 0
    import torch

    sys.path.insert(0, str(ROOT))
    from video.atomic import atomic_file

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    cap = args.child_timeout if args.child_timeout is not None else (280.0 if device == "cuda" else None)
    out_path = Path(args.json)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    runs: list[dict] = []

    def best(gran: str, key: str) -> float | None:
        vals = [r[key] for r in runs if r["granularity"] == gran and "error" not in r]
        return min(vals) if vals else None

    def write() -> dict:
        """The JSON so far, after every child: a run cut short keeps what it measured."""
        ratios = {}
        for key in ("compile_s", "steady_s"):
            b, p = best("blocks", key), best("parts", key)
            ratios[f"{key.split('_')[0]}_ratio_blocks_over_parts"] = b / p if b and p else None
        result = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "torch": torch.__version__,
                  "model": args.model, "frames": args.frames, "size": args.size, "runs": runs, **ratios}
        with atomic_file(out_path) as tmp:  # a kill while writing keeps the previous runs whole
            tmp.write_text(json.dumps(result, indent=2))
        return result

    for _ in range(args.repeats):
        for gran in ("parts", "blocks"):  # the new unit first: its number survives a slow blocks compile
            with tempfile.TemporaryDirectory() as cache:
                env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache, "TORCHINDUCTOR_FX_GRAPH_CACHE": "0",
                       "TORCHINDUCTOR_AUTOGRAD_CACHE": "0", "TRITON_CACHE_DIR": os.path.join(cache, "triton")}
                cmd = [sys.executable, __file__, "--model", args.model, "--device", device, "--child", gran]
                if args.frames:
                    cmd += ["--frames", str(args.frames)]
                if args.size:
                    cmd += ["--size", args.size]
                try:
                    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=cap)
                    r = (json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else
                         {"granularity": gran, "error": out.stderr.strip()[-600:]})
                except subprocess.TimeoutExpired:
                    r = {"granularity": gran, "error": f"no result within {cap:g} s"}
            runs.append(r)
            write()
            if "error" in r:
                print(f"{gran:6s} FAILED: {r['error'][-300:]}", flush=True)
                continue
            print(f"{gran:6s} units {r['units']:3d} graphs {r['graphs']:3d} traced ops {r['traced_ops']:5d} | "
                  f"compile {r['compile_s']:7.1f} s | steady {r['steady_s'] * 1e3:8.1f} ms | "
                  f"max |diff| vs eager {r['max_abs_diff']:.2e}", flush=True)

    result = write()
    c, st = result["compile_ratio_blocks_over_parts"], result["steady_ratio_blocks_over_parts"]
    if c is not None:
        print(f"compile time blocks / parts: {c:.2f}x (best of {args.repeats}); steady time blocks / parts: {st:.2f}x")
    print(f"wrote {out_path}")
    return 0 if c is not None else 1


if __name__ == "__main__":
    sys.exit(main())
