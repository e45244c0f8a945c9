"""The parts of the ``video img2vid`` and ``video txt2vid`` commands that need no parser: the
settings refused before the weights load, the frame size checked against the output before and
after they load, running out of memory said in one line, and the last line of both commands.
Apart from :mod:`video.cli`, which holds the parser and the order of the steps.
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from video.flags import UserError, tristate


def check_img2vid_speed(cfg, args) -> bool | None:
    """The speed and memory settings of an img2vid run, refused in one line before the weights
    load (a bad value used to wait minutes for them); returns ``--split-guidance`` read as
    None (auto) / True / False."""
    if cfg.decode_chunk < 0:
        raise UserError(f"--decode-chunk must be >= 1, or 0 for auto; got {cfg.decode_chunk}")
    if not cfg.memory_budget_gib >= 0:
        raise UserError(f"--memory-budget must be >= 0 GiB (0: the free memory); got {cfg.memory_budget_gib:g}")
    split = tristate("--split-guidance", cfg.split_guidance)
    from video.runtime.img2vid import InputError, check_offload, check_speed

    try:
        check_speed(cfg.cache_threshold, cfg.memory_budget_gib)  # NaN / inf
    except InputError as e:  # --memory-budget was checked above: this is the threshold
        raise UserError(f"--cache-threshold: {e}" if args.cache_threshold is not None else str(e)) from None
    check_offload(cfg.offload, cfg.compile)
    return split


# The pipeline rounds a side down to the model's size step, a power of two (64 for SVD, 16 for
# tiny), and never below it. Every power of two up to this one divides it, so a side rounded down
# to a multiple of it is at most what any such model renders.
SIZE_STEP_BOUND = 2**14


def least_side(side: int | None) -> int:
    """The least side any model renders for ``side`` (None: the model's default, unknown before
    it loads; at least 2 either way, the smallest size step)."""
    return 2 if side is None else max(2, side // SIZE_STEP_BOUND * SIZE_STEP_BOUND)


def check_size_before_load(output: str, height: int | None, width: int | None, rounds: bool = True) -> None:
    """One-line MediaError, before the weights load, for a ``--height`` / ``--width`` the output
    cannot hold whatever the model rounds it to (H.264 takes at most 16384 pixels a side):
    ``--height 100000 --width 100000 --output o.mp4`` rendered for minutes before running out of
    memory. Sizes that may round into range are left for the exact check once the model's step
    is known (:func:`video.cli.cmd_img2vid`, before the render). ``rounds=False``: the model
    renders the size as given or refuses it (txt2vid), so the sides given are checked as they are."""
    from video.media import MediaError, check_output

    if height is None and width is None:
        return
    side = least_side if rounds else (lambda s: 2 if s is None else s)
    try:
        check_output(output, size=(side(width), side(height)))
    except MediaError as e:
        if width is not None and height is not None:
            check_output(output, size=(width, height))  # the same refusal, naming the size asked for
        # one side given: its flag, not the placeholder 2 the model's unknown side stood in for
        asked = f"--width {width}" if height is None else f"--height {height}"
        raise MediaError(re.sub(r"got \d+x\d+", f"got {asked}", str(e), count=1)) from None


def check_txt2vid_before_load(cfg) -> tuple[str, int, bool | None]:
    """What a txt2vid run is refused for before its model loads (a bad value used to wait for
    the weights, or for the whole render): the ranges and finite values, the shift, steps,
    sampler and guidance (:func:`video.runtime.t2v_checks.check_request`), an image-to-video
    built-in name as the model (:func:`refuse_image_to_video_builtin`), and a ``--height`` /
    ``--width`` the output cannot hold. Returns ``--sdpa``, the seed (-1 drawn now) and
    ``--vae-tiling`` read as None (auto) / True / False."""
    from video.flags import UNSET_HINT, check_finite, check_ranges, sdpa_choice, seed_for
    from video.runtime.config import TXT2VID_FLAGS, TXT2VID_MINIMUM
    from video.runtime.t2v_checks import check_request

    sdpa = sdpa_choice(cfg.sdpa)
    check_ranges(cfg, TXT2VID_FLAGS, TXT2VID_MINIMUM)
    seed = seed_for(cfg.seed)  # one torch takes, or -1: a random one
    tiling = tristate("--vae-tiling", cfg.vae_tiling)
    check_finite(cfg, TXT2VID_FLAGS, ("guidance", "guidance_2", "shift"))
    if cfg.shift is not None and cfg.shift <= 0:  # 0 used to mean the model's shift without a word
        raise UserError(f"--shift must be a finite number > 0 (1: no shift; {UNSET_HINT}); got {cfg.shift:g}")
    check_request(steps=cfg.steps, shift=cfg.shift, sampler=cfg.sampler or None,
                  guidance_scale=cfg.guidance, guidance_scale_2=cfg.guidance_2)
    refuse_image_to_video_builtin(cfg.model)
    check_size_before_load(cfg.output, cfg.height, cfg.width, rounds=False)  # not after the whole render
    return sdpa, seed, tiling


def refuse_image_to_video_builtin(model: str) -> None:
    """One-line UserError for txt2vid given an image-to-video built-in (``tiny-svd``, and
    ``builtin:`` with any SVD built-in name): it was "not found", as if no such model existed,
    where an SVD folder given to txt2vid is pointed at img2vid
    (:func:`video.models.inspect.wrong_model`)."""
    from video.models.builtin_names import BUILTIN_PREFIX
    from video.models.svd import FULL_SIZE_NAMES, TINY_NAMES

    svd = {n for n in (*TINY_NAMES, *FULL_SIZE_NAMES) if n != "tiny"}  # tiny is txt2vid's own
    name = str(model).removeprefix(BUILTIN_PREFIX)
    if name in svd and (name == "tiny-svd" or str(model).startswith(BUILTIN_PREFIX)):
        raise UserError(f"{name} is the built-in image-to-video model: render it with "
                        f"`video img2vid --model {model} ...` (txt2vid's built-in is tiny)")


def txt2vid_knobs(latents) -> tuple[str, ...]:
    """The txt2vid settings that lower a render's peak beyond frames and size: ``--vae-tiling
    on`` only for a latent space that tiles (Wan's video VAE); our DiT's image VAE has no
    tiling, and the flag does nothing there."""
    from video.models.latents import has_tiling

    return TXT2VID_KNOBS if has_tiling(latents) else ()


def warn_tiling_unused(tiling: bool | None, latents) -> None:
    """A warning when ``--vae-tiling on`` / ``off`` is given for a model whose latent space has
    no tiling (an image VAE, decoded frame by frame): the flag was taken without a word."""
    from video.models.latents import has_tiling

    if tiling is not None and not has_tiling(latents):
        warnings.warn(f"--vae-tiling {'on' if tiling else 'off'} does nothing for this model: its image VAE "
                      "decodes frame by frame, without tiles (tiling is for Wan's video VAE)", stacklevel=2)


def out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an allocation that failed: Python's MemoryError (PIL's resize of a
    100000 x 100000 image), torch's CUDA OutOfMemoryError, or the RuntimeError of torch's CPU
    allocator ("DefaultCPUAllocator: can't allocate memory") and of MPS ("MPS backend out of
    memory"), which have no type of their own."""
    import torch

    if isinstance(error, (MemoryError, getattr(torch, "OutOfMemoryError", MemoryError))):
        return True
    return isinstance(error, RuntimeError) and any(s in str(error) for s in ("can't allocate memory",
                                                                              "out of memory"))


IMG2VID_KNOBS = ("a smaller --decode-chunk (1: the least in the VAE decode)",)
IMG2VID_GPU_KNOBS = ("--offload model", "--split-guidance on")
TXT2VID_KNOBS = ("--vae-tiling on (the VAE in tiles)",)


def memory_line(num_frames: int, width: int, height: int, device, knobs: tuple[str, ...] = IMG2VID_KNOBS,
                gpu_knobs: tuple[str, ...] = IMG2VID_GPU_KNOBS, needed: int | None = None,
                available: int | None = None) -> str:
    """The one line for a render that ran out of memory: what was asked, the bytes it ``needed``
    and those ``available`` where known (a render refused before it started,
    :class:`video.runtime.img2vid.NotEnoughMemory`), and each setting of the command that
    lowers the peak (``knobs``; ``gpu_knobs`` act only on a GPU: img2vid's ``--offload`` and
    ``--split-guidance``)."""
    from video.media import plural

    knobs = ["fewer --frames", "a smaller --width / --height", *knobs]
    if str(device).startswith("cuda"):
        knobs += list(gpu_knobs)
    said = f" (about {needed / 2**30:.1f} GiB needed, {available / 2**30:.1f} GiB available)" \
        if needed is not None and available is not None else ""
    return (f"out of memory rendering {plural(num_frames, 'frame')} at {width}x{height} (width x height) on "
            f"{device}{said}; to use less: {', '.join(knobs)}")


@contextlib.contextmanager
def memory_errors_said(num_frames: int, width: int, height: int, device, debug: bool = False,
                       knobs: tuple[str, ...] = IMG2VID_KNOBS, gpu_knobs: tuple[str, ...] = IMG2VID_GPU_KNOBS,
                       ) -> Iterator[None]:
    """A failed allocation inside the block as one UserError line (:func:`memory_line`, naming
    the command's ``knobs``), not a 30-line traceback; ``debug`` (``--debug``) keeps the
    traceback. Other errors pass."""
    try:
        yield
        return
    except (MemoryError, RuntimeError) as e:
        if debug or not out_of_memory(e):
            raise
        needed, available = getattr(e, "needed", None), getattr(e, "available", None)  # a refusal's numbers
    # raised outside the handler, so the traceback holding the failed render's tensors is gone
    raise UserError(memory_line(num_frames, width, height, device, knobs, gpu_knobs, needed, available))


def summary_line(out: str | Path, frames, fps: float, started: float, details: str) -> str:
    """The last line of a render: what was written (:func:`video.media.written.written_head`: a
    PNG folder named as one, the size and rate as written), ``details`` (the timings), and the
    command's total time from ``started`` (``time.perf_counter()``)."""
    from video.media.written import written_head

    return f"{written_head(out, frames, fps)}: {details}; total {time.perf_counter() - started:.2f}s"
