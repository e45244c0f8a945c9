"""ComfyUI as the host of our nodes: its modules when we run inside it, and what we take from
them (its device, output and models folders, its memory management, the node's progress bar and
Cancel button, its console for our warnings). ComfyUI's modules are imported only when present
(:func:`comfy_module`), so every hook here is a no-op in plain Python and the nodes' functions
run (and are tested) without ComfyUI."""

from __future__ import annotations

import contextlib
import importlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from video.runtime.progress import StepCallback

if TYPE_CHECKING:
    from types import ModuleType

log = logging.getLogger(__name__)  # ComfyUI shows the root logger's records in its console


def comfy_module(name: str) -> ModuleType | None:
    """ComfyUI's module ``name`` (``comfy.model_management``, ``comfy.utils``), or None outside
    ComfyUI: every ComfyUI hook of this module is skipped there, so the functions run in plain Python."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def default_models_dir() -> Path | None:
    """Inside ComfyUI its own ``models/`` (and, through the folder's parent, its
    extra_model_paths.yaml); outside, None (our default: $VIDEO_MODELS or ./models)."""
    folder_paths = comfy_module("folder_paths")  # ComfyUI's module
    return None if folder_paths is None else Path(folder_paths.models_dir)


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


def free_comfy_memory(device: str | torch.device) -> None:
    """Before one of our pipelines loads onto a GPU inside ComfyUI: unload the models ComfyUI's
    own nodes left there (``unload_all_models``, which empties the cache). Our pipelines are not
    registered with ComfyUI's model management, so it cannot make room for them by itself."""
    mm = comfy_module("comfy.model_management")
    if mm is not None and torch.device(device).type != "cpu":
        mm.unload_all_models()
        mm.soft_empty_cache()


def require_modules(node: str, extra: str, *modules: str) -> None:
    """One line naming the pip extra when a module ``node`` runs on is not installed: the nodes
    load with the base install (``pip install -e .``), and a missing optional module surfaced
    as a bare ``ModuleNotFoundError`` from deep inside, or (Curate: OpenCV) as every clip's
    row saying error while the node succeeded. Checked before any work."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        from video.runtime.errors import InputError

        raise InputError(f"{node} needs {', '.join(missing)} (the [{extra}] extra): run "
                         f'pip install -e ".[{extra}]" in the video-pipeline checkout, then restart ComfyUI')


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
    import data_curation
    import video

    roots = {Path(m.__file__).resolve().parent for m in (video, data_curation)}
    try:
        return issubclass(w.category, UserWarning) and bool(roots & set(Path(w.filename).resolve().parents))
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def relayed_warnings(node: str) -> Iterator[None]:
    """Our pipelines' warnings (an odd frame size cropped, SVD ignoring the prompt, more frames
    than trained) logged with ``log.warning`` on every run, prefixed by the node's name: Python
    shows a warning once per code location per process, and a node that does something other
    than its widgets say must say so each time (ComfyUI's console shows the log). Other
    libraries' warnings are shown as Python would have. Each line once per run: a clip edited in
    several windows (VACE) parses its prompt once a window, and said it once a window."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", category=UserWarning, module=r"(video|data_curation)(\.|$)")
        yield
    said: set[str] = set()
    for w in caught:
        if _our_warning(w):
            if str(w.message) not in said:
                said.add(str(w.message))
                log.warning("%s: %s", node, w.message)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)


@contextlib.contextmanager
def running(node: str) -> Iterator[StepCallback | None]:
    """A node's pipeline call: its warnings logged every time; yields the ``on_step`` to pass to
    the pipeline (:func:`comfy_on_step`: the node's progress bar and Cancel)."""
    with relayed_warnings(node):
        yield comfy_on_step()
