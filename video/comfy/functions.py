"""What the ComfyUI nodes do, as plain functions testable without ComfyUI.

ComfyUI's conventions: an IMAGE is a float tensor (B, H, W, C) in [0, 1] (a video is its
frames as the batch), a MASK is a float tensor (B, H, W) or (H, W) in [0, 1]. Our pipelines
take and return uint8 (F, H, W, 3) arrays; the converters here are the only bridge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from video.models.svd import CheckpointError
from video.runtime.img2vid import InputError

RANDOM_MODELS = {"tiny": "flow", "tiny-svd": "svd"}  # random-weight smoke models, no file needed
SVD_KINDS = ("svd", "svd_xt")
FLOW_KINDS = ("dit_t2v", "wan_t2v")
EDIT_KINDS = SVD_KINDS + FLOW_KINDS + ("wan_vace",)


def comfy_to_frames(image: torch.Tensor) -> np.ndarray:
    """IMAGE (B, H, W, C) float [0, 1] -> uint8 (B, H, W, 3)."""
    if not isinstance(image, torch.Tensor) or image.ndim != 4 or image.shape[-1] not in (3, 4):
        raise InputError(f"expected a ComfyUI IMAGE (B, H, W, 3) tensor; got {getattr(image, 'shape', type(image))}")
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


def default_device() -> str:
    """ComfyUI's device inside ComfyUI; else CUDA when present, else the CPU."""
    try:
        import comfy.model_management as mm  # ComfyUI's module
    except ImportError:
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(mm.get_torch_device())


def model_names(kind: str = "checkpoints", models_dir: str | Path | None = None) -> list[str]:
    """Names for a node's drop-down: what the models folder holds, plus the random models."""
    from video.models.folder import ModelsFolder

    try:
        names = [e.name for e in ModelsFolder(models_dir or default_models_dir()).entries(kind)]
    except CheckpointError:
        names = []
    return names + (list(RANDOM_MODELS) if kind == "checkpoints" else [])


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

            apply_loras(getattr(pipe.models, target), self.loras, merge=True)
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


def load_video_model(name: str, models_dir: str | Path | None = None, lora: str = "", lora_strength: float = 1.0,
                     device: str = "cpu", dtype: torch.dtype = torch.float32) -> VideoModel:
    """``name`` under ``checkpoints/`` (or ``diffusion_models/``) of the models folder, or a path,
    or ``tiny`` / ``tiny-svd``; its kind detected from its contents. ``lora`` names a file under
    ``loras/`` merged at ``lora_strength`` when a pipeline is built."""
    from video.models.detect import detect_kind
    from video.models.folder import ModelsFolder

    folder = ModelsFolder(models_dir or default_models_dir())
    if name in RANDOM_MODELS and not Path(name).exists():
        kind = {"svd": "svd", "flow": "dit_t2v"}[RANDOM_MODELS[name]]
        found = {"kind": kind, "detail": "random weights"}
        path = name
    else:
        try:
            path = folder.resolve(name, "checkpoints")
        except CheckpointError as first:
            try:
                path = folder.resolve(name, "diffusion_models")
            except CheckpointError:
                raise first from None
        found = detect_kind(path)
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
    out = pipe(first, num_frames=frames, num_inference_steps=steps, height=height or first.shape[0],
               width=width or first.shape[1], fps=fps, motion_bucket_id=motion_bucket_id,
               noise_aug_strength=noise_aug_strength, generator=_generator(seed))
    return frames_to_comfy(out)


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
    video = comfy_to_frames(images)
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
        from video.models.folder import ModelsFolder

        model = ModelsFolder(models_dir or default_models_dir()).resolve(upscale_model, "upscale_models")
        if model.suffix != ".param":
            raise InputError(f"{model}: the upscaler runs ncnn conversions (.param + .bin); PyTorch "
                             "Real-ESRGAN weights are not run here")
    return frames_to_comfy(upscale(comfy_to_frames(images), scale=scale, model=model))
