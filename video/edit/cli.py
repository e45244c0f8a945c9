"""``video edit TASK``: registered on the ``video`` command's subparsers by ``add_edit_command``.

TASK is one of inpaint, outpaint, background, recolour, restyle (:mod:`video.edit.recipes`).
As for the other subcommands, every flag is a key of the :class:`EditConfig` schema, so a
flag, a line of a ``--config`` YAML and a trailing ``key=value`` set the same thing (flags win
over ``key=value``, which wins over the YAML). User errors raise ``InputError`` /
``MediaError``, which the ``video`` command prints as one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TASK_HELP = {
    "inpaint": "regenerate the masked region (--mask or --box) from --prompt",
    "outpaint": "grow the canvas (--pad or --aspect) and fill the new border",
    "background": "replace all but the subject (--mask: the subject), or composite it over --background",
    "recolour": "shift hue (--hue degrees) and saturation inside the mask; --strength harmonises",
    "restyle": "SDEdit the whole frame from --prompt (--strength 0.3-0.7)",
}
DEFAULT_STRENGTH = {"inpaint": 1.0, "outpaint": 0.95, "background": 1.0, "recolour": 0.0, "restyle": 0.5}


@dataclass
class EditConfig:
    model: str = "tiny"
    video: str = ""
    mask: str = ""  # file, image folder; for background: the subject's mask
    box: str = ""  # x0,y0,x1,y1[@f0:f1]
    invert: bool = False
    soft: bool = False
    prompt: str = ""
    negative: str = ""  # empty: the model's default
    strength: float = -1.0  # -1: the task's default
    steps: int = 0
    guidance: float = -1.0
    seed: int = 0
    output: str = "edit.mp4"
    pad: str = ""  # N | V,H | T,R,B,L pixels
    aspect: str = ""  # W:H
    hue: float = 0.0
    saturation: float = 1.0
    background: str = ""  # clip or image to composite the subject over
    harmonise: float = 0.0
    feather: int = -1  # -1: the latent cell size
    frames: int = 0  # 0: all
    height: int = 0
    width: int = 0
    window: int = 0
    overlap: int = -1
    sampler: str = ""
    shift: float = 0.0
    fps: float = 0.0  # 0: the input's
    device: str = "auto"
    dtype: str = "auto"
    sdpa: str = "torch"  # attention kernel tried first: torch (its own order), cudnn, flash, efficient
    crf: int = 18


EDIT_FLAGS = {
    # flag: (schema key, help)
    "--model": ("model", "'tiny' (our tiny DiT), 'tiny-svd', our T2V folder, a Wan 2.1 / VACE folder, or an SVD "
                         "folder or .safetensors file"),
    "--video": ("video", "input video: a file, a folder of images, or one image"),
    "--mask": ("mask", "mask video, image or image folder (white = edit); for background: the subject's mask"),
    "--box": ("box", "box mask x0,y0,x1,y1 in input pixels, optionally @f0:f1 for frames [f0, f1)"),
    "--prompt": ("prompt", "what to draw, in the prompt language (ignored by SVD, which follows the first frame)"),
    "--negative": ("negative", "negative prompt"),
    "--strength": ("strength", "0 keeps the input, 1 regenerates from noise (defaults: inpaint 1, outpaint 0.95, "
                               "background 1, restyle 0.5; recolour: the harmonising strength, default 0)"),
    "--steps": ("steps", "sampling steps below the starting noise level"),
    "--guidance": ("guidance", "classifier-free guidance scale (SVD: the last frame's scale)"),
    "--seed": ("seed", "random seed"),
    "--output": ("output", "output file: .mp4, .webm, .gif, or a folder for PNG frames"),
    "--pad": ("pad", "outpaint: pixels to add, N or V,H or T,R,B,L"),
    "--aspect": ("aspect", "outpaint: pad to this aspect ratio, W:H (e.g. 16:9)"),
    "--hue": ("hue", "recolour: hue rotation in degrees"),
    "--saturation": ("saturation", "recolour: saturation factor"),
    "--background": ("background", "background: clip or image to composite the subject over"),
    "--harmonise": ("harmonise", "background with --background: regenerate the background at this strength"),
    "--feather": ("feather", "width in pixels of the mask's soft inner edge (default: the latent cell size)"),
    "--frames": ("frames", "edit only the first N frames (default: all)"),
    "--height": ("height", "working height (default: the input's, rounded down to the model's multiple)"),
    "--width": ("width", "working width"),
    "--window": ("window", "frames per model window (default: the model's length)"),
    "--overlap": ("overlap", "frames shared by neighbouring windows (default: a quarter window)"),
    "--sampler": ("sampler", "euler or heun"),
    "--shift": ("shift", "flow time shift (default: the model's)"),
    "--fps": ("fps", "output frame rate (default: the input's)"),
    "--device": ("device", "cuda, cpu, or auto"),
    "--dtype": ("dtype", "bfloat16, float16, float32, or auto"),
    "--sdpa": ("sdpa", "attention kernel tried first on CUDA (as in img2vid): torch (its own order), cudnn, flash, "
                       "efficient"),
    "--crf": ("crf", "x264 quality, lower is better"),
}
EDIT_SWITCHES = {
    "--invert": ("invert", "edit everything except the mask"),
    "--soft": ("soft", "grey mask levels are per-pixel strength (else thresholded at 0.5)"),
}


def _resolve(args) -> EditConfig:
    from video.cli import resolve_flags

    return resolve_flags(EditConfig, args, {**EDIT_FLAGS, **EDIT_SWITCHES})


def run_edit(task: str, cfg: EditConfig):
    """Load, run the recipe, write; returns (path, frames, fps, seconds)."""
    import torch

    from video.edit.editor import Editor
    from video.edit.mask import IMAGE_SUFFIXES, load_frames, parse_box
    from video.edit.recipes import RECIPES
    from video.media import probe_video, write_video
    from video.runtime.img2vid import InputError

    if task not in TASK_HELP:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(TASK_HELP)}")
    if not cfg.video:
        raise InputError("give the video to edit with --video")
    if cfg.mask and cfg.box:
        raise InputError("give either --mask or --box, not both")
    from video.runtime.speed import SDPA_FIRST

    if cfg.sdpa not in SDPA_FIRST:
        raise InputError(f"--sdpa must be one of {', '.join(SDPA_FIRST)}, got {cfg.sdpa!r}")
    mask = parse_box(cfg.box) if cfg.box else (cfg.mask or None)
    video = load_frames(cfg.video)  # fail on a bad input before loading weights
    fps = cfg.fps
    if not fps and Path(cfg.video).is_file() and Path(cfg.video).suffix.lower() not in IMAGE_SUFFIXES:
        fps = probe_video(cfg.video)["fps"] or 0
    t0 = time.perf_counter()
    needs_model = not (task == "recolour" and cfg.strength <= 0) and not (task == "background" and cfg.background
                                                                          and cfg.harmonise <= 0)
    editor = None
    if needs_model:
        from video.cli import device_and_dtype

        device, dtype = device_and_dtype(cfg.device, cfg.dtype, cuda_dtype="bfloat16")
        editor = Editor.from_pretrained(cfg.model, device=device, dtype=dtype)
        editor.sdpa_first = cfg.sdpa
        if str(cfg.model).startswith("tiny"):
            print(f"note: '{cfg.model}' has random weights (a smoke run); real weights come from --model PATH",
                  file=sys.stderr)
        fps = fps or editor.backend.pipe.config.sampling.fps
    fps = fps or 8
    strength = DEFAULT_STRENGTH[task] if cfg.strength < 0 else cfg.strength
    kw = dict(prompt=cfg.prompt, num_frames=cfg.frames or None, height=cfg.height or None, width=cfg.width or None)
    model_kw = dict(negative_prompt=cfg.negative or None, num_inference_steps=cfg.steps or None,
                    guidance_scale=None if cfg.guidance < 0 else cfg.guidance,
                    generator=torch.Generator().manual_seed(cfg.seed), window=cfg.window or None,
                    overlap=None if cfg.overlap < 0 else cfg.overlap, sampler=cfg.sampler or None,
                    shift=cfg.shift or None, progress=True)
    if cfg.feather >= 0:
        model_kw["feather_px"] = cfg.feather
    recipe = RECIPES[task]
    if task == "recolour":
        if cfg.frames:
            video = video[:cfg.frames]
        extra = dict(model_kw, num_frames=kw["num_frames"], height=kw["height"], width=kw["width"]) if editor else {}
        frames = recipe(editor, video, mask, hue=cfg.hue, saturation=cfg.saturation, harmonise=strength,
                        invert=cfg.invert, prompt=cfg.prompt, **extra)
    elif task == "background":
        if cfg.background:
            if cfg.frames:
                video = video[:cfg.frames]
            extra = dict(model_kw, **{k: kw[k] for k in ("num_frames", "height", "width")}) if editor else {}
            frames = recipe(editor, video, mask, prompt=cfg.prompt, background=cfg.background,
                            harmonise=cfg.harmonise, **extra)
        else:
            frames = recipe(editor, video, mask, strength=strength, **kw, **model_kw)
    elif task == "outpaint":
        if cfg.frames:
            video = video[:cfg.frames]
        model_kw.pop("generator")
        frames = recipe(editor, video, pad=cfg.pad or None, aspect=cfg.aspect or None, strength=strength,
                        generator=torch.Generator().manual_seed(cfg.seed), prompt=cfg.prompt, **model_kw)
    elif task == "restyle":
        frames = recipe(editor, video, strength=strength, **kw, **model_kw)
    else:
        frames = recipe(editor, video, mask, strength=strength, invert=cfg.invert, soft=cfg.soft, **kw, **model_kw)
    seconds = time.perf_counter() - t0
    out = write_video(frames, cfg.output, fps=fps, crf=cfg.crf)
    return out, frames, fps, seconds


def cmd_edit(args: argparse.Namespace) -> int:
    cfg = _resolve(args)
    out, frames, fps, seconds = run_edit(args.task, cfg)
    f, h, w, _ = frames.shape
    print(f"wrote {out} ({f} frames, {w}x{h}, {fps:g} fps): {args.task} in {seconds:.2f}s")
    return 0


def add_edit_command(subparsers) -> argparse.ArgumentParser:
    """Register ``edit TASK`` on an argparse subparsers object; the handler is ``args.func``."""
    p = subparsers.add_parser(
        "edit", help="edit a video: inpaint, outpaint, background, recolour, restyle",
        description="Masked video-to-video regeneration with any model we run (training-free): the masked part "
                    "is regenerated from the prompt, the rest is kept exactly. Videos longer than the model's "
                    "window are edited in overlapping windows.")
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for task, help_ in TASK_HELP.items():
        t = tasks.add_parser(task, help=help_, description=help_)
        for flag, (_key, fhelp) in EDIT_FLAGS.items():
            t.add_argument(flag, default=None, help=fhelp)
        for flag, (_key, fhelp) in EDIT_SWITCHES.items():
            t.add_argument(flag, action="store_true", default=None, help=fhelp)
        t.add_argument("--config", default=None, help="YAML file with any of these keys")
        t.add_argument("overrides", nargs="*", help="key=value overrides of the same keys")
        t.set_defaults(func=cmd_edit)
    return p


__all__ = ["EditConfig", "add_edit_command", "cmd_edit", "run_edit"]
