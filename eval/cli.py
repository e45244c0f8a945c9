"""``video eval``: registered on the ``video`` command's subparsers by ``add_eval_command``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from eval.inputs import EvalError
from video.config import ConfigError
from video.media import MediaError, plural


@dataclass
class EvalConfig:
    """``video eval``'s options: a flag, a ``--config`` YAML key and ``key=value`` each (empty:
    not given, the metric it feeds is skipped with a note)."""

    reference: str = ""
    prompts: str = ""
    out: str = "eval_out"
    i3d: str = ""
    clip: str = ""
    videomae: str = ""
    lpips: str = ""
    device: str = "auto"
    fvd_frames: int = 16  # eval.fvd.FVD_FRAMES (not imported here: that pulls in torch)


EVAL_FLAGS = {
    "--reference": ("reference", "a reference video file or a folder of them, matched to generated ones by name "
                                 "(PSNR, SSIM, LPIPS, FVD), or a curate manifest.parquet or its OUT folder (its kept "
                                 "clips, each named by clip_id: renders named <clip_id>.mp4 pair with them); "
                                 "default: none, those metrics are skipped"),
    "--prompts": ("prompts", "prompts: a text file with one line per video in natural name order (clip_2 before "
                             "clip_10), or JSON {name: prompt}; "
                             "default: none: with --clip, clip_text (text-frame similarity) is skipped and "
                             "clip_frame (frame-frame) still scored"),
    "--out": ("out", "output folder for metrics.json and report.html (default eval_out)"),
    "--i3d": ("i3d", "I3D TorchScript file for FVD (e.g. StyleGAN-V's i3d_torchscript.pt); default: none"),
    "--clip": ("clip", "transformers CLIP folder (model + tokenizer) for CLIP-SIM; default: none"),
    "--videomae": ("videomae", "transformers VideoMAE folder for the VideoMAE FVD; default: none"),
    "--lpips": ("lpips", "LPIPS TorchScript file (see eval/lpips.py for the export); default: none"),
    "--fvd-frames": ("fvd_frames", "FVD compares the first N frames of every generated and reference clip (I3D; "
                                   "VideoMAE uses its model's frame count); a shorter clip skips FVD with a note "
                                   "(default 16, as the original FVD)"),
    "--device": ("device", "torch device for the learned metrics: cuda, cuda:N, cpu, or auto (default auto: CUDA "
                           "when present); checked even when no learned metric runs"),
}


# the ``.[eval]`` extra's import names, each with the package pip installs (pyproject.toml)
EVAL_EXTRA = {"cv2": "opencv-python-headless", "matplotlib": "matplotlib", "duckdb": "duckdb",
              "pandas": "pandas", "pyarrow": "pyarrow", "scipy": "scipy"}
# what every ``video eval`` run imports: the temporal metrics (cv2 flow) and the report's plots
EVAL_NEEDS = ("cv2", "matplotlib")


def missing_extra(e: ImportError) -> str | None:
    """The one-line error for an ``.[eval]`` package that is not installed, or installed but
    failing to load (a missing libGL.so.1, an ABI mismatch: its own message, since "pip
    install" would answer "already satisfied"), else None (an ImportError of anything else is a
    bug, not the user's to fix: it keeps its traceback)."""
    top = (e.name or "").split(".")[0]
    if top not in EVAL_EXTRA:
        return None
    if not isinstance(e, ModuleNotFoundError) or e.name != top:  # installed, but does not load
        return f"video eval could not import {top} ({EVAL_EXTRA[top]}), which is installed: {e}"
    return f'video eval needs the {EVAL_EXTRA[top]} package (import {top}): pip install -e ".[eval]"'


def check_eval_extra() -> None:
    """Import what every run needs before any video is read, so a missing ``.[eval]`` package is
    one line up front instead of a traceback after the first notes and decodes."""
    import importlib

    for name in EVAL_NEEDS:
        importlib.import_module(name)


def show_progress(args: argparse.Namespace) -> bool:
    """The bar over the videos: on a terminal, unless ``--quiet`` (as ``curate run``'s). Off a
    terminal (a log file, a pipe, CI) stderr stays the notes and errors alone, one per line: a
    bar there is a carriage-return smear that buries them."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.inputs import torch_device
    from eval.runner import evaluate
    from video.flags import UserError, resolve_flags

    try:
        cfg = resolve_flags(EvalConfig, args, EVAL_FLAGS)
        check_eval_extra()
        if cfg.device == "auto":
            import torch

            cfg.device = "cuda" if torch.cuda.is_available() else "cpu"
        device = str(torch_device(cfg.device))  # a missing device is an error, also when no learned metric runs
        r = evaluate(args.generated, reference=cfg.reference or None, prompts=cfg.prompts or None, out=cfg.out,
                     i3d=cfg.i3d or None, clip=cfg.clip or None, videomae=cfg.videomae or None,
                     lpips=cfg.lpips or None, device=device, fvd_frames=cfg.fvd_frames,
                     progress=show_progress(args))
    except (EvalError, MediaError, UserError, ConfigError) as e:  # the user's to fix: one line (--debug: traceback)
        if getattr(args, "debug", False):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:  # an .[eval] package missing: one line naming it and the extra
        msg = missing_extra(e)
        if msg is None or getattr(args, "debug", False):
            raise
        print(f"error: {msg}", file=sys.stderr)
        return 2
    agg = r["aggregate"]
    shown = summary(agg)
    out = Path(cfg.out)  # joined as paths: "--out eval_out/" gave "eval_out//metrics.json"
    partly = r.get("partly_decoded") or []  # scored on fewer frames: said where a script reads the result
    cut = f"; {plural(len(partly), 'file')} cut short, scored on the frames that decode (partly_decoded)" if partly else ""
    print(f"evaluated {plural(agg['num_videos'], 'video')} -> {out / 'metrics.json'}, {out / 'report.html'}"
          + (f": {shown}" if shown else "") + cut)
    if r["unreadable"]:  # scored without them: a script must not take the run for a whole one
        k = len(r["unreadable"])
        print(f"error: {plural(k, 'video')} could not be decoded and {'was' if k == 1 else 'were'} skipped "
              f"(named in the notes above and in {out / 'metrics.json'}); the others were scored", file=sys.stderr)
        return 1
    return 0


def summary(agg: dict) -> str:
    """The aggregate's metrics for the last line: each mean; ``inf`` where every video's is (PSNR
    of videos identical to their reference: the line used to leave it out, as if not scored); how
    many inf videos a mean left out; and ``over N of M videos`` where only some videos have the
    metric (a reference for some of them), as a mean over two of ten read as the run's; and
    beside an FVD, the videos on each side (``fvd_i3d 312 (8 generated, 8 reference videos)``)."""
    n, parts = agg["num_videos"], []
    for k, v in agg.items():
        if isinstance(v, float):
            inf = agg.get(f"{k}_inf", 0)
            text, left = f"{k} {v:.4g}", f" ({inf} inf, left out)" if inf else ""
        elif k.endswith("_inf") and k.removesuffix("_inf") not in agg:
            k = k.removesuffix("_inf")
            text, left = f"{k} inf", f" (all {n} videos)" if n > 1 and f"{k}_videos" not in agg else ""
        else:
            continue
        given = agg.get(f"{k}_videos", n)
        sets = f" ({agg[f'{k}_n_generated']} generated, {agg[f'{k}_n_reference']} reference videos)" \
            if f"{k}_n_generated" in agg else ""  # an FVD's number depends on N: said beside it
        parts.append(text + sets + (f" over {given} of {n} videos" if given < n else "") + left)
    return ", ".join(parts)


def add_eval_command(subparsers) -> argparse.ArgumentParser:
    """Register ``eval`` on an argparse subparsers object; its handler is ``args.func``. Every
    option is a key of :class:`EvalConfig`, so ``--config`` and ``key=value`` set it too."""
    from video.flags import add_schema_flags

    p = subparsers.add_parser(
        "eval", help="score generated videos: FVD, CLIP-SIM, temporal consistency, PSNR/SSIM/LPIPS",
        description="Score generated videos and write metrics.json and report.html. Metrics whose "
                    "weights are not given are skipped with a note; nothing is downloaded. Every option can "
                    "also be given as key=value or in a --config YAML.")
    p.add_argument("generated", help="a video (.mp4, .webm, .gif), a folder of PNG frames, or a folder of them")
    add_schema_flags(p, EVAL_FLAGS, schema=EvalConfig, list_keys=frozenset())
    p.add_argument("--quiet", action="store_true", help="no progress bar (default: one on a terminal)")
    p.set_defaults(func=cmd_eval)
    return p
