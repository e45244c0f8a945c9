"""Image-to-video, every configuration in one process: diffusers' StableVideoDiffusionPipeline,
our plain eager path, our low-memory mode, our exact compiled path, a warm start from saved
compile artifacts, our fast mode (First Block Cache), and our compiled path with CUDA graphs.

Same networks (shared modules, random weights), same image, same latents, same settings. Prints
seconds per video, steps/s over the denoise (ours; diffusers' pipeline times no phase) and over
the whole video (every row), UNet TFLOP/s, peak memory, compile time, PSNR against our eager
frames and against diffusers' frames (and the fast mode's against the exact compiled frames),
flicker and warping error, and the ratios; writes JSON after every row (a run cut short keeps
what it finished). The rows run in ``ROWS``' order: the warm start (which needs only the
compiled row's saved artifacts) before the fast mode, whose guided batch of two recompiles the
UNet's units after a compiled row that ran the guidance halves one by one; with the compiled
row before it, the fast row times its first video (that recompile) as the compiled row does.

    python bench/img2vid.py --model tiny --device cpu     # every row that runs on a CPU, ~1 minute
    python bench/img2vid.py --model svd_xt                # on a GPU: 25 frames 576x1024, 25 steps

Compiled and CUDA-graph rows need CUDA and are skipped elsewhere with a line saying so
(``--compile-backend eager`` runs the compiled and fast rows on a CPU: dynamo traces the same
units, no code is generated; the tests' check of the rows' plumbing). Kept
free of PyAV and imageio-ffmpeg imports so it runs on a bare GPU machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from video.config import load_model_config  # noqa: E402
from video.media import DEFAULT_IMAGE, load_image, resize_center_crop  # noqa: E402
from video.models.svd import build_random  # noqa: E402
from video.runtime.decode import auto_chunk_size  # noqa: E402
from video.runtime.img2vid import ImageToVideo  # noqa: E402
from video.runtime.memory import GIB  # noqa: E402
from video.runtime.offload import NoOffload  # noqa: E402

ROWS = ("diffusers", "eager", "lowmem", "compiled", "warm", "fast", "cudnn", "batched", "cudagraphs")  # run order
WARM_TIMEOUT_S = 240  # the warm-start child: a load of saved artifacts and one video (about 1-1.5 min on an H100)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, repeats):
    """(median seconds, peak GiB, last output, per-run seconds) over ``repeats`` runs."""
    times, peak, out = [], 0.0, None
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        sync(device)
        t = time.perf_counter()
        out = fn()
        sync(device)
        times.append(time.perf_counter() - t)
        if device.type == "cuda":
            peak = max(peak, torch.cuda.max_memory_allocated(device) / GIB)
    return statistics.median(times), peak, out, times


def unet_flops(models, frames, h, w, device, dtype) -> int:
    """FLOPs of one UNet evaluation with the CFG batch of two (FlopCounterMode, one real call)."""
    from torch.utils.flop_counter import FlopCounterMode

    c = models.unet.config
    x = torch.zeros(2, frames, c.in_channels, h // 8, w // 8, device=device, dtype=dtype)
    emb = torch.zeros(2, 1, c.cross_attention_dim, device=device, dtype=dtype)
    ids = torch.zeros(2, 3, device=device, dtype=dtype)
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        models.unet(x, torch.tensor(1.0, device=device, dtype=dtype), encoder_hidden_states=emb, added_time_ids=ids)
    return fc.get_total_flops()


def video_metrics(frames: np.ndarray) -> dict:
    """Our weight-free temporal metrics (eval/temporal.py); warping error needs OpenCV."""
    from eval.temporal import flicker, warping_errors

    out = {"flicker": flicker(frames)}
    try:
        out["warp_error"] = float(warping_errors(frames).mean())
    except ImportError:
        out["warp_error"] = None
    return out


def compile_stats() -> dict:
    """What dynamo traced and where compile time went (issue 10's cold start): the graph and op
    counts, and the 20 costliest compile phases (torch._dynamo.utils.compile_times)."""
    from torch._dynamo.utils import compile_times, counters

    out = {"stats": dict(counters["stats"]), "phases_s": {}}
    try:  # "csv": (names, values) as they are ("str" is laid out by tabulate where it is installed)
        names, values = compile_times(repr="csv", aggregate=True)
        phases = {n: float(str(v).split(",")[0]) for n, v in zip(names, values, strict=True)}
        out["phases_s"] = dict(sorted(phases.items(), key=lambda kv: -kv[1])[:20])
    except (ValueError, AttributeError, TypeError) as e:
        out["phases_s"] = {"error": str(e)[:200]}
    return out


def unique_graphs() -> int:
    """Graphs dynamo has traced in this process so far (a row's recompiles are the difference)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def compile_ours(ours: ImageToVideo, mode: str, cache: str | None, backend: str) -> int:
    """``ours.compile`` as the runtime calls it; with ``backend`` "eager" the same units are then
    handed to dynamo with the eager backend (traced, no code generated: the compiled rows' order
    and records checked on a CPU in seconds, not inductor's minutes). Returns the unit count."""
    import warnings

    with warnings.catch_warnings():
        if backend != "inductor":  # the eager backend below generates no code: the minutes never come
            warnings.filterwarnings("ignore", message="compiling on the CPU")
        n = ours.compile(mode=mode, cache=cache)
    if backend != "inductor":
        from video.runtime.speed import compile_blocks

        n = compile_blocks([ours.models.unet], backend=backend) + compile_blocks([ours.models.vae.decoder], backend=backend)
    return n


def warm_start_row(child_json: Path, wall: float, stderr: str = "") -> dict:
    """The warm row from the child process's JSON (its one ``compiled`` row, compiled from the
    saved artifacts): its first video, its compile set-up (loading the artifacts) and whether it
    loaded any, and their sum as the warm start's total; ``wall`` is the child's whole process
    time (imports and model build included). An unreadable child JSON is the row's error."""
    try:
        c = json.loads(Path(child_json).read_text())["rows"][0]
    except (OSError, ValueError, IndexError, KeyError) as e:
        return {"row": "warm", "pipeline": "warm start", "process_seconds": wall, "error": f"{e}; {stderr[-400:]}"}
    first, setup = c.get("first_video_seconds"), c.get("compile_setup_seconds")
    return {"row": "warm", "pipeline": "ours exact compiled, warm start (new process, saved artifacts)",
            "first_video_seconds": first, "compile_setup_seconds": setup, "artifacts_loaded": c.get("artifacts_loaded"),
            "warm_start_seconds": first + setup if first is not None and setup is not None else None,
            "seconds": c.get("seconds"), "process_seconds": wall, "error": c.get("error")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", "--size", dest="model", default=None,
                    help="model config: tiny (CPU default) or svd / svd_xt (GPU default)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=1, help="timed runs per row after its warm-up (median)")
    ap.add_argument("--decode-chunk", type=int, default=8, help="diffusers' decode chunk (its usual 8)")
    ap.add_argument("--memory-budget", type=float, default=10.0, help="GiB: our exact rows' decode windows fit this")
    ap.add_argument("--low-memory-gib", type=float, default=8.0,
                    help="the low-memory row's budget, enforced on CUDA with set_per_process_memory_fraction")
    ap.add_argument("--cache-threshold", type=float, default=0.05, help="the fast row's First-Block-Cache threshold")
    ap.add_argument("--compile-mode", default="default", help="torch.compile mode of the exact compiled row")
    ap.add_argument("--compile-backend", default="inductor", choices=("inductor", "eager"),
                    help="eager: dynamo traces the compiled rows' units without generating code, which lets the "
                         "compiled and fast rows run on a CPU (a check of the bench, not a timing)")
    ap.add_argument("--compile-cache", default="bench/results/compile_cache",
                    help="folder for compiled artifacts; the warm row loads them in a second process")
    ap.add_argument("--only", default=",".join(ROWS), help=f"comma list of rows to run ({', '.join(ROWS)})")
    ap.add_argument("--profile", action="store_true",
                    help="after the rows: the top kernels of a 2-step video of ours as the last row left it "
                         "(compiled when the compiled row ran), by device time")
    ap.add_argument("--json", default="bench/results/img2vid.json")
    args = ap.parse_args()

    from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline

    from eval.metrics import psnr
    from video.models.components import clip_image_processor

    wanted = set(args.only.split(","))
    unknown = wanted - set(ROWS)
    if unknown:
        ap.error(f"unknown rows {sorted(unknown)}; choose from {', '.join(ROWS)}")
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    dtype = torch.float16 if cuda else torch.float32
    size = args.model or ("svd_xt" if cuda else "tiny")
    cfg = load_model_config(size)
    s = cfg.sampling
    frames, steps = args.frames or s.num_frames, args.steps or s.num_inference_steps
    h, w = s.height, s.width
    ref_chunk = min(args.decode_chunk, frames)

    t = time.perf_counter()
    models = build_random(cfg, seed=0, device=device, dtype=dtype)
    build_s = time.perf_counter() - t
    ours = ImageToVideo(models, device=device, dtype=dtype)
    # One decode plan for every exact row of ours, so their frames compare bit for bit: the window
    # the memory budget allows with all weights resident, no overlap (diffusers' plain chunking).
    chunk = auto_chunk_size(models.vae, frames, h, w, dtype, device, args.memory_budget)
    scheduler = EulerDiscreteScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, prediction_type="v_prediction",
        use_karras_sigmas=True, sigma_min=s.sigma_min, sigma_max=s.sigma_max, timestep_spacing="leading",
        timestep_type="continuous", interpolation_type="linear", steps_offset=1)
    ref = StableVideoDiffusionPipeline(vae=models.vae, image_encoder=models.image_encoder, unet=models.unet,
                                       scheduler=scheduler, feature_extractor=clip_image_processor())
    ref.set_progress_bar_config(disable=True)

    image = resize_center_crop(load_image(DEFAULT_IMAGE), h, w)
    latents = torch.randn(1, frames, 4, h // 8, w // 8, generator=torch.Generator().manual_seed(0)).to(device, dtype)
    common = dict(num_frames=frames, height=h, width=w, fps=s.fps, motion_bucket_id=s.motion_bucket_id,
                  noise_aug_strength=s.noise_aug_strength, min_guidance_scale=s.min_guidance_scale,
                  max_guidance_scale=s.max_guidance_scale)
    flops = unet_flops(models, frames, h, w, device, dtype)

    def run_ref(n=steps):
        out = ref(image, num_inference_steps=n, decode_chunk_size=ref_chunk, latents=latents,
                  generator=torch.Generator().manual_seed(1), output_type="np", **common).frames[0]
        return (out * 255).round().astype(np.uint8)

    def run_ours(n=steps, **kw):
        kw = {"decode_chunk_size": chunk, "decode_overlap": 0, **kw}
        return ours(image, num_inference_steps=n, latents=latents, generator=torch.Generator().manual_seed(1),
                    **common, **kw)

    result = {
        "device": torch.cuda.get_device_name(device) if cuda else platform.processor() or "cpu",
        "torch": torch.__version__, "model": size, "dtype": str(dtype).replace("torch.", ""),
        "frames": frames, "steps": steps, "height": h, "width": w, "diffusers_decode_chunk": ref_chunk,
        "our_decode_chunk": chunk, "memory_budget_gib": args.memory_budget, "repeats": args.repeats,
        "build_seconds": build_s, "unet_tflop_per_eval": flops / 1e12, "cache_threshold": args.cache_threshold,
        "rows": [], "skipped": [],
        "note": "random weights; same latents and inputs for all rows; TFLOP/s counts the exact path's UNet "
                "FLOPs (FlopCounterMode) over the denoise time, so the fast row's figure is exact-equivalent",
    }
    out_path = Path(args.json)
    outputs: dict[str, np.ndarray] = {}

    def write():
        from eval.report import json_safe  # identical frames give inf PSNR: null in JSON
        from video.atomic import atomic_file

        with atomic_file(out_path) as tmp:
            Path(tmp).write_text(json.dumps(json_safe(result), indent=2))

    def skip(name, why):
        print(f"skip {name}: {why}", flush=True)
        result["skipped"].append({"row": name, "why": why})
        write()

    def row(name, label, fn, warmup=None, compile_first=False, extra=None):
        """Warm up (or time the cold first video), time ``repeats`` videos, score, record."""
        r = {"row": name, "pipeline": label}
        try:
            if compile_first:  # the first video compiles: its time is the cold start
                sync(device)
                t0 = time.perf_counter()
                fn()
                sync(device)
                r["first_video_seconds"] = time.perf_counter() - t0
            elif warmup is not None:
                warmup()
            sec, peak, out, times = timed(fn, device, args.repeats)
        except Exception as e:  # noqa: BLE001 - a failed row is a result; the other rows still run
            r["error"] = f"{type(e).__name__}: {e}"[:500]
            print(f"{label}: FAILED {r['error']}", flush=True)
            result["rows"].append(r)
            write()
            return None
        # steps over the whole video (encode and decode included): the one rate diffusers' row has
        r.update(seconds=sec, runs=times, peak_gib=peak if cuda else None, whole_video_steps_per_second=steps / sec)
        if name == "diffusers":  # its pipeline times no phase: no denoise rate, UNet rate over the whole video
            r.update(whole_video_unet_tflops=flops * steps / sec / 1e12)
        else:
            tm = ours.last_timings
            r.update(split_guidance=ours.last_split_guidance)
            r.update(denoise_seconds=tm.denoise, decode_seconds=tm.decode, encode_seconds=tm.encode,
                     steps_per_second=steps / tm.denoise, unet_tflops=flops * tm.evaluations / tm.denoise / 1e12,
                     skipped_evaluations=tm.skipped, evaluations=tm.evaluations, decode_chunk_used=tm.decode_chunk)
        if "eager" in outputs and name != "eager":
            r["psnr_vs_eager_db"] = psnr(out, outputs["eager"])
        if "diffusers" in outputs and name != "diffusers":  # bounded by the decode windows (bench/NOTES.md)
            r["psnr_vs_diffusers_db"] = psnr(out, outputs["diffusers"])
        if name == "eager" and "diffusers" in outputs:  # our plain path against diffusers' own frames
            for x in result["rows"]:
                if x["row"] == "diffusers":
                    x["psnr_vs_eager_db"] = psnr(outputs["diffusers"], out)
        r.update(video_metrics(out))
        r.update(extra or {})
        outputs[name] = out
        result["rows"].append(r)
        base = next((x["seconds"] for x in result["rows"] if x["row"] == "diffusers" and "seconds" in x), None)
        eager = next((x["seconds"] for x in result["rows"] if x["row"] == "eager" and "seconds" in x), None)
        r["speedup_vs_diffusers"] = base / sec if base else None
        r["speedup_vs_eager"] = eager / sec if eager else None
        print(f"{label}: {sec:.2f} s" + (f", peak {peak:.2f} GiB" if cuda else ""), flush=True)
        write()
        return out

    print(f"{result['device']} | {size} {result['dtype']} | {frames} frames {w}x{h}, {steps} steps | "
          f"UNet {flops / 1e12:.2f} TFLOP per evaluation | our decode window {chunk} (budget {args.memory_budget} GiB)",
          flush=True)
    if "diffusers" in wanted:
        row("diffusers", f"diffusers (decode chunk {ref_chunk})", run_ref, warmup=lambda: run_ref(2))
    if "eager" in wanted:  # the reference the others are scored on
        row("eager", f"ours eager (chunk {chunk})", run_ours, warmup=lambda: run_ours(2))
    if "lowmem" in wanted:
        cap = args.low_memory_gib * GIB
        if cuda:
            torch.cuda.empty_cache()
            total = torch.cuda.get_device_properties(device).total_memory
            torch.cuda.set_per_process_memory_fraction(min(1.0, cap / total), device)
        try:  # inside the try: a failed offload set-up costs this row, not the ones after it
            ours.set_offload("model")  # a CPU runs without it (a warning): the label says what ran
            offload = "none" if isinstance(ours.offload, NoOffload) else "model"
            what = (f"offload, {args.low_memory_gib:g} GiB" if cuda else
                    f"{args.low_memory_gib:g} GiB decode budget" + (", offload" if offload == "model" else ""))
            row("lowmem", f"ours low memory ({what})",
                lambda: run_ours(decode_chunk_size=None, memory_budget_gib=args.low_memory_gib),
                warmup=lambda: run_ours(2, decode_chunk_size=None, memory_budget_gib=args.low_memory_gib),
                extra={"memory_cap_gib": args.low_memory_gib if cuda else None, "offload": offload})
        finally:
            ours.set_offload("none")
            if cuda:
                torch.cuda.set_per_process_memory_fraction(1.0, device)
                torch.cuda.empty_cache()
    compiled = False
    backend_said = "" if args.compile_backend == "inductor" else f", {args.compile_backend} backend"
    if "compiled" in wanted:
        if not cuda and args.compile_backend == "inductor":
            skip("compiled", "torch.compile of the UNet runs on CUDA only in this bench (minutes on a CPU)")
        else:
            t0 = time.perf_counter()
            n = compile_ours(ours, args.compile_mode, args.compile_cache or None, args.compile_backend)
            setup = time.perf_counter() - t0
            compiled = row("compiled", f"ours exact, compiled blocks ({args.compile_mode}{backend_said})", run_ours,
                           compile_first=True, extra={"compiled_blocks": n, "compile_setup_seconds": setup,
                                                      "compile_mode": args.compile_mode,
                                                      "compile_backend": args.compile_backend,
                                                      "artifacts_loaded": bool(ours.compile_cache
                                                                               and ours.compile_cache.loaded)}) is not None
            if result["rows"] and result["rows"][-1]["row"] == "compiled":
                result["rows"][-1]["compile"] = compile_stats()
                write()
    if "warm" in wanted:
        if not cuda or not compiled or not args.compile_cache or args.compile_backend != "inductor":
            skip("warm", "needs CUDA, the compiled row (inductor) and --compile-cache")
        else:  # a fresh process loads the artifacts the compiled row saved
            child = out_path.with_name(out_path.stem + "_warm.json")
            cmd = [sys.executable, __file__, "--model", size, "--device", args.device, "--frames", str(frames),
                   "--steps", str(steps), "--repeats", "1", "--only", "compiled", "--compile-mode", args.compile_mode,
                   "--compile-cache", args.compile_cache, "--memory-budget", str(args.memory_budget),
                   "--json", str(child)]
            t0 = time.perf_counter()
            with tempfile.TemporaryDirectory() as fresh:  # empty inductor / Triton caches: only the
                env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": fresh,  # saved artifacts can make it warm
                       "TRITON_CACHE_DIR": os.path.join(fresh, "triton")}
                try:  # a hung child must not eat the rows after it (the call's time limit kills all)
                    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=WARM_TIMEOUT_S)
                except subprocess.TimeoutExpired as e:
                    proc = subprocess.CompletedProcess(cmd, -9, "", f"timed out after {e.timeout:g} s")
            wall = time.perf_counter() - t0
            r = warm_start_row(child, wall, proc.stderr or "")
            print(f"{r['pipeline']}: first video {r.get('first_video_seconds')} s, compile set-up "
                  f"{r.get('compile_setup_seconds')} s, artifacts loaded {r.get('artifacts_loaded')}", flush=True)
            result["rows"].append(r)
            write()
    if "fast" in wanted:  # after warm: with a compiled row before it, its first video recompiles
        label = f"ours fast (FBCache {args.cache_threshold:g}" + (f", compiled{backend_said})" if compiled else ", eager)")
        graphs = unique_graphs()
        out = row("fast", label, lambda: run_ours(cache_threshold=args.cache_threshold),
                  warmup=None if compiled else lambda: run_ours(2, cache_threshold=args.cache_threshold),
                  compile_first=compiled,  # compiled: the first video (recompiling for the batch of two) is timed
                  extra={"compile_backend": args.compile_backend} if compiled else None)
        exact = outputs.get("compiled", outputs.get("eager"))
        if out is not None:
            r = result["rows"][-1]
            if compiled:
                r["graphs_compiled"] = unique_graphs() - graphs  # traced by its first video: its recompile
            if exact is not None:
                r["psnr_vs_exact_db"] = psnr(out, exact)
                r["exact_row"] = "compiled" if "compiled" in outputs else "eager"
            write()
    # experiments after the rows issue 10's table needs (a fatal kernel error here cannot cost them)
    if "cudnn" in wanted:  # eager with cuDNN's fused attention tried first (speed.sdpa_priority)
        ours.sdpa_first = "cudnn"
        try:
            row("cudnn", f"ours eager, cuDNN attention first (chunk {chunk})", run_ours, warmup=lambda: run_ours(2))
        finally:
            ours.sdpa_first = "torch"
    if "batched" in wanted:  # eager with the guided batch of two in one UNet call, whatever the budget
        row("batched", f"ours eager, guidance halves batched (chunk {chunk})",
            lambda: run_ours(split_guidance=False), warmup=lambda: run_ours(2, split_guidance=False))
    if "cudagraphs" in wanted:
        if not cuda:
            skip("cudagraphs", "CUDA graphs need a CUDA device")
        else:
            t0 = time.perf_counter()
            n = ours.compile(mode="reduce-overhead")
            row("cudagraphs", "ours exact, compiled blocks + CUDA graphs (reduce-overhead)", run_ours,
                compile_first=True, extra={"compiled_blocks": n, "compile_setup_seconds": time.perf_counter() - t0,
                                           "compile_mode": "reduce-overhead"})

    if args.profile:  # where a step's time goes, read rather than guessed (bench/NOTES.md)
        from torch.profiler import ProfilerActivity, profile

        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        key = "self_device_time_total" if cuda else "self_cpu_time_total"
        try:
            run_ours(2)
            with profile(activities=acts) as prof:
                run_ours(2)
                sync(device)
            events = sorted(prof.key_averages(), key=lambda e: getattr(e, key), reverse=True)[:30]
            result["profile"] = {"what": "2-step video, ours, " + ("compiled" if compiled else "eager"),
                                 "kernels": [{"name": e.key, "calls": e.count, "self_ms": getattr(e, key) / 1000}
                                             for e in events]}
        except Exception as e:  # noqa: BLE001 - the rows above are kept
            result["profile"] = {"error": f"{type(e).__name__}: {e}"[:300]}
        write()

    print(f"\n{result['device']} | {size} {result['dtype']} | {frames} frames {w}x{h}, {steps} steps, "
          f"{flops / 1e12:.2f} TFLOP per UNet evaluation | decode windows: diffusers {ref_chunk}, ours {chunk}")
    # steps/s: over the denoise alone (diffusers' pipeline times no phase: "-"); video st/s: over s/video
    head = (f"{'pipeline':58s} {'s/video':>8s} {'steps/s':>8s} {'vid st/s':>8s} {'TFLOP/s':>8s} {'peak GiB':>8s} "
            f"{'first s':>8s} {'PSNR dB':>8s} {'vs diff':>8s} {'flicker':>8s} {'warp':>7s} {'x diff':>7s} {'x eager':>7s}")
    print(head)

    def f(v, fmt):
        width = int(fmt.split(".")[0])
        return format(v, fmt) if isinstance(v, (int, float)) else "-".rjust(width)

    for r in result["rows"]:
        if r.get("error") and "seconds" not in r:
            print(f"{r['pipeline'][:58]:58s} FAILED: {r['error'][:120]}")
            continue
        print(f"{r['pipeline'][:58]:58s} {f(r.get('seconds'), '8.2f')} {f(r.get('steps_per_second'), '8.2f')} "
              f"{f(r.get('whole_video_steps_per_second'), '8.2f')} "
              f"{f(r.get('unet_tflops'), '8.3g')} {f(r.get('peak_gib'), '8.2f')} {f(r.get('first_video_seconds'), '8.1f')} "
              f"{f(r.get('psnr_vs_eager_db'), '8.1f')} {f(r.get('psnr_vs_diffusers_db'), '8.1f')} "
              f"{f(r.get('flicker'), '8.4f')} {f(r.get('warp_error'), '7.4f')} "
              f"{f(r.get('speedup_vs_diffusers'), '6.2f')}x {f(r.get('speedup_vs_eager'), '6.2f')}x")
        if r.get("error"):
            print(f"{'':58s} error: {r['error'][:160]}")
        if "compile" in r:
            st, ph = r["compile"]["stats"], r["compile"]["phases_s"]
            top = ", ".join(f"{k} {v:.0f} s" for k, v in list(ph.items())[:4] if isinstance(v, float))
            print(f"{'':58s} dynamo: {st.get('unique_graphs')} graphs, {st.get('calls_captured')} ops; {top}")
        if r["row"] == "fast" and "psnr_vs_exact_db" in r:
            print(f"{'':58s} skipped {r['skipped_evaluations']}/{r['evaluations']} UNet evaluations; "
                  f"PSNR vs exact ({r['exact_row']}) {r['psnr_vs_exact_db']:.1f} dB")
        if r["row"] == "fast" and "graphs_compiled" in r:
            print(f"{'':58s} first video {r['first_video_seconds']:.1f} s, {r['graphs_compiled']} graphs "
                  "compiled for the guided batch of two")
        if r["row"] == "warm" and r.get("warm_start_seconds") is not None:
            print(f"{'':58s} warm start {r['warm_start_seconds']:.1f} s (set-up {r['compile_setup_seconds']:.1f} s "
                  f"+ first video), artifacts loaded: {r['artifacts_loaded']}")
    prof = result.get("profile", {})
    if "kernels" in prof:
        print(f"\ntop kernels, {prof['what']} (self ms):")
        for e in prof["kernels"][:15]:
            print(f"  {e['self_ms']:9.2f}  x{e['calls']:<5d} {e['name'][:90]}")
    elif "error" in prof:
        print(f"\nprofile: {prof['error']}")
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
