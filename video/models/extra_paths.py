"""ComfyUI's ``extra_model_paths.yaml``: the folders of weights already on disk elsewhere that a
models folder (:mod:`video.models.folder`) searches in place. ComfyUI's semantics
(``utils/extra_config.py``): each top-level section has an optional ``base_path`` (``~`` and
``$VARS`` expanded; relative to the YAML file) and per-kind paths, one per line of a multi-line
string, relative to ``base_path`` (or to the YAML file without one); ``is_default: true`` puts the
section's paths ahead of the others. An ``a111``/``a1111`` section with a ``base_path`` and no
kinds gets AUTOMATIC1111's standard layout (:data:`A1111_LAYOUT`). Keys that name no model folder
(:data:`NOT_MODEL_KEYS`) are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

from video.config import NotUTF8, read_utf8
from video.runtime.errors import CheckpointError

# AUTOMATIC1111's stable-diffusion-webui tree, as in ComfyUI's extra_model_paths.yaml.example.
A1111_LAYOUT = {
    "checkpoints": ["models/Stable-diffusion"],
    "vae": ["models/VAE"],
    "loras": ["models/Lora", "models/LyCORIS"],
    "upscale_models": ["models/ESRGAN", "models/RealESRGAN", "models/SwinIR"],
    "embeddings": ["embeddings"],
    "controlnet": ["models/ControlNet"],
}
EXTRA_PATHS_FILE = "extra_model_paths.yaml"
# Keys of an extra_model_paths.yaml section that are not model folders. ComfyUI files each key as
# a folder kind (utils/extra_config.py), but lists no weights under these: ``custom_nodes`` is where
# it loads node packs from (ComfyUI Desktop writes it), ``download_model_base`` the folder
# ComfyUI-Manager downloads into (a models root, not a kind), ``configs`` holds SD's .yaml configs
# (folder_paths lists only .yaml there; A1111's layout points it at the checkpoints folder).
# Read as kinds, `video models` listed node packs' files and every checkpoint a second time.
NOT_MODEL_KEYS = ("custom_nodes", "download_model_base", "configs")

def _lines(value) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split("\n")
    return [str(s).strip() for s in items if str(s).strip()]


def read_extra_paths(yaml_path: str | Path) -> list[tuple[str, Path, bool]]:
    """``[(kind, folder, is_default), ...]`` from a ComfyUI ``extra_model_paths.yaml``, in file order."""
    import yaml

    from video.models.folder import canonical_kind

    yaml_path = Path(yaml_path)
    try:
        config = yaml.safe_load(read_utf8(yaml_path)) or {}
    except (OSError, yaml.YAMLError) as e:
        raise CheckpointError(f"{yaml_path}: cannot read it as ComfyUI's extra_model_paths.yaml "
                              f"({one_line(e)})") from None
    except NotUTF8 as e:
        raise CheckpointError(f"{yaml_path}: cannot read it as ComfyUI's extra_model_paths.yaml: "
                              f"{e.reason}") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{yaml_path}: expected sections (name: {{base_path: ..., checkpoints: ...}})")
    here = yaml_path.resolve().parent
    out = []
    for section, conf in config.items():
        if not conf:
            continue
        if not isinstance(conf, dict):
            raise CheckpointError(f"{yaml_path}: section {section!r} is not a mapping of kind: path")
        conf = dict(conf)
        base = conf.pop("base_path", None)
        is_default = bool(conf.pop("is_default", False))
        if base is not None:
            base = Path(os.path.expandvars(os.path.expanduser(str(base))))
            base = base if base.is_absolute() else here / base
            if not conf and str(section).lower() in ("a111", "a1111"):
                conf = A1111_LAYOUT
        for kind, value in conf.items():
            if str(kind) in NOT_MODEL_KEYS:
                continue
            for line in _lines(value):
                p = Path(os.path.expandvars(os.path.expanduser(line)))
                if not p.is_absolute():
                    p = (base if base is not None else here) / p
                out.append((canonical_kind(str(kind)), p, is_default))
    return out



def one_line(e: Exception) -> str:
    """``e`` as one line: a YAML error's problem and where (PyYAML's own text spans five lines
    with a caret), else its text with the line breaks folded."""
    problem, mark = getattr(e, "problem", None), getattr(e, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(e).split())
