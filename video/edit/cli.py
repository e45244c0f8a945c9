"""``video edit TASK``: registered on the ``video`` command's subparsers by ``add_edit_command``.

TASK is one of inpaint, outpaint, background, recolour, restyle (:mod:`video.edit.recipes`).
As for the other subcommands, every flag is a key of the :class:`EditConfig` schema, so a
flag, a line of a ``--config`` YAML and a trailing ``key=value`` set the same thing (a key given
both as a flag and as ``key=value`` is an error; ``key=value`` wins over the YAML). User errors raise ``InputError`` /
``MediaError``, which the ``video`` command prints as one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from video.runtime.config import IMG2VID_FLAGS

TASK_HELP = {
    "inpaint": "regenerate the masked region (--mask or --box) from --prompt",
    "outpaint": "grow the canvas (--pad or --aspect) and fill the new border",
    "background": "replace all but the subject (--mask: the subject), or composite it over --background",
    "recolour": "shift hue (--hue degrees) and saturation inside the mask; --strength harmonises",
    "restyle": "SDEdit the whole frame from --prompt (--strength 0.3-0.7); no mask (a region: inpaint --strength)",
}
DEFAULT_STRENGTH = {"inpaint": 1.0, "outpaint": 0.95, "background": 1.0, "recolour": 0.0, "restyle": 0.5}
RANDOM_NOTE = "note: '{model}' has random weights (a smoke run); real weights come from {flag} PATH"


def random_weights(model: str) -> bool:
    """Whether ``model`` names a built-in random-weights model: one of
    :data:`video.edit.editor.RANDOM_MODELS`, which the loader builds whatever the working
    folder holds (a folder ``tiny-vace`` holds real or saved weights; a name starting with
    "tiny" said nothing)."""
    from video.edit.editor import RANDOM_MODELS

    return str(model) in RANDOM_MODELS


def resolve_model_name(value: str, models_dir: str | None = None, extra_configs: list[str] = (),
                       use: str = "--model") -> str:
    """A ``--model`` / ``--refine`` value of ``video edit`` and ``video upscale`` (``use``: which),
    read as img2vid / txt2vid read theirs
    (:func:`video.models.builtin_names.resolve_model_name_or_builtin`): ``builtin:NAME`` for a
    built-in random-weights name (:data:`video.edit.editor.RANDOM_MODELS`), the user's top-level
    ``svd_xt.safetensors`` before the random 2.25B network, ``tiny`` never looked up, a path as
    given, else a name in the models folder (``models_dir`` and ``extra_configs``:
    ``--models-dir`` and ``--extra-model-paths-config``; checkpoints and diffusion_models)."""
    from video.edit.editor import RANDOM_MODELS
    from video.models.builtin_names import resolve_model_name_or_builtin

    return resolve_model_name_or_builtin(str(value), tuple(RANDOM_MODELS), "checkpoints", models_dir,
                                         extra_configs=list(extra_configs), use=use, tiny_is_t2v=True)


def first_frames(frames, n: int | None):
    """The first ``n`` frames (None: all; a set ``n`` is >= 1, checked with the flags); more than the video has is a one-line error, not
    silently all of them (``video edit`` and ``video upscale`` alike)."""
    from video.runtime.errors import InputError

    if n is not None and n > len(frames):
        from video.media import plural

        raise InputError(f"--frames {n}: the video has {plural(len(frames), 'frame')}")
    return frames if n is None else frames[:n]


# --models-dir and --extra-model-paths-config as img2vid / txt2vid have them (same keys, same help)
MODELS_FOLDER_FLAGS = {flag: IMG2VID_FLAGS[flag] for flag in ("--models-dir", "--extra-model-paths-config")}


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
    strength: float | None = None  # None: the task's (DEFAULT_STRENGTH); -1 is out of range like -0.5
    # None (unset, or ``null`` in YAML / ``key=null``): the model's (or input's) default; a set value
    # out of range (0 included: it is not a second spelling of "unset") is refused before any work
    steps: int | None = None
    guidance: float | None = None  # None: the model's; a set value is used as given
    seed: int = 0
    output: str = "edit.mp4"
    pad: str = ""  # N | V,H | T,R,B,L pixels
    aspect: str = ""  # W:H
    hue: float = 0.0
    saturation: float = 1.0
    background: str = ""  # clip or image to composite the subject over
    harmonise: float = 0.0
    # None (unset, or ``null``): the default; -1 is refused like -2 (it stood for unset and ran as the default)
    feather: int | None = None  # None: the latent cell size (recolour and a composite: 2)
    frames: int | None = None  # None: all
    height: int | None = None  # None: the input's own
    width: int | None = None
    window: int | None = None  # None: the model's length
    overlap: int | None = None  # None: a quarter window
    sampler: str = ""
    shift: float | None = None  # None: the model's; a set value must be > 0
    fps: float | None = None  # None: the input's; a set value must be > 0
    device: str = "auto"
    dtype: str = "auto"
    sdpa: str = "torch"  # attention kernel tried first: torch (its own order), cudnn, flash, efficient
    crf: int = 18
    reference: list[str] = field(default_factory=list)  # VACE (SVD: the first) reference images
    control: str = ""  # VACE: a control video (pose, depth, edges), rendered already
    models_dir: str = ""  # empty: $VIDEO_MODELS, else ./models
    extra_model_paths_config: str = ""  # a ComfyUI extra_model_paths.yaml, read after the default one


EDIT_FLAGS = {
    # flag: (schema key, help)
    "--model": ("model", "'tiny' (our tiny DiT; the default), 'tiny-svd', our T2V folder, a Wan 2.1 / VACE folder, "
                         "an SVD folder or .safetensors file, or the name of one in the models folder (checkpoints/, "
                         "diffusion_models/)"),
    "--video": ("video", 'input video: a file, a folder of images, or one image; required'),
    "--mask": ("mask", "mask video, image or image folder (white = edit; an image with transparency: its alpha); "
                       "for background: the subject's mask"),
    "--box": ("box", "box mask x0,y0,x1,y1 in input pixels, optionally @f0:f1 for frames [f0, f1)"),
    "--prompt": ("prompt", "what to draw, in the prompt language (ignored by SVD, which follows the first frame)"),
    "--negative": ("negative", "negative prompt"),
    "--strength": ("strength", "0 keeps the input, 1 regenerates from noise (defaults: inpaint 1, outpaint 0.95, "
                               "background 1, restyle 0.5; recolour: the harmonising strength, default 0)"),
    "--steps": ("steps", "sampling steps below the starting noise level, >= 1 (default: the model's)"),
    "--guidance": ("guidance", "classifier-free guidance scale (SVD: the last frame's scale); default: the model's"),
    "--seed": ("seed", 'random seed (default 0; -1: a random one, printed)'),
    "--output": ("output", 'output file: .mp4, .webm, .gif, a folder for PNG frames, or one image (.png, .jpg, .webp) '
                           'for a one-frame edit (default edit.mp4). The input\'s audio is kept in an .mp4 or .webm '
                           'written at its frame rate (with --frames N, the sound of those frames); another --fps, a '
                           'GIF, PNG folder or image drops it, with a warning'),
    "--pad": ("pad", "outpaint: pixels to add, N or V,H or T,R,B,L"),
    "--aspect": ("aspect", "outpaint: pad to this aspect ratio, W:H (e.g. 16:9)"),
    "--hue": ("hue", 'recolour: hue rotation in degrees (default 0)'),
    "--saturation": ("saturation", 'recolour: multiply the saturation inside the mask by this factor (default 1: '
                                   'unchanged)'),
    "--background": ("background", 'background: a clip or image to composite the subject over, matched to the video by '
                                   'time and looped when shorter (default: none, the background is regenerated from '
                                   '--prompt)'),
    "--harmonise": ("harmonise", 'background with --background: regenerate the composited background at this '
                                 'strength, 0..1 (default 0: a plain composite, no model)'),
    "--feather": ("feather", "width in pixels of the mask's soft inner edge (default: the model's latent cell size; 2 "
                             "for recolour and a --background composite; at most a quarter of the mask's local depth, "
                             "so thin strokes are replaced fully)"),
    "--frames": ("frames", "edit only the first N frames, >= 1 (default: all)"),
    "--height": ("height", "working height, a multiple of the model's size step: the frames are scaled and cropped "
                           "to it (default: the input's own, padded for the model and cropped back)"),
    "--width": ("width", "working width, a multiple of the model's size step, as --height (default: the input's "
                         "own, padded for the model and cropped back)"),
    "--window": ("window", "frames per model window (default: the model's length)"),
    "--overlap": ("overlap", "frames shared by neighbouring windows (default: a quarter window)"),
    "--sampler": ("sampler", "euler or heun (default: the model's, euler)"),
    "--shift": ("shift", "flow time shift, > 0 (default: the model's)"),
    "--fps": ("fps", "output frame rate, > 0 (default: the input's)"),
    "--device": ("device", 'cuda, cuda:N, cpu, mps or auto (default auto: CUDA when present)'),
    "--dtype": ("dtype", 'bfloat16, float16, float32, or auto (default auto: bfloat16 on CUDA, float32 on CPU)'),
    "--sdpa": ("sdpa", "attention kernel tried first on CUDA (as in img2vid): torch (its own order), cudnn, flash, "
                       "efficient"),
    "--crf": ("crf", "video quality on x264's scale 0 (best) .. 51 (worst); a .webm maps it onto VP9's (default 18)"),
    "--reference": ("reference", 'VACE: reference image(s) of the subject or style; repeat the flag or give a comma '
                                 'list (SVD: the first one conditions instead of the first frame); default: none'),
    "--control": ("control", "VACE: control video (pose, depth or edges, already rendered; a file or image folder) "
                             "that the regenerated region follows, matched to the video by time and fitted to its "
                             "frame as a mask is"),
    **MODELS_FOLDER_FLAGS,
}
LIST_FLAGS = ("--reference",)  # flags that may repeat
EDIT_SWITCHES = {
    "--invert": ("invert", "edit everything except the mask"),
    "--soft": ("soft", "grey mask levels are per-pixel strength (else thresholded at 0.5)"),
}


MASK_TASKS = ("inpaint", "background", "recolour")
TASK_FLAGS = {  # flag: (schema key, the tasks that take it); given elsewhere it is refused, not ignored
    **{f: (f[2:], MASK_TASKS) for f in ("--mask", "--box", "--invert", "--soft")},
    "--pad": ("pad", ("outpaint",)),
    "--aspect": ("aspect", ("outpaint",)),
    "--hue": ("hue", ("recolour",)),
    "--saturation": ("saturation", ("recolour",)),
    "--background": ("background", ("background",)),
    "--harmonise": ("harmonise", ("background",)),
    "--height": ("height", ("inpaint", "background", "recolour", "restyle")),
    "--width": ("width", ("inpaint", "background", "recolour", "restyle")),
    # restyle composites over the whole frame, where an inner edge ramp has no edge to ramp
    "--feather": ("feather", ("inpaint", "outpaint", "background", "recolour")),
}


def _resolve(args) -> EditConfig:
    from video.flags import resolve_flags

    return resolve_flags(EditConfig, args, {**EDIT_FLAGS, **EDIT_SWITCHES})


def _references(items: list[str]) -> list[str]:
    """``--reference`` values: each a path, or a comma list of paths (a path that exists is
    never split)."""
    out = []
    for item in items or []:
        out += [item] if Path(item).exists() else [p.strip() for p in str(item).split(",") if p.strip()]
    return out


def check_config(task: str, cfg: EditConfig, given: dict[str, str] | None = None) -> None:
    """The checks that need no file and no model: every flag's range and which flags a task takes.
    ``given``: the keys the command line gave (:func:`video.flags.given_keys`), so a flag of
    another task is refused at any value, its default's too; without it (the Python API, the
    ComfyUI node) a value other than the default counts as given. An edit that runs no model
    refuses the model's keys (:func:`_refused_model_keys`: --seed, --device, --dtype, --sdpa and
    the models folder only from the command line, never from a --config or an EditConfig)."""
    from video.edit.recipes import check_pad, parse_aspect
    from video.flags import check_above_zero, check_finite, check_ranges, sdpa_choice
    from video.media import check_crf
    from video.runtime.errors import InputError

    if task not in TASK_HELP:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(TASK_HELP)}")
    if not cfg.video:
        raise InputError("give the video to edit with --video")
    if cfg.mask and cfg.box:
        raise InputError("give either --mask or --box, not both")
    sdpa_choice(cfg.sdpa)
    check_crf(cfg.crf, cfg.output)
    if cfg.strength is not None and not 0.0 <= cfg.strength <= 1.0:
        raise InputError(f"--strength must be in [0, 1]; got {cfg.strength:g}")
    if not 0.0 <= cfg.harmonise <= 1.0:
        raise InputError(f"--harmonise must be in [0, 1]; got {cfg.harmonise:g}")
    check_ranges(cfg, EDIT_FLAGS, EDIT_MINIMUM)
    check_above_zero(cfg, EDIT_FLAGS, ("shift", "fps"))
    check_finite(cfg, EDIT_FLAGS, ("guidance", "hue", "saturation"))
    if cfg.saturation < 0:  # the shift clips it to 0: -1 wrote what 0 writes, without a word
        raise InputError(f"--saturation must be >= 0 (0: grey); got {cfg.saturation:g}")
    if cfg.overlap is not None and (cfg.overlap < 0 or (cfg.window is not None and cfg.overlap >= cfg.window)):
        raise InputError(f"--overlap must be between 0 and --window - 1; got {cfg.overlap}")
    if cfg.feather is not None and cfg.feather < 0:
        raise InputError(f"--feather must be 0 or more pixels; got {cfg.feather}")
    if task == "restyle" and (cfg.mask or cfg.box or cfg.invert or cfg.soft):
        raise InputError("restyle changes the whole frame and takes no --mask, --box, --invert or --soft; to restyle "
                         "a region, use `video edit inpaint` with --strength 0.3-0.7")
    if task == "outpaint":
        if cfg.mask or cfg.box:
            raise InputError("outpaint regenerates the new border; it takes no --mask or --box")
        if not cfg.pad and not cfg.aspect:
            raise InputError("outpaint needs the border to add: give --pad (pixels per side: N, V,H or T,R,B,L) or "
                             "--aspect (W:H on screen, e.g. 16:9)")
        if cfg.pad and cfg.aspect:
            raise InputError("give --pad or --aspect, not both")
        if cfg.strength == 0:
            raise InputError("outpaint --strength 0 would keep the starting canvas (edge pixels and noise in the new "
                             "border): the border must be generated, give --strength above 0 (default 0.95)")
        check_pad(cfg.pad) if cfg.pad else parse_aspect(cfg.aspect)
    defaults = EditConfig()
    for flag, (key, tasks) in TASK_FLAGS.items():
        if task in tasks:
            continue
        if key in given if given is not None else getattr(cfg, key) != getattr(defaults, key):
            how = given[key] if given is not None and given[key] != flag else flag
            raise InputError(f"{task} does not use {how}; it is for {', '.join(tasks)}")
    if task == "background" and cfg.harmonise and not cfg.background:
        raise InputError("--harmonise settles a --background composite; without --background the background is "
                         "regenerated at --strength")
    if not _needs_model(task, cfg):
        _refuse_model_flags(task, cfg, given)
    if task in MASK_TASKS and not (cfg.mask or cfg.box):
        what = "the subject's mask" if task == "background" else "a mask"
        raise InputError(f"{task} needs {what}: --mask (a file or a folder of images) or --box x0,y0,x1,y1")
    if task == "recolour" and task_strength(task, cfg) <= 0 and cfg.hue % 360 == 0 and cfg.saturation == 1:
        # no shift and no harmonising pass: it wrote a copy of the input without a word; the values
        # given are quoted (--hue 720 was said as "--hue 0")
        turns = " (whole turns: no change)" if cfg.hue else ""
        raise InputError(f"recolour with --hue {cfg.hue:g}{turns} and --saturation {cfg.saturation:g} changes "
                         f"nothing: give --hue or --saturation")


EDIT_MINIMUM = {"frames": 1, "steps": 1, "height": 1, "width": 1, "window": 1}  # None: unset (the default)
# the keys only a model reads, refused when the edit runs none (recolour at --strength 0, a plain
# --background composite), as they were silently ignored there: those that ask this edit for
# something (MODEL_KEYS) however given; the settings a --config file shares across commands
# (SHARED_MODEL_KEYS: where the models are, which device, the seed) only from the command line
MODEL_KEYS = ("model", "prompt", "negative", "strength", "steps", "guidance", "height", "width", "window",
              "overlap", "sampler", "shift", "reference", "control")
SHARED_MODEL_KEYS = ("seed", "device", "dtype", "sdpa", "models_dir", "extra_model_paths_config")


def _from_config_file(how: str) -> bool:
    """Whether :func:`video.flags.given_keys` says a key came from the ``--config`` YAML
    (``key in FILE.yaml``), not a flag (``--key``) or a ``key=value`` on the command line."""
    return how.partition(" in ")[0].isidentifier()


def _refused_model_keys(cfg: EditConfig, given: dict[str, str] | None) -> list[tuple[str, str]]:
    """(key, how it was given) of each model key an edit without a model would ignore: a
    :data:`MODEL_KEYS` key given in any way, or (the Python API, a key ``given`` leaves out) at a
    value other than its default; a :data:`SHARED_MODEL_KEYS` key only as a flag or ``key=value``
    (a ``--config`` shared with img2vid / txt2vid holds them, and a Python caller's one
    :class:`EditConfig` for many edits: neither asks this edit to run a model)."""
    defaults, out = EditConfig(), []
    for key in MODEL_KEYS:
        if (given is not None and key in given) or getattr(cfg, key) != getattr(defaults, key):
            out.append((key, given[key] if given is not None and key in given else "--" + key.replace("_", "-")))
    for key in SHARED_MODEL_KEYS:
        if given is not None and key in given and not _from_config_file(given[key]):
            out.append((key, given[key]))
    return out


def _refuse_model_flags(task: str, cfg: EditConfig, given: dict[str, str] | None) -> None:
    """One-line InputError for a model's flag given to an edit that runs no model
    (:func:`_refused_model_keys`): it would be ignored, and the output would not be what it
    asked for. recolour's --strength (0 here) is its own switch; a composite's --strength points
    to --harmonise, its strength."""
    from video.runtime.errors import InputError

    switch = "--strength" if task == "recolour" else "--harmonise"
    for key, how in _refused_model_keys(cfg, given):
        if key == "strength" and task == "recolour":
            continue
        if key == "strength":
            raise InputError(f"{how}: a --background composite runs no model, so it has no strength; to regenerate "
                             f"the composited background at a strength S, give --harmonise S (0..1)")
        what = "recolour at --strength 0" if task == "recolour" else "a --background composite without --harmonise"
        raise InputError(f"{how} is for the model, and {what} runs no model: give {switch} above 0 to run one, or "
                         f"leave {how} out")


def task_strength(task: str, cfg: EditConfig) -> float:
    """The strength an edit runs at: the one given, else the task's default. None, not -1,
    stands for "not given", so that --strength -1 is refused like -0.5 (it was taken silently)."""
    return DEFAULT_STRENGTH[task] if cfg.strength is None else cfg.strength


def _needs_model(task: str, cfg: EditConfig) -> bool:
    """Recolour without --strength and a --background composite without --harmonise are pixel
    operations: no model loads."""
    return not (task == "recolour" and task_strength(task, cfg) <= 0) and not (task == "background" and cfg.background
                                                                   and cfg.harmonise <= 0)


def _check_box(box, num_frames: int, height: int, width: int, keep_box: bool = False, task: str = "") -> None:
    """One-line MediaError for a box that selects nothing of the video, or (``keep_box``: the
    box is kept and the rest edited, --invert or background's subject) covers all of it, so
    nothing is left to edit: said from the box alone, before the model loads (it was said
    after, by the editor)."""
    from video.edit.mask import box_covers, box_outside, format_box
    from video.media import MediaError

    why = box_outside(box, num_frames, height, width)
    if why:
        raise MediaError(f"--box {format_box(box)}: {why}")
    if keep_box and box_covers(box, num_frames, height, width):
        left = ("no background is left to regenerate" if task == "background"
                else "with --invert nothing is left to edit")
        raise MediaError(f"--box {format_box(box)} covers all of the {width}x{height} frame on every frame, so {left}")


def _model_fps(editor) -> float:
    pipe = getattr(getattr(editor, "backend", None), "pipe", None) or getattr(editor, "vace", None)
    return getattr(getattr(getattr(pipe, "config", None), "sampling", None), "fps", 0) or 0


def run_edit(task: str, cfg: EditConfig, given: dict[str, str] | None = None):
    """Check, load, run the recipe, write; returns (path, frames, fps, seconds). Every check
    that needs no weights (flags, files, the mask's content, the box against the video) comes
    before loading. The input's audio is kept where the frame count and rate are
    (:func:`video.media.audio_to_keep`); a variable-rate input is written at its own frame
    times and an anamorphic one keeps its pixel shape (:func:`video.media.write_video`).
    ``given``: the keys the command line gave (:func:`check_config`)."""
    import torch

    from video.edit.editor import DEDICATED_EDITORS, Editor, detect_model
    from video.edit.mask import (
        load_frames_timed,
        load_mask,
        parse_box,
        read_levels,
        video_fps,
        video_sar,
    )
    from video.edit.recipes import RECIPES, check_outpaint, fit_clip
    from video.edit.vace import VaceRecipeEditor, fit_control
    from video.flags import seed_for
    from video.media import MediaError, audio_to_keep, check_output, load_image, source_times, write_video
    from video.runtime.errors import InputError

    check_config(task, cfg, given)
    if _needs_model(task, cfg):  # a seed torch takes, -1 a random one said on stderr; before the load
        cfg = replace(cfg, seed=seed_for(cfg.seed))
    # a bad --output, or one that is an input (replacing what is read), fails now, not after the render
    check_output(cfg.output, inputs={"--video": cfg.video, "--mask": cfg.mask, "--background": cfg.background,
                                     "--control": cfg.control, "--reference": _references(cfg.reference)})
    mask = parse_box(cfg.box) if cfg.box else (cfg.mask or None)
    if cfg.mask and not Path(cfg.mask).exists():
        raise MediaError(f"mask {cfg.mask} not found: give a mask video, an image or a folder of images")
    if task == "background" and cfg.background and not Path(cfg.background).exists():
        raise MediaError(f"background {cfg.background} not found: give a video, an image or a folder of images")
    # fail on a bad input before loading weights; with --frames N only the first N are read
    video, in_times = load_frames_timed(cfg.video, cfg.frames)
    # the pixels' shape: kept in the output; --aspect, and a mask or clip drawn on screen, are on screen
    sar = video_sar(cfg.video)
    in_frames, in_fps = len(video), video_fps(cfg.video)
    n = len(first_frames(video, cfg.frames))
    check_output(cfg.output, num_frames=n)  # one frame to x.png is an image; more are refused before the render
    regen_invert = (not cfg.invert) if task == "background" and not cfg.background else cfg.invert
    if cfg.box:  # an empty inverted box is refused now too, not after the weights load
        _check_box(mask, n, *video.shape[1:3], keep_box=regen_invert, task=task)
    elif cfg.mask:  # read and checked now, not after the weights load; passed on as its levels
        levels = read_levels(cfg.mask, n, *video.shape[1:3], fps=in_fps, times=in_times, sar=sar)
        load_mask(levels, n, *video.shape[1:3], invert=regen_invert, soft=cfg.soft, allow_empty=False)
        mask = levels.numpy()
    if task == "outpaint":
        check_outpaint(*video.shape[1:3], pad=cfg.pad or None, aspect=cfg.aspect or None, sar=sar)
    # the clip at the video's size and frame times, said and fitted before any model loads
    background = fit_clip(cfg.background, n, *video.shape[1:3], fps=in_fps, times=in_times,
                          sar=sar) if task == "background" and cfg.background else None
    references = [load_image(r) for r in _references(cfg.reference)]
    # by the video's times and pixel shape, as the clip above (:func:`video.edit.vace.fit_control`)
    control = fit_control(cfg.control, n, *video.shape[1:3], fps=in_fps, times=in_times,
                          sar=sar) if cfg.control else None
    fps = cfg.fps or in_fps or 0
    needs_model = _needs_model(task, cfg)
    if needs_model:  # every input checked: now the model; a name in the models folder as img2vid / txt2vid take it
        extra = [cfg.extra_model_paths_config] if cfg.extra_model_paths_config else []
        typed_model = cfg.model  # the random-weights note names it as typed (t2v_tiny resolves to tiny)
        cfg = replace(cfg, model=resolve_model_name(cfg.model, cfg.models_dir or None, extra))
    kind = detect_model(cfg.model) if needs_model else None  # reads the folder's index only
    # (an edit without a model has none: check_config refused them, _refused_model_keys)
    if (references or control is not None) and kind not in DEDICATED_EDITORS:
        if control is not None:
            raise InputError("--control needs a Wan VACE model (a folder whose model_index.json names WanVACEPipeline)")
        if kind != "svd":
            raise InputError("--reference needs a Wan VACE model (or SVD, which takes the first reference as its "
                             "first frame); this text-to-video model takes a prompt")
    t0 = time.perf_counter()
    editor = None
    if needs_model:
        from video.flags import device_and_dtype

        device, dtype = device_and_dtype(cfg.device, cfg.dtype, cuda_dtype="bfloat16")
        editor = Editor.from_pretrained(cfg.model, device=device, dtype=dtype)
        editor.sdpa_first = cfg.sdpa
        if kind in DEDICATED_EDITORS:  # VACE: behind Editor's call, as the recipes expect
            editor = VaceRecipeEditor(editor)
        if random_weights(cfg.model):
            print(RANDOM_NOTE.format(model=typed_model, flag="--model"), file=sys.stderr)
        fps = fps or _model_fps(editor)
    fps = fps or 8
    strength = task_strength(task, cfg)
    kw = dict(prompt=cfg.prompt, num_frames=cfg.frames, height=cfg.height, width=cfg.width)
    model_kw = dict(negative_prompt=cfg.negative or None, num_inference_steps=cfg.steps,
                    guidance_scale=cfg.guidance,
                    generator=torch.Generator().manual_seed(cfg.seed), window=cfg.window,
                    overlap=cfg.overlap, sampler=cfg.sampler or None,
                    shift=cfg.shift, progress=True)
    if references:
        model_kw["reference_images"] = references
    if control is not None:
        model_kw["control_video"] = control
    pixel_kw = {} if cfg.feather is None else {"feather_px": cfg.feather}  # None: the recipe's own
    recipe = RECIPES[task]
    if task == "recolour":
        if cfg.frames:
            video = video[:cfg.frames]
        extra = dict(model_kw, num_frames=kw["num_frames"], height=kw["height"], width=kw["width"]) if editor else {}
        frames = recipe(editor, video, mask, hue=cfg.hue, saturation=cfg.saturation, harmonise=strength,
                        invert=cfg.invert, soft=cfg.soft, prompt=cfg.prompt, **pixel_kw, **extra)
    elif task == "background":
        if cfg.background:
            if cfg.frames:
                video = video[:cfg.frames]
            extra = dict(model_kw, **{k: kw[k] for k in ("num_frames", "height", "width")}) if editor else {}
            frames = recipe(editor, video, mask, prompt=cfg.prompt, background=background,
                            harmonise=cfg.harmonise, invert=cfg.invert, soft=cfg.soft, **pixel_kw, **extra)
        else:
            frames = recipe(editor, video, mask, strength=strength, invert=cfg.invert, soft=cfg.soft, **pixel_kw,
                            **kw, **model_kw)
    elif task == "outpaint":
        if cfg.frames:
            video = video[:cfg.frames]
        model_kw.pop("generator")
        frames = recipe(editor, video, pad=cfg.pad or None, aspect=cfg.aspect or None, strength=strength, sar=sar,
                        generator=torch.Generator().manual_seed(cfg.seed), prompt=cfg.prompt, **pixel_kw, **model_kw)
    elif task == "restyle":
        frames = recipe(editor, video, strength=strength, **pixel_kw, **kw, **model_kw)
    else:
        frames = recipe(editor, video, mask, strength=strength, invert=cfg.invert, soft=cfg.soft, **pixel_kw, **kw,
                        **model_kw)
    seconds = time.perf_counter() - t0
    audio = audio_to_keep(cfg.video, in_frames, in_fps, len(frames), fps, cfg.output)
    out = write_video(frames, cfg.output, fps=fps, crf=cfg.crf, audio=audio,
                      times=source_times(in_times, in_fps, fps), sar=sar)
    return out, frames, fps, seconds


def cmd_edit(args: argparse.Namespace) -> int:
    from video.flags import given_keys
    from video.media.written import written_head

    cfg = _resolve(args)
    out, frames, fps, seconds = run_edit(args.task, cfg, given_keys(args, {**EDIT_FLAGS, **EDIT_SWITCHES}))
    print(f"{written_head(out, frames, fps)}: {args.task} in {seconds:.2f}s")
    return 0


def _task_formatter(task: str) -> type[argparse.HelpFormatter]:
    """``task``'s --help without the flags it refuses (:data:`TASK_FLAGS`). They stay parsed
    there, with their help, so giving one is the one-line "does not use" error, not argparse's."""
    hidden = {flag for flag, (_key, tasks) in TASK_FLAGS.items() if task not in tasks}

    def shown(actions):
        return [a for a in actions if not hidden & set(a.option_strings)]

    class TaskHelp(argparse.HelpFormatter):
        def add_usage(self, usage, actions, groups, prefix=None):
            super().add_usage(usage, shown(actions), groups, prefix)

        def add_arguments(self, actions):
            super().add_arguments(shown(actions))

    return TaskHelp


def add_edit_command(subparsers) -> argparse.ArgumentParser:
    """Register ``edit TASK`` on an argparse subparsers object; the handler is ``args.func``."""
    p = subparsers.add_parser(
        "edit", help="edit a video: inpaint, outpaint, background, recolour, restyle",
        description="Masked video-to-video regeneration with any model we run (training-free): the masked part "
                    "is regenerated from the prompt, the rest is kept exactly. Videos longer than the model's "
                    "window are edited in overlapping windows.")
    from video.flags import add_schema_flags

    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for task, help_ in TASK_HELP.items():
        t = tasks.add_parser(task, help=help_, description=help_, formatter_class=_task_formatter(task))
        # -o as `video animate` and `video upscale` take it; -o and --output at two values are refused
        add_schema_flags(t, EDIT_FLAGS, aliases={"--output": ("-o",)}, list_keys={EDIT_FLAGS[f][0] for f in LIST_FLAGS},
                         schema=EditConfig)
        for flag, (_key, fhelp) in EDIT_SWITCHES.items():
            t.add_argument(flag, action="store_true", default=None, help=fhelp + " (default: off)")
        t.set_defaults(func=cmd_edit)
    return p


__all__ = ["EditConfig", "add_edit_command", "check_config", "cmd_edit", "first_frames",
           "random_weights", "resolve_model_name", "run_edit"]
