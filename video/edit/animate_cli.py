"""``video animate``: the command line of Wan-Animate (:mod:`video.edit.animate`): its options as a
config schema, the checks that run before the weights load, and the render-and-write."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from video.edit.animate_options import DEFAULT_SEGMENT, DEFAULT_STEPS, FALLBACK_FPS, MODES, SIZE_STEP, TINY
from video.edit.cli import MODELS_FOLDER_FLAGS
from video.edit.timing import nearest_frames
from video.runtime.config import SDPA_FIRST
from video.runtime.errors import InputError


def _read_frames(path: str | None, what: str, max_frames: int | None = None):
    """A video file, folder of image frames or one image (:func:`video.edit.mask.load_frames_timed`)
    and its frame times in seconds (None but for a video file), its errors naming ``what`` it
    is; (None, None) for None. ``max_frames``: only the first ones are read."""
    from video.edit.mask import load_frames_timed
    from video.media import MediaError

    if path is None:
        return None, None
    if not Path(path).exists():
        raise MediaError(f"{what} {path} not found")
    try:
        return load_frames_timed(path, max_frames)
    except MediaError as e:
        raise MediaError(f"{what}: {e}") from None


def read_for_pose(path: str | None, what: str, pose_times: np.ndarray | None, n: int):
    """The face, background or mask video (``what``) as far as the pose video's first ``n``
    frames need it: (frames, times, rate, whole); Nones for None. A video file beside a timed
    pose video (both files) is decoded through the first frame at or after the last pose frame's
    time (:func:`video.edit.mask.read_timed_through`; ``rate``: its header's, ``whole``: it
    ended first), anything else (a folder, an image, a pose folder) only its first ``n`` frames:
    a long video was decoded whole, every frame held at once, to use a few."""
    from video.edit.mask import IMAGE_SUFFIXES, read_timed_through, video_fps
    from video.media import MediaError

    is_video = path is not None and Path(path).is_file() and Path(path).suffix.lower() not in IMAGE_SUFFIXES
    if not (is_video and pose_times is not None and n > 1):
        frames, times = _read_frames(path, what, n)
        return frames, times, None, True
    rate, until = video_fps(path), float(pose_times[n - 1])
    guess = rate or ((n - 1) / until if until > 0 else 30.0)  # how far to read at first; without a header rate, the pose's
    try:
        frames, times, whole = read_timed_through(path, until, guess)
    except MediaError as e:
        raise MediaError(f"{what}: {e}") from None
    return frames, times, rate, whole


def by_time(times: np.ndarray | None, pose_times: np.ndarray | None, n: int) -> bool:
    """Whether a video with frame ``times`` is paired with the pose video's first ``n`` frames
    by time: both are video files (a folder or an image has no timing of its own) of 2 frames
    or more."""
    return times is not None and pose_times is not None and len(times) > 1 and n > 1


def match_to_pose(frames: np.ndarray | None, times: np.ndarray | None, pose_times: np.ndarray | None,
                  n: int, what: str, rate: float | None = None, whole: bool = True) -> np.ndarray | None:
    """The ``n`` frames of the face, background or mask video (``what``) that go with the pose
    video's first ``n`` frames: where both are video files (both have ``times``), the frame
    nearest each pose frame's time (:func:`nearest_frames`); else (a folder or an image has
    no timing) frame i with pose frame i. One frame (an image, or a one-frame video) is a still:
    returned as it is, and the animator holds it for every pose frame, as ``video edit`` holds a
    one-image mask (it was refused as too short). A video that ends before the pose video's last
    frame starts is refused in one line (it would be mirrored into frames it does not have), by the
    rule masks and background clips of ``video edit`` follow (:func:`video.edit.timing.ends_before`;
    ``rate``: the video's header rate, ``whole``: ``times`` are all its frames, as
    :func:`read_for_pose` reads them)."""
    from video.edit.timing import ends_before, plays_until
    from video.media import plural

    if frames is None:
        return None
    if len(frames) == 1:
        return frames
    if not by_time(times, pose_times, n):
        if len(frames) < n:
            raise InputError(f"the {what} video has {plural(len(frames), 'frame')}; the pose video has {n} (give one "
                             f"image, held, or as many frames; or render the first {len(frames)}: "
                             f"--frames {len(frames)})")
        return frames[:n]
    pose_times = pose_times[:n]
    if ends_before(float(pose_times[-1]), times, rate, whole):  # the last pose frame comes after this video ends
        raise InputError(f"the {what} video lasts {plays_until(times, rate):.2f} s ({plural(len(frames), 'frame')}), "
                         f"the pose video {plays_until(pose_times):.2f} s ({plural(n, 'frame')}): their frames are "
                         f"matched by time, so give a {what} video as long as the pose video")
    return frames[nearest_frames(pose_times, times)]


def check_size(height: int | None, width: int | None, pose_size: tuple[int, int], step: int = SIZE_STEP) -> None:
    """The output size, checked before the weights load (a real Wan-Animate folder takes
    minutes to load, and the model refused it only then): ``--height`` / ``--width`` multiples
    of ``step``, and where one is left out, the pose video's side (rounded down to ``step``)
    at least ``step``: an 8x8 pose video gave "got 0x0"."""
    for flag, value, side in (("--height", height, pose_size[0]), ("--width", width, pose_size[1])):
        if value is not None and value % step:
            low = value // step * step
            hint = f"{low} or {low + step}" if low else f"{step}"
            raise InputError(f"{flag} must be a multiple of {step}; got {value} (try {hint})")
        if value is None and side < step:
            raise InputError(f"the pose video is {pose_size[1]}x{pose_size[0]}: the output takes its size rounded "
                             f"down to a multiple of {step}, none here; give --height and --width (multiples of "
                             f"{step}), or a larger pose video")


@dataclass
class AnimateConfig:
    """``video animate``'s options: a flag, a ``--config`` YAML key and ``key=value`` each.
    ``negative_prompt`` is ``negative``'s old name (:func:`video.config.key_aliases`): it sets
    ``negative`` as a YAML key, ``key=value`` and ``--negative-prompt``."""

    KEY_ALIASES: ClassVar[dict[str, str]] = {"negative_prompt": "negative"}

    model: str = ""  # required
    image: str = ""  # required
    pose: str = ""  # required
    face: str = ""  # required
    mode: str = "animate"
    background: str = ""
    mask: str = ""
    prompt: str = ""
    negative: str | None = None  # None: the model's default; the key txt2vid and edit use
    steps: int = DEFAULT_STEPS
    guidance: float = 1.0
    seed: int = 0
    height: int | None = None  # None: the pose video's
    width: int | None = None
    frames: int | None = None  # None: all; a set value is >= 1 (0 is refused, not read as "all")
    segment: int | None = None  # None: DEFAULT_SEGMENT
    fps: float | None = None  # None: the pose video's, else 30; a set value is > 0
    device: str = "auto"
    dtype: str = "auto"  # auto: bfloat16 on CUDA, float32 on CPU
    sdpa: str = "torch"
    output: str = ""  # required
    models_dir: str = ""  # empty: $VIDEO_MODELS, else ./models
    extra_model_paths_config: str = ""  # a ComfyUI extra_model_paths.yaml, read after the default one


ANIMATE_FLAGS = {
    "--model": ("model", "a WanAnimatePipeline folder, the name of one in the models folder (checkpoints/, "
                         "diffusion_models/), or 'tiny' (random weights, a smoke run); required"),
    "--image": ("image", "the character image; required"),
    "--pose": ("pose", "pose video (rendered skeleton): a file or folder of frames; required"),
    "--face": ("face", "face video (face crops): a video file is matched to the pose video by time, a "
                       "folder of frames frame by frame; one image is held for every frame; required"),
    "--mode": ("mode", f"{' or '.join(MODES)} (default animate): animate the character, or replace the person in "
                       "--background"),
    "--background": ("background", "replace mode: the video (or one image, held) to put the character in"),
    "--mask": ("mask", "replace mode: mask video (or one image, held), white = the character's region"),
    "--prompt": ("prompt", "text prompt (default: empty)"),
    "--negative": ("negative", "negative prompt, as in txt2vid and edit (default: the model's); "
                               "--negative-prompt and the key negative_prompt: its old name"),
    "--steps": ("steps", f"sampling steps (default {DEFAULT_STEPS})"),
    "--guidance": ("guidance", "CFG scale (default 1: off, Wan-Animate's default)"),
    "--seed": ("seed", "random seed (default 0; -1: a random one, printed)"),
    "--height": ("height", "output height (default: the pose video's, to a multiple of 16); a video of another "
                           "shape is scaled to cover the output and its middle cropped, with a warning"),
    "--width": ("width", "output width (default: the pose video's, to a multiple of 16)"),
    "--frames": ("frames", "only the first N frames, >= 1 (default: all)"),
    "--segment": ("segment", f"frames per segment, 4k+1: 5, 9, ... (default {DEFAULT_SEGMENT})"),
    "--fps": ("fps", "output frames per second, > 0 (default: the pose video's, else 30)"),
    "--device": ("device", "cuda, cuda:N, cpu, mps or auto (default auto: CUDA when present)"),
    "--dtype": ("dtype", "float32, bfloat16, float16 or auto (default auto: bfloat16 on CUDA, float32 on CPU)"),
    "--sdpa": ("sdpa", f"attention kernel tried first on CUDA (as in img2vid): {', '.join(SDPA_FIRST)} "
                       "(default torch: its own order)"),
    "--output": ("output", "output video (.mp4, .webm, .gif or a folder for PNGs), or one image (.png, .jpg, .webp) "
                           "for one frame; required. Audio: an .mp4 or .webm keeps that of --pose (replace mode: "
                           "--background) when written at its frame rate; another --fps drops it, with a warning"),
    **MODELS_FOLDER_FLAGS,  # --models-dir, --extra-model-paths-config: as img2vid / txt2vid
}


ANIMATE_MINIMUM = {"height": 1, "width": 1, "steps": 1, "frames": 1}


def resolve_animate(args: argparse.Namespace) -> AnimateConfig:
    """``video animate``'s config: :func:`video.flags.resolve_flags`; ``negative``'s old name
    ``negative_prompt`` is read through :attr:`AnimateConfig.KEY_ALIASES`, as any renamed key."""
    from video.flags import resolve_flags

    return resolve_flags(AnimateConfig, args, ANIMATE_FLAGS)


def check_segment(segment: int | None, temporal: int = 4) -> None:
    """``--segment`` must be ``temporal * k + 1`` frames (the VAE folds 4 frames per latent
    frame after the first), at least 5: any other count was rounded down silently. Checked
    before the weights load."""
    if segment is not None and (segment < temporal + 1 or (segment - 1) % temporal):
        low = max(1, (segment - 1) // temporal) * temporal + 1
        raise InputError(f"--segment must be 4k+1 frames (5, 9, 13, ...); got {segment} "
                         f"(try {low} or {low + temporal})")


def cmd_animate(args: argparse.Namespace) -> int:
    import sys

    started = time.perf_counter()

    from video.edit.cli import RANDOM_NOTE
    from video.edit.mask import video_fps, video_sar
    from video.flags import (
        check_above_zero,
        check_finite,
        check_ranges,
        device_and_dtype,
        sdpa_choice,
        seed_for,
    )
    from video.media import audio_to_keep, check_output, load_image, plural, source_times, write_video
    from video.models.builtin_names import resolve_model_name_or_builtin

    cfg = resolve_animate(args)
    missing = [f for f in ("--model", "--image", "--pose", "--face", "--output") if not getattr(cfg, f[2:])]
    if missing:
        raise InputError(f"give {', '.join(missing)} (flags, key=value or --config keys)")
    if cfg.mode not in MODES:
        raise InputError(f"--mode must be {' or '.join(MODES)}; got {cfg.mode!r}")
    sdpa = sdpa_choice(cfg.sdpa)
    background, mask_path = cfg.background or None, cfg.mask or None
    # a bad --output, or one that is an input (replacing what is read), fails now, not after the render
    check_output(cfg.output, inputs={"--image": cfg.image, "--pose": cfg.pose, "--face": cfg.face,
                                     "--background": cfg.background, "--mask": cfg.mask})
    if cfg.mode == "replace" and (background is None or mask_path is None):
        raise InputError("--mode replace needs --background and --mask")
    if cfg.mode == "animate" and (background or mask_path):
        raise InputError("--background and --mask are for --mode replace")
    check_ranges(cfg, ANIMATE_FLAGS, ANIMATE_MINIMUM)  # None: unset; 0 is no second spelling of it
    cfg = replace(cfg, seed=seed_for(cfg.seed))  # one torch takes, -1 a random one; before the load
    check_above_zero(cfg, ANIMATE_FLAGS, ("fps",))
    check_finite(cfg, ANIMATE_FLAGS, ("guidance",))
    check_segment(cfg.segment)
    device, dtype = device_and_dtype(cfg.device, cfg.dtype, cuda_dtype="bfloat16")
    image = load_image(cfg.image)  # a missing or unreadable image fails here, before the weights load
    pose, pose_times = _read_frames(cfg.pose, "pose video", cfg.frames)  # with --frames N, only N are read
    if cfg.frames is not None and cfg.frames > len(pose):
        raise InputError(f"--frames {cfg.frames}: the pose video has {plural(len(pose), 'frame')}")
    check_size(cfg.height, cfg.width, pose.shape[1:3])
    n = len(pose)
    # each read only as far as the pose's first n frames need (a long face video was decoded whole)
    read = {what: read_for_pose(path, f"{what} video", pose_times, n)
            for what, path in (("face", cfg.face), ("background", background), ("mask", mask_path))}
    face, bg, mask = (match_to_pose(frames, times, pose_times, n, what, rate=rate, whole=whole)
                      for what, (frames, times, rate, whole) in read.items())
    check_output(cfg.output, num_frames=n)  # several frames to x.png: refused now
    if mask is not None:  # an all-black mask replaces nothing: said now, not after the load (the animator says it too)
        from video.edit.animate import check_mask_selects

        check_mask_selects(mask, "--mask", hint="")
    # every input checked: now the model, a name in the models folder as img2vid / txt2vid take it ("tiny": built in)
    extra = [cfg.extra_model_paths_config] if cfg.extra_model_paths_config else []
    model = resolve_model_name_or_builtin(str(cfg.model), (TINY,), "checkpoints", cfg.models_dir or None,
                                          extra_configs=extra)  # builtin:tiny too, as every command reads it
    import torch

    from video.edit.animate import Animator

    t0 = time.perf_counter()
    animator = Animator.from_pretrained(model, device=device, dtype=dtype)
    animator.sdpa_first = sdpa
    t_load = time.perf_counter() - t0
    if model == TINY:  # the built-in, whatever ./tiny holds
        print(RANDOM_NOTE.format(model=model, flag="--model"), file=sys.stderr)
    pose_sar = video_sar(cfg.pose)  # the output's pixel shape: the character is fitted onto it
    frames = animator(image, pose, face, mode=cfg.mode, background_video=bg, mask_video=mask,
                      prompt=cfg.prompt, negative_prompt=cfg.negative, num_inference_steps=cfg.steps,
                      guidance_scale=cfg.guidance, generator=torch.Generator().manual_seed(cfg.seed),
                      height=cfg.height, width=cfg.width, num_frames=cfg.frames,
                      segment_frame_length=cfg.segment, progress=True, sar=pose_sar)
    pose_fps = video_fps(cfg.pose)
    fps = cfg.fps or pose_fps or FALLBACK_FPS
    # the sound of the video the output follows: the one the character is put into, else the driving one; a
    # background matched to the pose's frame times is on the pose's clock, whatever its own rate
    source = background if cfg.mode == "replace" else cfg.pose
    timed = cfg.mode == "animate" or by_time(read["background"][1], pose_times, n)
    src_frames, src_fps = (n, pose_fps) if timed else (len(read["background"][0]), video_fps(background))
    audio = audio_to_keep(source, src_frames, src_fps, len(frames), fps, cfg.output)
    t1 = time.perf_counter()
    # a variable-rate pose video is written at its own frame times, an anamorphic one keeps its pixel shape
    out = write_video(frames, cfg.output, fps=fps, audio=audio, times=source_times(pose_times, pose_fps, fps),
                      sar=pose_sar)
    from video.runtime.render_cli import summary_line

    # the size and rate written: a PNG or GIF of an anamorphic pose video is resampled, a fast GIF slowed
    print(summary_line(out, frames, fps, started, f"load {t_load:.2f}s, {animator.last_timings}, "
                                                  f"write {time.perf_counter() - t1:.2f}s"))
    return 0


def add_animate_command(subparsers) -> argparse.ArgumentParser:
    """Register ``animate`` on an argparse subparsers object; the handler is ``args.func``. Every
    option is a key of :class:`AnimateConfig`, so ``--config`` and ``key=value`` set it too."""
    from video.flags import add_schema_flags

    p = subparsers.add_parser(
        "animate", help="Wan-Animate: animate a character image with a pose + face video, or replace a person",
        description="Wan-Animate (a diffusers WanAnimatePipeline folder, its name in the models folder, or 'tiny': "
                    "random weights, a smoke run). --mode animate: the character of --image "
                    "follows --pose (a rendered skeleton video) and --face (face crops). --mode replace: the "
                    "character replaces the person in --background where --mask is white. Videos are files or "
                    "folders of frames, already preprocessed. Every option can also be given as key=value or in "
                    "a --config YAML.")
    add_schema_flags(p, ANIMATE_FLAGS, schema=AnimateConfig, list_keys=frozenset(),
                     aliases={"--output": ("-o",)})
    p.set_defaults(func=cmd_animate)
    return p



__all__ = ["ANIMATE_FLAGS", "AnimateConfig", "add_animate_command", "by_time", "check_segment", "check_size",
           "cmd_animate", "match_to_pose", "read_for_pose", "resolve_animate"]
