"""Image-to-video, side by side: our runtime vs diffusers' StableVideoDiffusionPipeline.

Same process, same networks (shared modules, random weights), same image, same latents, same
settings. Prints a table (seconds per video, peak GPU memory, ratio) and writes JSON.

    python bench/img2vid.py                      # tiny model on CPU (a smoke check; times mean little)
    python bench/img2vid.py --size svd_xt        # SVD-XT-sized weights, 25 frames 576x1024, on a GPU

Kept free of PyAV and imageio-ffmpeg imports so it runs on a bare GPU machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from video.config import load_model_config  # noqa: E402
from video.media import DEFAULT_IMAGE, load_image, resize_center_crop  # noqa: E402
from video.models.svd import build_random  # noqa: E402
from video.runtime.img2vid import ImageToVideo  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, repeats):
    """(median seconds, peak GiB, last output) over ``repeats`` runs after the caller's warm-up."""
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
            peak = max(peak, torch.cuda.max_memory_allocated(device) / 2**30)
    return statistics.median(times), peak, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default=None, help="model config: tiny (CPU default) or svd / svd_xt (GPU default)")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--decode-chunk", type=int, default=8, help="decode chunk for both pipelines (diffusers' usual 8)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--json", default="bench/results/img2vid.json")
    ap.add_argument("--compile", action="store_true", help="also time ours with compiled UNet/VAE blocks")
    ap.add_argument("--skip-defaults", action="store_true", help="skip the 'ours (defaults)' row")
    args = ap.parse_args()

    from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline
    from transformers import CLIPImageProcessor

    device = torch.device(args.device)
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    size = args.size or ("svd_xt" if device.type == "cuda" else "tiny")
    cfg = load_model_config(size)
    s = cfg.sampling
    frames, steps = args.frames or s.num_frames, args.steps or s.num_inference_steps
    h, w = s.height, s.width
    chunk = min(args.decode_chunk, frames)

    t = time.perf_counter()
    models = build_random(cfg, seed=0, device=device, dtype=dtype)
    build_s = time.perf_counter() - t
    ours = ImageToVideo(models, device=device, dtype=dtype)
    scheduler = EulerDiscreteScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, prediction_type="v_prediction",
        use_karras_sigmas=True, sigma_min=s.sigma_min, sigma_max=s.sigma_max, timestep_spacing="leading",
        timestep_type="continuous", interpolation_type="linear", steps_offset=1)
    ref = StableVideoDiffusionPipeline(vae=models.vae, image_encoder=models.image_encoder, unet=models.unet,
                                       scheduler=scheduler, feature_extractor=CLIPImageProcessor())
    ref.set_progress_bar_config(disable=True)

    image = resize_center_crop(load_image(DEFAULT_IMAGE), h, w)
    latents = torch.randn(1, frames, 4, h // 8, w // 8, generator=torch.Generator().manual_seed(0)).to(device, dtype)
    common = dict(num_frames=frames, height=h, width=w, fps=s.fps, motion_bucket_id=s.motion_bucket_id,
                  noise_aug_strength=s.noise_aug_strength, min_guidance_scale=s.min_guidance_scale,
                  max_guidance_scale=s.max_guidance_scale)

    def run_ref(n=steps):
        out = ref(image, num_inference_steps=n, decode_chunk_size=chunk, latents=latents,
                  generator=torch.Generator().manual_seed(1), output_type="np", **common).frames[0]
        return (out * 255).round().astype(np.uint8)

    def run_ours(n=steps, **kw):
        return ours(image, num_inference_steps=n, latents=latents, generator=torch.Generator().manual_seed(1),
                    **common, **kw)

    same = f"ours (chunk {chunk}, no overlap: same work)"
    variants = {
        "diffusers": lambda: run_ref(),
        same: lambda: run_ours(decode_chunk_size=chunk, decode_overlap=0),
    }
    if not args.skip_defaults:
        variants["ours (defaults: auto chunk, overlap 2)"] = lambda: run_ours()
    # Warm-up (kernel selection, allocator) with 2 steps each.
    run_ref(2)
    run_ours(2, decode_chunk_size=chunk, decode_overlap=0)
    rows, outputs = [], {}
    for name, fn in variants.items():
        sec, peak, out = timed(fn, device, args.repeats)
        outputs[name] = out
        rows.append({"pipeline": name, "seconds": sec, "peak_gib": peak})
    if args.compile:  # after the eager rows: the diffusers pipeline shares these modules
        from eval.metrics import psnr
        from video.runtime.speed import compile_blocks

        compile_blocks(ours)
        sync(device)
        t = time.perf_counter()
        run_ours(2, decode_chunk_size=chunk, decode_overlap=0)
        sync(device)
        compile_s = time.perf_counter() - t
        name = f"ours + compiled blocks (chunk {chunk}, no overlap)"
        sec, peak, out = timed(lambda: run_ours(decode_chunk_size=chunk, decode_overlap=0), device, args.repeats)
        rows.append({"pipeline": name, "seconds": sec, "peak_gib": peak, "compile_seconds": compile_s,
                     "psnr_vs_eager_db": psnr(out, outputs[same])})
    base = rows[0]["seconds"]
    for r in rows:
        r["speedup_vs_diffusers"] = base / r["seconds"]
    pair = list(outputs.values())
    diff = np.abs(pair[0].astype(int) - pair[1].astype(int))
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__, "model": size, "dtype": str(dtype).replace("torch.", ""),
        "frames": frames, "steps": steps, "height": h, "width": w, "decode_chunk": chunk,
        "repeats": args.repeats, "build_seconds": build_s, "rows": rows,
        "frames_within_2_of_diffusers": float((diff <= 2).mean()), "max_abs_diff": int(diff.max()),
        "note": "random weights; same latents and inputs for all rows",
    }
    print(f"\n{result['device']} | {size} {dtype} | {frames} frames {w}x{h}, {steps} steps, decode chunk {chunk}")
    print(f"{'pipeline':48s} {'s/video':>9s} {'peak GiB':>9s} {'speed-up':>9s}")
    for r in rows:
        extra = (f"  compile {r['compile_seconds']:.0f}s, PSNR vs eager {r['psnr_vs_eager_db']:.1f} dB"
                 if "compile_seconds" in r else "")
        print(f"{r['pipeline']:48s} {r['seconds']:9.2f} {r['peak_gib']:9.2f} {r['speedup_vs_diffusers']:8.2f}x{extra}")
    print(f"ours vs diffusers (same work): {100 * result['frames_within_2_of_diffusers']:.2f}% of pixels within 2/255, "
          f"max diff {result['max_abs_diff']}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
