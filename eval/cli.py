"""``video eval``: registered on the ``video`` command's subparsers by ``add_eval_command``."""

from __future__ import annotations

import argparse
import sys

from eval.inputs import EvalError
from video.media import MediaError


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.runner import evaluate

    if args.device == "auto":
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        r = evaluate(args.generated, reference=args.reference, prompts=args.prompts, out=args.out,
                     i3d=args.i3d, clip=args.clip, videomae=args.videomae, lpips=args.lpips, device=args.device)
    except (EvalError, MediaError) as e:  # the user's to fix: one line (--debug for the traceback)
        if getattr(args, "debug", False):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    agg = r["aggregate"]
    shown = ", ".join(f"{k} {v:.4g}" for k, v in agg.items() if isinstance(v, float))
    print(f"evaluated {agg['num_videos']} videos -> {args.out}/metrics.json, {args.out}/report.html"
          + (f": {shown}" if shown else ""))
    return 0


def add_eval_command(subparsers) -> argparse.ArgumentParser:
    """Register ``eval`` on an argparse subparsers object; its handler is ``args.func``."""
    p = subparsers.add_parser(
        "eval", help="score generated videos: FVD, CLIP-SIM, temporal consistency, PSNR/SSIM/LPIPS",
        description="Score generated videos and write metrics.json and report.html. Metrics whose "
                    "weights are not given are skipped with a note; nothing is downloaded.")
    p.add_argument("generated", help="a video (.mp4, .webm, .gif), a folder of PNG frames, or a folder of them")
    p.add_argument("--reference", default=None,
                   help="folder of reference videos, matched to generated ones by name (PSNR, SSIM, LPIPS, FVD)")
    p.add_argument("--prompts", default=None,
                   help="prompts: a text file with one line per video in name order, or JSON {name: prompt}")
    p.add_argument("--out", default="eval_out", help="output folder for metrics.json and report.html (default eval_out)")
    p.add_argument("--i3d", default=None, help="I3D TorchScript file for FVD (e.g. StyleGAN-V's i3d_torchscript.pt)")
    p.add_argument("--clip", default=None, help="transformers CLIP folder (model + tokenizer) for CLIP-SIM")
    p.add_argument("--videomae", default=None, help="transformers VideoMAE folder for the VideoMAE FVD")
    p.add_argument("--lpips", default=None, help="LPIPS TorchScript file (see eval/lpips.py for the export)")
    p.add_argument("--device", default="auto", help="torch device for the learned metrics: cuda, cpu, or auto")
    p.set_defaults(func=cmd_eval)
    return p
