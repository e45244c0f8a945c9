"""What the ComfyUI nodes do, as plain functions testable without ComfyUI.

ComfyUI's conventions: an IMAGE is a float tensor (B, H, W, C) in [0, 1] (a video is its
frames as the batch, as VideoHelperSuite's load/combine nodes have it), a MASK is a float
tensor (B, H, W) or (H, W) in [0, 1]. Our pipelines take and return uint8 (F, H, W, 3)
arrays; the converters here are the only bridge.

A function returns its outputs (a value or a tuple), or ComfyUI's ``{"ui": ..., "result":
(...)}`` dict when the node also shows something in the UI (the written video).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from video.models.svd import CheckpointError
from video.runtime.img2vid import InputError

if TYPE_CHECKING:
    from video.models.folder import ModelsFolder

RANDOM_MODELS = {"tiny": "flow", "tiny-svd": "svd"}  # random-weight smoke models, no file needed
SVD_KINDS = ("svd", "svd_xt")
FLOW_KINDS = ("dit_t2v", "wan_t2v")
EDIT_KINDS = SVD_KINDS + FLOW_KINDS + ("wan_vace",)
ANIMATE_KINDS = ("wan_animate",)
VIDEO_FORMATS = ("mp4", "webm", "gif")  # what the write-video node offers (video.media writes them)
log = logging.getLogger(__name__)  # ComfyUI shows the root logger's records in its console


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


def comfy_mask_to_frames(mask: torch.Tensor | None) -> np.ndarray | None:
    """MASK (B, H, W) or (H, W) float [0, 1] -> float32 (B, H, W), 1 = regenerate (ComfyUI's
    inpainting convention, also ours)."""
    if mask is None:
        return None
    m = mask.detach().float().cpu()
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise InputError(f"expected a ComfyUI MASK (B, H, W); got shape {tuple(m.shape)}")
    return m.clamp(0, 1).numpy()


def default_models_dir() -> Path | None:
    """Inside ComfyUI its own ``models/`` (and, through the folder's parent, its
    extra_model_paths.yaml); outside, None (our default: $VIDEO_MODELS or ./models)."""
    try:
        import folder_paths  # ComfyUI's module
    except ImportError:
        return None
    return Path(folder_paths.models_dir)


def models_folder(models_dir: str | Path | None = None):
    """The models folder the nodes search: ``models_dir``, else ComfyUI's own ``models/`` with
    the extra_model_paths.yaml beside it and those ComfyUI was started with
    (``--extra-model-paths-config``), else ours ($VIDEO_MODELS or ./models)."""
    from video.models.folder import ModelsFolder

    extra: list[str] = []
    if models_dir is None:
        try:
            from comfy.cli_args import args  # ComfyUI's parsed flags

            for group in getattr(args, "extra_model_paths_config", None) or []:
                extra += group if isinstance(group, list) else [group]  # nargs="+" with action="append"
        except ImportError:
            pass
    return ModelsFolder(models_dir or default_models_dir(), extra_configs=extra)


def default_output_dir() -> Path:
    """Inside ComfyUI its output folder; outside, ``./output`` (ComfyUI's default name)."""
    try:
        import folder_paths  # ComfyUI's module
    except ImportError:
        return Path("output")
    return Path(folder_paths.get_output_directory())


def default_device() -> str:
    """ComfyUI's device inside ComfyUI; else CUDA when present, else the CPU."""
    try:
        import comfy.model_management as mm  # ComfyUI's module
    except ImportError:
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(mm.get_torch_device())


def model_names(kind: str = "checkpoints", models_dir: str | Path | None = None) -> list[str]:
    """Names for a node's drop-down: what the models folder holds, plus the random models."""
    try:
        names = [e.name for e in models_folder(models_dir).entries(kind)]
    except CheckpointError:
        names = []
    return names + (list(RANDOM_MODELS) if kind == "checkpoints" else [])


def video_model_names(models_dir: str | Path | None = None) -> list[str]:
    """The loader's drop-down: everything :func:`load_video_model` finds, ``checkpoints/`` first,
    then ``diffusion_models/`` (and its ``unet/`` alias). A diffusion model whose name would
    resolve to a checkpoint instead is listed by its path, so that picking it loads it."""
    folder = models_folder(models_dir)
    names = model_names("checkpoints", models_dir)
    try:
        extra = folder.entries("diffusion_models")
    except CheckpointError:
        extra = []
    for e in extra:
        try:
            found = resolve_model(folder, e.name)
        except CheckpointError:
            found = None
        names.append(e.name if found == e.path else str(e.path))
    return list(dict.fromkeys(names))


def resolve_model(folder: ModelsFolder, name: str) -> Path:
    """``name`` under ``checkpoints/``, else under ``diffusion_models/``: the loader's lookup
    order. Not found in either: the error of ``checkpoints/`` (the folder most people use)."""
    try:
        return folder.resolve(name, "checkpoints")
    except CheckpointError as first:
        try:
            return folder.resolve(name, "diffusion_models")
        except CheckpointError:
            raise first from None


@dataclass
class VideoModel:
    """A model chosen by the loader node: where it is, what it is, and the pipelines built from
    it so far (ComfyUI keeps the loader's output between runs, so they load once)."""

    source: str
    kind: str
    detail: str
    loras: list[tuple[Path, float]] = field(default_factory=list)
    device: str = "cpu"
    dtype: torch.dtype = torch.float32
    _cache: dict = field(default_factory=dict, repr=False)

    def _with_loras(self, pipe, target: str):
        if self.loras:
            from video.models.lora import apply_loras

            module = pipe.models.lora_target() if target == "transformer" else getattr(pipe.models, target)
            apply_loras(module, self.loras, merge=True)
        return pipe

    def img2vid(self):
        if self.kind not in SVD_KINDS:
            raise InputError(f"{self.source} is a {self.kind} model; image-to-video needs an SVD model")
        if "img2vid" not in self._cache:
            from video.runtime.img2vid import ImageToVideo

            src = "tiny" if self.source == "tiny-svd" else self.source
            pipe = ImageToVideo.from_pretrained(src, device=self.device, dtype=self.dtype)
            self._cache["img2vid"] = self._with_loras(pipe, "unet")
        return self._cache["img2vid"]

    def txt2vid(self):
        if self.kind not in FLOW_KINDS:
            raise InputError(f"{self.source} is a {self.kind} model; text-to-video needs our DiT or a Wan T2V model")
        if "txt2vid" not in self._cache:
            from video.runtime.txt2vid import TextToVideo

            pipe = TextToVideo.from_pretrained(self.source, device=self.device, dtype=self.dtype)
            self._cache["txt2vid"] = self._with_loras(pipe, "transformer")
        return self._cache["txt2vid"]

    def editor(self):
        if self.kind not in EDIT_KINDS:
            raise InputError(f"{self.source} is a {self.kind} model; editing needs SVD, our DiT, Wan or VACE")
        if "editor" not in self._cache:
            from video.edit.editor import Editor, FlowBackend, SVDBackend

            if self.kind in SVD_KINDS:  # share the generation pipeline (and its LoRAs)
                ed = Editor(SVDBackend(self.img2vid()))
            elif self.kind in FLOW_KINDS:
                ed = Editor(FlowBackend(self.txt2vid()))
            else:
                if self.loras:
                    raise InputError("LoRAs on VACE models are not supported by these nodes yet")
                ed = Editor.from_pretrained(self.source, device=self.device, dtype=self.dtype)
            self._cache["editor"] = ed
        return self._cache["editor"]

    def animator(self):
        if self.kind not in ANIMATE_KINDS:
            raise InputError(f"{self.source} is a {self.kind} model; animate needs a Wan-Animate folder")
        if self.loras:
            raise InputError("LoRAs on Wan-Animate models are not supported by these nodes yet")
        if "animator" not in self._cache:
            from video.edit.animate import Animator

            self._cache["animator"] = Animator.from_pretrained(self.source, device=self.device, dtype=self.dtype)
        return self._cache["animator"]


def load_video_model(name: str, models_dir: str | Path | None = None, lora: str = "", lora_strength: float = 1.0,
                     device: str = "cpu", dtype: torch.dtype = torch.float32) -> VideoModel:
    """``name`` under ``checkpoints/`` (or ``diffusion_models/``) of the models folder, or a path,
    or ``tiny`` / ``tiny-svd``; its kind detected from its contents. ``lora`` names a file under
    ``loras/`` merged at ``lora_strength`` when a pipeline is built."""
    from video.models.detect import detect_kind

    folder = models_folder(models_dir)
    if name in RANDOM_MODELS and not Path(name).exists():
        kind = {"svd": "svd", "flow": "dit_t2v"}[RANDOM_MODELS[name]]
        found = {"kind": kind, "detail": "random weights"}
        path = name
    else:
        path = resolve_model(folder, name)
        found = detect_kind(path)
        if path.is_file() and found["kind"].startswith("wan_"):  # listed (it is a Wan model), but not runnable alone
            from video.models.wan import SINGLE_FILE

            raise CheckpointError(SINGLE_FILE.format(p=path))
    loras = [(folder.resolve(lora, "loras"), float(lora_strength))] if lora else []
    return VideoModel(str(path), found["kind"], found["detail"], loras, device, dtype)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) % 2**63)


def image_to_video(model: VideoModel, image: torch.Tensor, frames: int = 14, steps: int = 25, seed: int = 0,
                   fps: int = 7, motion_bucket_id: int = 127, noise_aug_strength: float = 0.02,
                   width: int = 0, height: int = 0) -> torch.Tensor:
    """IMAGE (its first frame) -> IMAGE of ``frames`` frames. ``width``/``height`` 0: the image's
    size (rounded down to the model's multiple)."""
    first = comfy_to_frames(image)[0]
    pipe = model.img2vid()
    height, width = _fitted_size(pipe, height or first.shape[0], width or first.shape[1])
    out = pipe(first, num_frames=frames, num_inference_steps=steps, height=height, width=width, fps=fps,
               motion_bucket_id=motion_bucket_id, noise_aug_strength=noise_aug_strength,
               generator=_generator(seed))
    return frames_to_comfy(out)


def _fitted_size(pipe, height: int, width: int) -> tuple[int, int]:
    """The size the SVD pipeline renders (rounded down to its multiple), logged when it is not the
    one asked for: the pipeline's Python warning shows once per process at most, and a node
    whose output is smaller than its widgets say must say so on every run."""
    from video.runtime.img2vid import size_multiple

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h, w = pipe.check_size(height, width)
    if (h, w) != (height, width):
        log.warning("Image to Video: %dx%d (width x height) is not a multiple of the model's %d; rendering %dx%d",
                    width, height, size_multiple(pipe.models), w, h)
    return h, w


def text_to_video(model: VideoModel, prompt: str, negative_prompt: str = "", frames: int = 0, width: int = 0,
                  height: int = 0, steps: int = 0, guidance_scale: float = -1.0, seed: int = 0) -> torch.Tensor:
    """Prompt -> IMAGE. Zero sizes/steps/frames and a negative guidance take the model's defaults."""
    pipe = model.txt2vid()
    out = pipe(prompt, negative_prompt=negative_prompt or None, num_frames=frames or None, height=height or None,
               width=width or None, num_inference_steps=steps or None,
               guidance_scale=None if guidance_scale < 0 else guidance_scale, generator=_generator(seed))
    return frames_to_comfy(out)


def inpaint_video(model: VideoModel, images: torch.Tensor, mask: torch.Tensor | None = None, prompt: str = "",
                  strength: float = 1.0, steps: int = 0, seed: int = 0) -> torch.Tensor:
    """Regenerate the masked part of IMAGE frames (no mask: all of it; ``strength`` < 1:
    SDEdit). Returned at the input's size."""
    video = comfy_to_frames(images, "images")
    editor = model.editor()
    out = editor(video, mask=comfy_mask_to_frames(mask), prompt=prompt, strength=strength,
                 num_inference_steps=steps or None, generator=_generator(seed))
    return frames_to_comfy(out)


def upscale_video(images: torch.Tensor, scale: int = 2, upscale_model: str = "realesr-animevideov3",
                  models_dir: str | Path | None = None) -> torch.Tensor:
    """Real-ESRGAN per frame. ``upscale_model``: a built-in name, ``bicubic`` (the baseline), or
    an ncnn ``.param`` under ``upscale_models/`` (by name)."""
    from video.edit.upscale import BASELINE, MODELS, upscale

    model: str | Path = upscale_model
    if upscale_model not in MODELS and upscale_model != BASELINE:
        model = models_folder(models_dir).resolve(upscale_model, "upscale_models")
        if model.suffix != ".param":
            raise InputError(f"{model}: the upscaler runs ncnn conversions (.param + .bin); PyTorch "
                             "Real-ESRGAN weights are not run here")
    return frames_to_comfy(upscale(comfy_to_frames(images, "images"), scale=scale, model=model))


def _mask_frames_uint8(mask: torch.Tensor) -> np.ndarray:
    """MASK -> uint8 (B, H, W), 255 = the mask's 1."""
    return np.round(comfy_mask_to_frames(mask) * 255.0).astype(np.uint8)


def animate_video(model: VideoModel, image: torch.Tensor, pose_video: torch.Tensor, face_video: torch.Tensor,
                  mode: str = "animate", prompt: str = "", negative_prompt: str = "", steps: int = 0,
                  guidance_scale: float = 1.0, seed: int = 0, width: int = 0, height: int = 0,
                  segment_frames: int = 0, background_video: torch.Tensor | None = None,
                  mask: torch.Tensor | None = None) -> torch.Tensor:
    """Wan-Animate: the character of ``image`` (its first frame) moves as ``pose_video`` with the
    expressions of ``face_video`` (one face crop per pose frame); ``mode="replace"`` puts it into
    ``background_video`` where ``mask`` is white. Returns as many frames as the pose video has.
    Zero steps/size/segment: the model's defaults (size: the pose video's, to the model's
    multiple); an empty negative prompt takes the model's default."""
    from video.edit.animate import MODES

    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    pose = comfy_to_frames(pose_video, "pose_video")
    background = mask_video = None
    if mode == "replace":
        if background_video is None or mask is None:
            raise InputError("mode 'replace' needs background_video and mask (white = the character's region)")
        background = _replace_input(comfy_to_frames(background_video, "background_video"), "background_video", len(pose))
        mask_video = _replace_input(_mask_frames_uint8(mask), "mask", len(pose))
    elif background_video is not None or mask is not None:
        log.warning("Animate Character: mode 'animate' ignores background_video and mask (they are for 'replace')")
    out = model.animator()(
        comfy_to_frames(image)[0], pose, comfy_to_frames(face_video, "face_video"), mode=mode,
        background_video=background, mask_video=mask_video, prompt=prompt,
        negative_prompt=negative_prompt or None, num_inference_steps=steps or None, guidance_scale=guidance_scale,
        generator=_generator(seed), height=height or None, width=width or None,
        segment_frame_length=segment_frames or None)
    return frames_to_comfy(out)


def _replace_input(frames: np.ndarray, name: str, pose_frames: int) -> np.ndarray:
    """A replace-mode background or mask: one frame (a still, held) or at least one per pose frame.
    Wan-Animate pads a shorter video by playing it back and forth, so a background of 30 frames
    under 50 pose frames would run backwards from frame 30 on: an error, not a surprise."""
    if len(frames) != 1 and len(frames) < pose_frames:
        raise InputError(f"{name} has {len(frames)} frames; the pose video has {pose_frames} (give one frame, "
                         "held, or at least one per pose frame)")
    return frames


def next_output_path(filename_prefix: str, ext: str, output_dir: str | Path | None = None) -> tuple[Path, str]:
    """``(path, subfolder)`` of the next ``{prefix}_{counter:05}_.{ext}`` under the output folder,
    ComfyUI's naming (``folder_paths.get_save_image_path``): a prefix may hold subfolders but
    never leave the output folder."""
    root = Path(output_dir) if output_dir is not None else default_output_dir()
    root = root.resolve()
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


def write_video_file(images: torch.Tensor, fps: float = 7.0, filename_prefix: str = "video_pipeline/video",
                     format: str = "mp4", crf: int = 18, output_dir: str | Path | None = None) -> dict:
    """IMAGE frames -> a video in the output folder with our settings (:func:`video.media.write_video`:
    H.264 yuv420p with BT.709 tags and +faststart, VP9 webm, or a palette gif). Returns ComfyUI's
    ``{"ui": ..., "result": (path,)}``: the UI shows it as core ComfyUI's SaveVideo does."""
    from video.media import write_video

    if format not in VIDEO_FORMATS:
        raise InputError(f"format must be one of {', '.join(VIDEO_FORMATS)}; got {format!r}")
    frames = comfy_to_frames(images, "images")
    path, subfolder = next_output_path(filename_prefix, format, output_dir)
    write_video(frames, path, fps=fps, crf=crf)
    saved = {"filename": path.name, "subfolder": subfolder, "type": "output"}
    return {"ui": {"images": [saved], "animated": (True,)}, "result": (str(path),)}
