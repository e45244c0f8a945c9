"""Which diffusers Wan folders text-to-video runs, checked from ``model_index.json`` before any
weight is read, so that no folder is run with some of its weights left out.

Run: ``WanPipeline`` with a ``WanTransformer3DModel`` — Wan 2.1 T2V, and Wan 2.2 T2V A14B's two
experts (``transformer/`` for high noise, ``transformer_2/`` below ``boundary_ratio``, as
diffusers' ``WanPipeline`` switches them). Refused, each in one line: VACE (``video edit``),
Animate (``video animate``), image-to-video, Wan 2.2 TI2V (``expand_timesteps``: per-token
timesteps), an expert without its boundary or a boundary without its expert.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from video.models.svd import CheckpointError

T2V_PIPELINES = ("WanPipeline",)
T2V_TRANSFORMERS = ("WanTransformer3DModel",)
_ELSEWHERE = {
    "WanVACEPipeline": "a Wan VACE model: run it with `video edit TASK --model {p}` (text-to-video would leave out "
                       "its vace_* weights)",
    "WanVACETransformer3DModel": "a Wan VACE model: run it with `video edit TASK --model {p}` (text-to-video would "
                                 "leave out its vace_* weights)",
    "WanAnimatePipeline": "a Wan-Animate model: run it with `video animate --model {p}`",
    "WanAnimateTransformer3DModel": "a Wan-Animate model: run it with `video animate --model {p}`",
    "WanImageToVideoPipeline": "a Wan image-to-video model, which this project does not run (text-to-video runs "
                               "WanPipeline folders)",
}
SINGLE_FILE = ("{p}: a single-file Wan transformer (ComfyUI's diffusion_models/) has no text encoder or VAE; give the "
               "diffusers folder (model_index.json, transformer/, text_encoder/, tokenizer/, vae/, scheduler/), e.g. "
               "Wan-AI/Wan2.1-T2V-1.3B-Diffusers")


DEFAULT_SHIFT = 3.0  # Wan 2.1's flow shift at 480p (diffusers' Wan examples: 3.0 for 480p, 5.0 for 720p)


SCHEDULER_CONFIG = "scheduler/scheduler_config.json"


def scheduler_shift(folder: Path) -> float:
    """The flow shift a Wan folder's ``scheduler/scheduler_config.json`` sets (``flow_shift``,
    or ``shift``; absent or null: the next), else :data:`DEFAULT_SHIFT` (no such file). Only
    the shift is read: we sample Euler or Heun on Wan's shifted grid, whatever scheduler class
    the file names. A file that does not read as a JSON object, or a shift that is not a
    number > 0, is a one-line :class:`CheckpointError` naming the folder and the file (json's
    and float's own errors were tracebacks, and came after every weight had loaded)."""
    cfg = folder / SCHEDULER_CONFIG
    if not cfg.is_file():
        return DEFAULT_SHIFT
    try:
        d = json.loads(cfg.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(f"{folder}: {SCHEDULER_CONFIG} is not a readable JSON file "
                              f"({e.__class__.__name__}: {str(e).splitlines()[0]})") from None
    if not isinstance(d, dict):
        raise CheckpointError(f"{folder}: {SCHEDULER_CONFIG}: expected a JSON object, found {type(d).__name__}")
    for key in ("flow_shift", "shift"):
        value = d.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise CheckpointError(f"{folder}: {SCHEDULER_CONFIG}: {key} must be a number > 0; found {value!r}")
        return float(value)
    return DEFAULT_SHIFT


def scheduler_problem(folder: Path) -> str | None:
    """What is wrong with a Wan folder's scheduler config (:func:`scheduler_shift`'s line, less
    the folder), or None: ``video info`` names it where a ``run_with`` line would be."""
    try:
        scheduler_shift(folder)
    except CheckpointError as e:
        return str(e).removeprefix(f"{folder}: ")
    return None


def wan_config(folder: Path):
    """Our config of a Wan diffusers folder: UMT5's 512 tokens, the scheduler's shift, and Wan's
    81 frames at 16 fps; for text-to-video and VACE alike. Reads no weights: the loaders call
    it first, so a broken scheduler config is refused before minutes of loading."""
    from video.config import TextToVideoConfig, load_config

    return load_config(TextToVideoConfig, {"name": folder.name, "backbone": "wan", "text_max_length": 512,
                                           "sampling": {"shift": scheduler_shift(folder), "num_frames": 81,
                                                        "fps": 16}})


def read_model_index(folder: str | Path) -> dict:
    """A diffusers folder's ``model_index.json`` as a dict; a file that is not a JSON object is
    a one-line CheckpointError naming it (json's own error was a traceback)."""
    index = Path(folder) / "model_index.json"
    try:
        info = json.loads(index.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{index}: not a readable JSON file ({e.__class__.__name__}: {str(e).splitlines()[0]})") \
            from None
    if not isinstance(info, dict):
        raise CheckpointError(f"{index}: expected a JSON object (the pipeline's parts), found {type(info).__name__}")
    return info


def read_index(p: Path) -> dict | None:
    """``model_index.json`` of a Wan diffusers folder; None when ``p`` is not one."""
    if not (p / "model_index.json").is_file():
        return None
    index = read_model_index(p)
    return index if "Wan" in str(index.get("_class_name", "")) else None


def _class(entry) -> str | None:
    return entry[1] if isinstance(entry, (list, tuple)) and len(entry) == 2 else None


def t2v_parts(p: Path, index: dict) -> dict:
    """What text-to-video loads from a Wan folder: ``{"transformers": [...], "boundary_ratio":
    float | None}``; a one-line :class:`CheckpointError` for any folder it would not run whole."""
    cls = index.get("_class_name")
    t1, t2 = _class(index.get("transformer")), _class(index.get("transformer_2"))
    for name in (cls, t1, t2):
        if name in _ELSEWHERE:
            raise CheckpointError(f"{p}: {_ELSEWHERE[name].format(p=p)}")
    if cls not in T2V_PIPELINES:
        raise CheckpointError(f"{p}: a {cls} folder; text-to-video runs Wan text-to-video folders "
                              f"({', '.join(T2V_PIPELINES)})")
    if index.get("expand_timesteps"):
        raise CheckpointError(f"{p}: a Wan 2.2 TI2V folder (expand_timesteps: a timestep per latent token), "
                              "which is not supported")
    for name in (t1, t2):
        if name is not None and name not in T2V_TRANSFORMERS:
            raise CheckpointError(f"{p}: its transformer is {name}, not {' or '.join(T2V_TRANSFORMERS)}")
    if t1 is None:
        raise CheckpointError(f"{p}: model_index.json names no transformer")
    boundary = index.get("boundary_ratio")
    if t2 is not None and boundary is None:
        raise CheckpointError(f"{p}: a second expert (transformer_2) but no boundary_ratio in model_index.json: "
                              "when to switch experts is unknown")
    if boundary is not None and t2 is None:
        raise CheckpointError(f"{p}: boundary_ratio {boundary} but no second expert (transformer_2)")
    return {"transformers": ["transformer"] + (["transformer_2"] if t2 else []),
            "boundary_ratio": None if boundary is None else float(boundary)}


__all__ = ["SCHEDULER_CONFIG", "SINGLE_FILE", "T2V_PIPELINES", "read_index", "scheduler_problem", "scheduler_shift",
           "t2v_parts", "wan_config"]
