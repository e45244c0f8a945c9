"""Seconds per frame of a masked edit beside plain generation of the same size, same run.

    python bench/edit.py                          # tiny DiT on whatever device is here
    python bench/edit.py --model tiny-svd         # the tiny SVD
    python bench/edit.py --model PATH --frames 81 --height 480 --width 832   # a real model on a GPU

Plain generation renders the input clip (text-to-video from a prompt, or image-to-video from
the bundled photo for SVD); the edits then regenerate a centred box (inpaint, strength 1) and
the whole frame (restyle, strength 0.5) of that clip with the same number of steps, so the
network evaluations match and the difference is the editing overhead (VAE encode, masks,
re-noising, composite). Writes JSON (default bench/results/edit.json).
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny", help="tiny, tiny-svd, or a model folder / file")
    ap.add_argument("--frames", type=int, default=0, help="default: the model's window")
    ap.add_argument("--height", type=int, default=0)
    ap.add_argument("--width", type=int, default=0)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", default="bench/results/edit.json")
    args = ap.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
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
    result = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
              "dtype": str(dtype).replace("torch.", ""), "model": args.model, "frames": frames, "height": height,
              "width": width, "steps": args.steps, "reps": args.reps, "rows": rows}
    print(f"\n{result['device']} | {result['dtype']} | {args.model} | {frames} frames {width}x{height}, "
          f"{args.steps} steps")
    print(f"{'run':32s} {'s':>8s} {'s/frame':>8s} {'x plain':>8s}")
    for r in rows:
        print(f"{r['run']:32s} {r['seconds']:8.3f} {r['seconds_per_frame']:8.4f} {r['vs_plain']:8.2f}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
