"""What the ComfyUI nodes do, as plain functions testable without ComfyUI.

ComfyUI's conventions: an IMAGE is a float tensor (B, H, W, C) in [0, 1] (a video is its
frames as the batch, as VideoHelperSuite's load/combine nodes have it), a MASK is a float
tensor (B, H, W) or (H, W) in [0, 1]. Our pipelines take and return uint8 (F, H, W, 3)
arrays; the converters here are the only bridge.

A function returns its outputs (a value or a tuple), or ComfyUI's ``{"ui": ..., "result":
(...)}`` dict when the node also shows something in the UI (the written video).

Inside ComfyUI the functions also report progress to the node's bar and stop when the user
presses Cancel (:func:`comfy_on_step`, the pipelines' ``on_step``), log the pipelines' warnings on
every run (:func:`relayed_warnings`), and search every model folder ComfyUI knows
(:class:`ComfyModelsFolder`); ComfyUI's modules are imported only when present
(:func:`comfy_module`), so all of this is skipped in plain Python.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from video.models.folder import ModelsFolder
from video.models.svd import CheckpointError
from video.runtime.img2vid import InputError
from video.runtime.progress import StepCallback

if TYPE_CHECKING:
    from types import ModuleType

RANDOM_MODELS = {"tiny": "flow", "tiny-svd": "svd"}  # random-weight smoke models, no file needed
# The drop-down shows the random models under these labels; the bare names stay accepted (scripts,
# API prompts), and a user's file or folder of the same name is loaded instead.
BUILTIN_LABELS = {f"{n} (random weights, for tests)": n for n in RANDOM_MODELS}
SVD_KINDS = ("svd", "svd_xt")
FLOW_KINDS = ("dit_t2v", "wan_t2v")
EDIT_KINDS = SVD_KINDS + FLOW_KINDS + ("wan_vace",)
ANIMATE_KINDS = ("wan_animate",)
RUNNABLE_KINDS = EDIT_KINDS + ANIMATE_KINDS  # what some node of this pack runs
RUNS = ("SVD / SVD-XT (Image to Video, Inpaint), Wan 2.1 T2V and our DiT (Text to Video, Inpaint), "
        "Wan VACE (Inpaint) and Wan-Animate (Animate), as diffusers folders (SVD also as a single file)")
DTYPES = ("auto", "float16", "bfloat16", "float32")
# Where each Wan kind is published in the diffusers layout this pack loads (its SINGLE_FILE hint).
WAN_REPOS = {"wan_t2v": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "wan_vace": "Wan-AI/Wan2.1-VACE-1.3B-diffusers",
             "wan_animate": "Wan-AI/Wan2.2-Animate-14B-Diffusers"}
VIDEO_FORMATS = ("mp4", "webm", "gif")  # what the write-video node offers (video.media writes them)
OLD_DEFAULT_GUIDANCE = -1.0  # the guidance widget's old "model default" value, still in saved workflows
log = logging.getLogger(__name__)  # ComfyUI shows the root logger's records in its console


def comfy_module(name: str) -> ModuleType | None:
    """ComfyUI's module ``name`` (``comfy.model_management``, ``comfy.utils``), or None outside
    ComfyUI: every ComfyUI hook of this file is skipped there, so the functions run in plain Python."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


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


# --- ComfyUI's progress bar and Cancel button ------------------------------------------------

def comfy_on_step() -> StepCallback | None:
    """ComfyUI's node progress bar and Cancel button as a pipeline's ``on_step(done, total)``
    (:mod:`video.runtime.progress`): each call raises ComfyUI's ``InterruptProcessingException``
    when the user pressed Cancel, else sets the node's bar to done/total. Making it checks Cancel
    once, so a cancelled run stops before its first step. None outside ComfyUI."""
    mm, utils = comfy_module("comfy.model_management"), comfy_module("comfy.utils")
    if mm is None or utils is None:
        return None
    mm.throw_exception_if_processing_interrupted()
    bar = None

    def on_step(done: int, total: int) -> None:
        nonlocal bar
        mm.throw_exception_if_processing_interrupted()
        if bar is None:
            bar = utils.ProgressBar(max(1, int(total)))
        bar.update_absolute(int(done), max(1, int(total)))

    return on_step


def _our_warning(w: warnings.WarningMessage) -> bool:
    """Whether a recorded warning was raised (as attributed by its stacklevel) inside this project."""
    import video

    root = Path(video.__file__).resolve().parent
    try:
        return issubclass(w.category, UserWarning) and root in Path(w.filename).resolve().parents
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def relayed_warnings(node: str) -> Iterator[None]:
    """Our pipelines' warnings (an odd frame size cropped, SVD ignoring the prompt, more frames
    than trained) logged with ``log.warning`` on every run, prefixed by the node's name: Python
    shows a warning once per code location per process, and a node that does something other
    than its widgets say must say so each time (ComfyUI's console shows the log). Other
    libraries' warnings are shown as Python would have."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", category=UserWarning, module=r"video(\.|$)")
        yield
    for w in caught:
        if _our_warning(w):
            log.warning("%s: %s", node, w.message)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)


@contextlib.contextmanager
def running(node: str) -> Iterator[StepCallback | None]:
    """A node's pipeline call: its warnings logged every time; yields the ``on_step`` to pass to
    the pipeline (:func:`comfy_on_step`: the node's progress bar and Cancel)."""
    with relayed_warnings(node):
        yield comfy_on_step()


# --- the models folder ------------------------------------------------------------------------

def default_models_dir() -> Path | None:
    """Inside ComfyUI its own ``models/`` (and, through the folder's parent, its
    extra_model_paths.yaml); outside, None (our default: $VIDEO_MODELS or ./models)."""
    folder_paths = comfy_module("folder_paths")  # ComfyUI's module
    return None if folder_paths is None else Path(folder_paths.models_dir)


class ComfyModelsFolder(ModelsFolder):
    """:class:`ModelsFolder` plus the folders ComfyUI itself knows for each kind
    (``folder_paths.get_folder_paths``): those of its command line (``--base-directory``,
    extra_model_paths.yaml files it read) and those other custom nodes registered with
    ``folder_paths.add_model_folder_path``. Ours come first; each folder is searched once."""

    def __init__(self, *args, folder_paths, **kw):
        super().__init__(*args, **kw)
        self.folder_paths = folder_paths

    def search_paths(self, kind: str) -> list[Path]:
        try:
            theirs = [Path(p) for p in self.folder_paths.get_folder_paths(kind)]
        except (KeyError, AttributeError):  # a kind ComfyUI has no folder for
            theirs = []
        return dedupe_paths([*super().search_paths(kind), *theirs])


def dedupe_paths(paths: list[Path]) -> list[Path]:
    """``paths`` in order, each folder once (the same folder reached by two spellings too)."""
    seen, out = set(), []
    for p in paths:
        key = os.path.normcase(os.path.realpath(p))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def models_folder(models_dir: str | Path | None = None) -> ModelsFolder:
    """The models folder the nodes search: ``models_dir``, else ComfyUI's own ``models/`` with
    the extra_model_paths.yaml beside it, those ComfyUI was started with
    (``--extra-model-paths-config``) and every folder ComfyUI's ``folder_paths`` lists for the
    kind, else ours ($VIDEO_MODELS or ./models)."""
    extra: list[str] = []
    if models_dir is not None:
        return ModelsFolder(models_dir)
    cli = comfy_module("comfy.cli_args")  # ComfyUI's parsed flags
    for group in getattr(getattr(cli, "args", None), "extra_model_paths_config", None) or []:
        extra += group if isinstance(group, list) else [group]  # nargs="+" with action="append"
    folder_paths = comfy_module("folder_paths")
    if folder_paths is None:
        return ModelsFolder(default_models_dir(), extra_configs=extra)
    return ComfyModelsFolder(default_models_dir(), extra_configs=extra, folder_paths=folder_paths)


def default_output_dir() -> Path:
    """Inside ComfyUI its output folder; outside, ``./output`` (ComfyUI's default name)."""
    folder_paths = comfy_module("folder_paths")
    return Path("output") if folder_paths is None else Path(folder_paths.get_output_directory())


def default_device() -> str:
    """ComfyUI's device inside ComfyUI; else CUDA when present, else the CPU."""
    mm = comfy_module("comfy.model_management")
    if mm is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(mm.get_torch_device())


def model_dtype(choice: str, kind: str, device: str | torch.device) -> torch.dtype:
    """The loader's ``dtype`` widget -> a torch dtype. ``auto``: float32 on the CPU; elsewhere
    ComfyUI's choice for a diffusion model on that device (``comfy.model_management.unet_dtype``,
    which follows its ``--fp16-unet``/``--bf16-unet``/``--fp32-unet``/``--force-fp32`` flags and
    the card: no bf16 before Ampere), among the dtypes the model runs in, in our CLI's order of
    preference: float16 first for SVD, bfloat16 first for Wan and our DiT (video.flags); without
    ComfyUI, that first choice on CUDA and MPS."""
    if choice not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}; got {choice!r}")
    if choice != "auto":
        return getattr(torch, choice)
    device = torch.device(device)
    if device.type == "cpu":
        return torch.float32
    preferred = [torch.float16, torch.bfloat16] if kind in SVD_KINDS else [torch.bfloat16, torch.float16]
    mm = comfy_module("comfy.model_management")
    if mm is None:
        return preferred[0] if device.type in ("cuda", "mps") else torch.float32
    chosen = mm.unet_dtype(device=device, supported_dtypes=[*preferred, torch.float32])
    return chosen if chosen in (*preferred, torch.float32) else preferred[0]  # fp8/fp64 flags: not ours


def free_comfy_memory(device: str | torch.device) -> None:
    """Before one of our pipelines loads onto a GPU inside ComfyUI: unload the models ComfyUI's
    own nodes left there (``unload_all_models``, which empties the cache). Our pipelines are not
    registered with ComfyUI's model management, so it cannot make room for them by itself."""
    mm = comfy_module("comfy.model_management")
    if mm is not None and torch.device(device).type != "cpu":
        mm.unload_all_models()
        mm.soft_empty_cache()


# --- the loader's drop-down -------------------------------------------------------------------

_KIND_CACHE: dict[tuple[str, int, int], str] = {}  # (file, size, mtime) -> detected kind


def _has_safetensors_header(p: Path) -> bool:
    """The first bytes of a safetensors file (as :func:`video.models.detect.detect_kind` checks)."""
    try:
        with p.open("rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000


def listed_kind(p: Path) -> str | None:
    """The kind of ``p`` as far as listing needs it, or None when it cannot be told cheaply
    (pickles, GGUF, unreadable files: listed, and the loader says what they are). Folders read
    their JSON configs; single files only their safetensors header (about 10 ms for an SDXL
    header of 2,500 tensors), remembered per (path, size, modification time)."""
    from video.models.detect import detect_kind

    if p.is_dir():
        try:
            return detect_kind(p)["kind"]
        except Exception:  # a broken folder is listed; loading it says why
            return None
    try:
        st = p.stat()
    except OSError:
        return None
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _KIND_CACHE:
        if not _has_safetensors_header(p):
            return None
        try:
            _KIND_CACHE[key] = detect_kind(p)["kind"]
        except Exception:
            return None
    return _KIND_CACHE[key]


def is_listed(p: Path) -> bool:
    """Whether the loader's drop-down shows ``p``: a kind some node runs, a Wan single file (the
    loader then says which folder to get instead), or a file whose kind is not cheap to tell.
    Image checkpoints (SD 1.x, SDXL, Flux), LoRAs, VAEs, ... in the same folders are left out."""
    kind = listed_kind(p)
    return kind is None or kind in RUNNABLE_KINDS or (p.is_file() and kind.startswith("wan_"))


def model_names(kind: str = "checkpoints", models_dir: str | Path | None = None) -> list[str]:
    """Names of what the models folder holds under ``kind``, for a node's drop-down."""
    try:
        return [e.name for e in models_folder(models_dir).entries(kind)]
    except CheckpointError:
        return []


def video_model_names(models_dir: str | Path | None = None) -> list[str]:
    """The loader's drop-down: the video models :func:`load_video_model` finds (:func:`is_listed`),
    ``checkpoints/`` first, then ``diffusion_models/`` (and its ``unet/`` alias), then the
    random-weight test models under their :data:`BUILTIN_LABELS`. A diffusion model whose name
    would resolve to a checkpoint instead is listed by its path, so that picking it loads it."""
    folder = models_folder(models_dir)
    names = []
    for sub in ("checkpoints", "diffusion_models"):
        try:
            entries = folder.entries(sub)
        except CheckpointError:
            entries = []
        for e in entries:
            if not is_listed(e.path):
                continue
            if sub == "checkpoints":
                names.append(e.name)
                continue
            try:
                found = resolve_model(folder, e.name)
            except CheckpointError:
                found = None
            names.append(e.name if found == e.path else str(e.path))
    return list(dict.fromkeys([*names, *BUILTIN_LABELS]))


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

            free_comfy_memory(self.device)
            src = "tiny" if self.source == "tiny-svd" else self.source
            pipe = ImageToVideo.from_pretrained(src, device=self.device, dtype=self.dtype)
            self._cache["img2vid"] = self._with_loras(pipe, "unet")
        return self._cache["img2vid"]

    def txt2vid(self):
        if self.kind not in FLOW_KINDS:
            raise InputError(f"{self.source} is a {self.kind} model; text-to-video needs our DiT or a Wan T2V model")
        if "txt2vid" not in self._cache:
            from video.runtime.txt2vid import TextToVideo

            free_comfy_memory(self.device)
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
                free_comfy_memory(self.device)
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

            free_comfy_memory(self.device)
            self._cache["animator"] = Animator.from_pretrained(self.source, device=self.device, dtype=self.dtype)
        return self._cache["animator"]


# Header keys of the image models people keep in checkpoints/, for the loader's refusal.
IMAGE_FAMILIES = (("double_blocks.", "Flux"), ("joint_blocks.", "Stable Diffusion 3"),
                  ("conditioner.embedders.", "SDXL"), ("cond_stage_model.", "Stable Diffusion 1.x/2.x"),
                  ("input_blocks.", "a Stable Diffusion UNet"))


def image_family(keys: list[str]) -> str | None:
    """Which image model a checkpoint's keys are (:data:`IMAGE_FAMILIES`, ComfyUI's
    ``model.diffusion_model.`` prefix ignored), or None."""
    bare = [k.removeprefix("model.diffusion_model.") for k in keys]
    for marker, family in IMAGE_FAMILIES:
        if any(k.startswith(marker) for k in bare):
            return family
    return None


def unsupported_message(path: Path, kind: str, detail: str) -> str:
    """The loader's one line for a model no node of this pack runs: what it was detected as,
    and what the pack runs."""
    family = None
    if path.is_file() and _has_safetensors_header(path):
        from video.models.inspect import safetensors_shapes

        try:
            family = image_family(list(safetensors_shapes(path)[0]))
        except Exception:
            family = None
    what = f"an image model ({family}); load it with ComfyUI's Load Checkpoint" if family else f"{kind} ({detail})"
    return f"{path.name}: detected as {what}. This node pack runs {RUNS}."


def single_file_message(path: Path, kind: str) -> str:
    """A Wan transformer saved alone (ComfyUI's diffusion_models/ layout): the pipeline's own
    message, plus what to download and where to put it for this loader."""
    from video.models.wan import SINGLE_FILE

    repo = WAN_REPOS.get(kind, WAN_REPOS["wan_t2v"])
    return (SINGLE_FILE.format(p=path) + f". For this loader download the whole repository (e.g. "
            f"`huggingface-cli download {repo} --local-dir models/checkpoints/{repo.split('/')[1]}`) "
            "into ComfyUI's models/checkpoints/ and pick that folder")


def load_video_model(name: str, models_dir: str | Path | None = None, lora: str = "", lora_strength: float = 1.0,
                     device: str = "cpu", dtype: torch.dtype | str = "auto") -> VideoModel:
    """``name`` under ``checkpoints/`` (or ``diffusion_models/``) of the models folder, or a path,
    or a random-weight test model (``tiny`` / ``tiny-svd`` or their :data:`BUILTIN_LABELS`; a
    user's file or folder of that name wins); its kind detected from its contents, and refused
    here, with what this pack runs, when no node runs it. ``lora`` names a file under ``loras/``
    merged at ``lora_strength`` when a pipeline is built. ``dtype``: a torch dtype or one of
    :data:`DTYPES` (:func:`model_dtype`)."""
    from video.models.detect import detect_kind

    folder = models_folder(models_dir)
    builtin = BUILTIN_LABELS.get(name, name if name in RANDOM_MODELS else None)
    try:
        path = resolve_model(folder, name) if name not in BUILTIN_LABELS else None
    except CheckpointError as e:
        if builtin is None or "ambiguous" in str(e):  # several models of the user's named so: theirs to pick
            raise
        path = None
    if path is None:
        kind = {"svd": "svd", "flow": "dit_t2v"}[RANDOM_MODELS[builtin]]
        found, source = {"kind": kind, "detail": "random weights"}, builtin
    else:
        found, source = detect_kind(path), str(path)
        if path.is_file() and found["kind"].startswith("wan_"):  # listed (it is a Wan model), but not runnable alone
            raise CheckpointError(single_file_message(path, found["kind"]))
        if found["kind"] not in RUNNABLE_KINDS:
            raise CheckpointError(unsupported_message(path, found["kind"], found["detail"]))
    loras = [(folder.resolve(lora, "loras"), float(lora_strength))] if lora else []
    if not isinstance(dtype, torch.dtype):
        dtype = model_dtype(dtype, found["kind"], device)
    return VideoModel(source, found["kind"], found["detail"], loras, device, dtype)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed) % 2**63)


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


def image_to_video(model: VideoModel, image: torch.Tensor, frames: int = 14, steps: int = 25, seed: int = 0,
                   fps: int = 7, motion_bucket_id: int = 127, noise_aug_strength: float = 0.02,
                   width: int = 0, height: int = 0, min_guidance_scale: float | None = None,
                   max_guidance_scale: float | None = None) -> torch.Tensor:
    """IMAGE (its first frame) -> IMAGE of ``frames`` frames. ``width``/``height`` 0: the image's
    size (rounded down to the model's multiple). Guidance ramps from ``min_guidance_scale`` on the
    first frame to ``max_guidance_scale`` on the last (None: the model's config; a prompt saved
    before these inputs existed keeps its result)."""
    first = comfy_to_frames(image)[0]
    pipe = model.img2vid()
    height, width = _fitted_size(pipe, height or first.shape[0], width or first.shape[1])
    guidance = {}
    for name, value in (("min_guidance_scale", min_guidance_scale), ("max_guidance_scale", max_guidance_scale)):
        if value is not None:
            guidance[name] = guidance_value(value, name)
    with running("Image to Video") as on_step:
        out = pipe(first, num_frames=frames, num_inference_steps=steps, height=height, width=width, fps=fps,
                   motion_bucket_id=motion_bucket_id, noise_aug_strength=noise_aug_strength,
                   generator=_generator(seed), on_step=on_step, **guidance)
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
    """Prompt -> IMAGE. Zero sizes/steps/frames take the model's defaults, as does a guidance of
    exactly -1 (:func:`guidance_value`) and an empty negative prompt (:func:`negative_value`)."""
    scale = guidance_value(guidance_scale)
    pipe = model.txt2vid()
    with running("Text to Video") as on_step:
        out = pipe(prompt, negative_prompt=negative_value(negative_prompt), num_frames=frames or None,
                   height=height or None, width=width or None, num_inference_steps=steps or None,
                   guidance_scale=scale, generator=_generator(seed), on_step=on_step)
    return frames_to_comfy(out)


def inpaint_video(model: VideoModel, images: torch.Tensor, mask: torch.Tensor | None = None, prompt: str = "",
                  strength: float = 1.0, steps: int = 0, seed: int = 0) -> torch.Tensor:
    """Regenerate the masked part of IMAGE frames (no mask: all of it; ``strength`` < 1:
    SDEdit). Returned at the input's size."""
    video = comfy_to_frames(images, "images")
    editor = model.editor()
    with running("Inpaint / Edit Video") as on_step:
        out = editor(video, mask=comfy_mask_to_frames(mask), prompt=prompt, strength=strength,
                     num_inference_steps=steps or None, generator=_generator(seed), on_step=on_step)
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
    frames = comfy_to_frames(images, "images")
    with running("Upscale Video") as on_step:
        out = upscale(frames, scale=scale, model=model, on_step=on_step)
    return frames_to_comfy(out)


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
    multiple); guidance and negative prompt as in :func:`text_to_video`."""
    from video.edit.animate import MODES

    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    scale = guidance_value(guidance_scale)
    pose = comfy_to_frames(pose_video, "pose_video")
    background = mask_video = None
    if mode == "replace":
        if background_video is None or mask is None:
            raise InputError("mode 'replace' needs background_video and mask (white = the character's region)")
        background = _replace_input(comfy_to_frames(background_video, "background_video"), "background_video", len(pose))
        mask_video = _replace_input(_mask_frames_uint8(mask), "mask", len(pose))
    elif background_video is not None or mask is not None:
        log.warning("Animate Character: mode 'animate' ignores background_video and mask (they are for 'replace')")
    with running("Animate Character") as on_step:
        out = model.animator()(
            comfy_to_frames(image)[0], pose, comfy_to_frames(face_video, "face_video"), mode=mode,
            background_video=background, mask_video=mask_video, prompt=prompt,
            negative_prompt=negative_value(negative_prompt), num_inference_steps=steps or None,
            **({} if scale is None else {"guidance_scale": scale}), generator=_generator(seed),
            height=height or None, width=width or None, segment_frame_length=segment_frames or None,
            on_step=on_step)
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
    with relayed_warnings("Write Video"):  # an odd size is cropped to even for 4:2:0: said on every run
        write_video(frames, path, fps=fps, crf=crf)
    saved = {"filename": path.name, "subfolder": subfolder, "type": "output"}
    return {"ui": {"images": [saved], "animated": (True,)}, "result": (str(path),)}
