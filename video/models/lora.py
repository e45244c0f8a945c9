"""LoRA files at inference: ``--lora FILE:SCALE`` parsed, the file checked and read (the
peft/diffusers, kohya or Wan key layout), scaled, and either merged into the base weights or
attached as unmerged adapters (peft).

The public home of LoRA handling and its entry points (:func:`apply_loras`, :func:`read_lora`,
:func:`save_lora`, :func:`check_lora_file`, :func:`parse_lora_arg`): what the file system and the
command line bring. The key layouts are :mod:`video.models.lora_keys`, merging and attaching
:mod:`video.models.lora_merge`; their names are re-exported here, so callers import from this one
module. A LoRA is applied whole or not at all: every file is read, and for a merge every layer's
fit checked, before the first weight changes.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import torch

from video.models.lora_keys import (  # noqa: F401  (re-exported: callers import them from here)
    _KEY_KINDS,
    _OTHER_COMPONENTS,
    _PEFT_PREFIXES,
    _UNSUPPORTED,
    KOHYA_PREFIX,
    METADATA_KEY,
    LoraError,
    LoraPart,
    _key_kind_name,
    _resolve,
    _targets,
    _wan_reverse,
    adaptable_layers,
    from_kohya_layout,
    from_peft_layout,
    kohya_export_names,
    kohya_header,
    kohya_name,
    lycoris_kinds,
    parse_lora,
    require_peft,
    to_kohya_layout,
    to_peft_layout,
    wan_original_names,
)
from video.models.lora_merge import (  # noqa: F401  (re-exported)
    _adapter_names,
    attach_lora,
    check_fits,
    dora_axis,
    fit_error,
    lycoris_dora,
    merge_lora,
)
from video.models.sniff import SAFETENSORS_SUFFIXES, claims_safetensors, is_pickled
from video.models.svd import CheckpointError  # noqa: F401  (re-exported: LoraError's base)


def lora_scale(arg: str, tail: str) -> float | None:
    """The scale ``tail`` after the last colon of ``--lora ARG``, or None when it is not a number
    (the colon is then part of the path). NaN and infinities are refused: float() takes them,
    and merged they make every weight NaN, a black video that still exits 0."""
    try:
        scale = float(tail)
    except ValueError:
        return None
    if not math.isfinite(scale):
        raise LoraError(f"--lora {arg}: the scale must be a finite number")
    return scale


def parse_lora_arg(arg: str) -> tuple[str, float]:
    """``"style.safetensors:0.8"`` -> ``("style.safetensors", 0.8)``; no scale means 1.0. Only a
    number after the last colon is a scale, so ``C:\\loras\\x.safetensors`` stays one path."""
    path, sep, tail = arg.rpartition(":")
    scale = lora_scale(arg, tail) if sep else None
    if scale is None:
        path, scale = arg, 1.0
    if not path:
        raise LoraError(f"--lora {arg!r}: give FILE or FILE:SCALE (e.g. style.safetensors:0.8)")
    return os.path.expanduser(path), scale  # ~ in --lora=~/x or a YAML config: the shell left it


def _not_a_file(path: str | Path, p: Path) -> str:
    """Why ``--lora PATH`` is not a file we can read: missing, or a folder (naming the LoRA
    file a training run's folder holds, when there is one)."""
    if not p.is_dir():
        return f"LoRA file {str(path)!r} not found"
    inside = [q for q in (p / "lora.safetensors", p / "final" / "lora.safetensors") if q.is_file()]
    hint = f"; did you mean {inside[0]}?" if inside else "; give the .safetensors file in it"
    return f"LoRA path {str(path)!r} is a folder, not a LoRA file{hint}"


def _unreadable(path: str | Path, p: Path, e: Exception) -> str:
    """One line for a LoRA file safetensors cannot read, naming it (with several ``--lora``
    files, the CLI's generic SafetensorError line did not say which): a file that starts as
    safetensors is damaged (its header length may begin with a pickle's bytes); else a pickle
    by its bytes or suffix (:mod:`video.models.sniff`, never unpickled)."""
    if is_pickled(p):
        return f"{path}: pickled LoRA files are not loaded; convert it to .safetensors"
    if claims_safetensors(p) or p.suffix.lower() in SAFETENSORS_SUFFIXES:
        return f"{path}: a truncated or damaged .safetensors file ({e})"
    return f"{path}: not a .safetensors LoRA file ({e})"


def check_lora_file(path: str | Path) -> None:
    """What :func:`read_lora` would refuse in the file itself, checked from its name and header
    alone so the CLI can say it before any model weights load: a missing path or a folder, a
    pickled file (by its first bytes, or by its suffix, ``.ckpt``, ``.pt``..., when its
    safetensors header does not read: a safetensors LoRA named ``.bin`` loads; nothing is ever
    unpickled, since a pickle can run code), or a file whose safetensors header does not read
    (truncated, damaged, not safetensors)."""
    from safetensors import SafetensorError, safe_open

    p = Path(path).expanduser()
    if not p.is_file():
        raise LoraError(_not_a_file(path, p))
    try:
        with safe_open(str(p), framework="pt") as f:
            f.metadata()
    except SafetensorError as e:
        raise LoraError(_unreadable(path, p, e)) from None


def checkpoint_adapter_config(p: Path) -> dict | None:
    """alpha for a LoRA training checkpoint's ``model.safetensors`` (``checkpoints/step_N/``)
    written before its header carried alpha (``training.lora.checkpoint_header``), which holds
    the peft adapters without alpha: read from the run's config recorded beside it
    in ``state.json`` (``lora.alpha``, 0 meaning rank, as the trainer gives peft), in the form of
    peft's ``adapter_config.json``. Without it alpha would default to the rank, and the
    checkpoint render at rank / alpha times the strength of ``final/lora.safetensors``. None
    for any other file."""
    state = p.parent / "state.json"
    if p.name != "model.safetensors" or not state.is_file():
        return None
    try:
        lora = (json.loads(state.read_text()).get("config") or {}).get("lora") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if not lora.get("enabled"):
        return None
    return {"lora_alpha": float(lora.get("alpha") or lora.get("rank"))}


def warn_if_raw_adapters(p: Path) -> None:
    """A LoRA training checkpoint's ``model.safetensors`` beside an ``ema.safetensors``: the raw
    adapters, where final/ exports their EMA, so it renders unlike final/ at the same step."""
    if p.name == "model.safetensors" and (p.parent / "ema.safetensors").is_file() and (p.parent / "state.json").is_file():
        warnings.warn(f"{p}: this run keeps an EMA of the adapters (ema.safetensors beside it), which final/ "
                      "exports; this file holds the raw adapters, so it renders unlike final/ at the same step",
                      stacklevel=3)


def not_a_lora(source: str, keys) -> str:
    """Why a file with no LoRA tensor is refused, naming what it is where its keys say (a
    LyCORIS LoHa or LoKr: "not a LoRA file" alone read as a damaged or mistaken file)."""
    kinds = lycoris_kinds(keys)
    if kinds:
        return (f"{source}: {' + '.join(kinds)} weights, not a LoRA; only LoRA files are applied "
                "(lora_A/lora_B, lora_down/lora_up or .diff keys)")
    return f"{source}: no lora_A/lora_B (peft) or lora_down/lora_up (kohya) keys; not a LoRA file"


def read_lora(path: str | Path, model: torch.nn.Module) -> dict[str, LoraPart]:
    """A LoRA file of any layout, its layers resolved to ``model``'s module paths. Errors name
    ``path`` as given (with several ``--lora`` files, names alone may not tell which one)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    p = Path(path).expanduser()
    check_lora_file(path)
    source = str(path)
    try:
        tensors = load_file(str(p))
        with safe_open(str(p), framework="pt") as f:
            metadata = f.metadata()
    except SafetensorError as e:
        raise LoraError(_unreadable(path, p, e)) from None
    if not any(rx.match(k) and kind in ("A", "B", "diff", "diff_b") for k in tensors for rx, kind in _KEY_KINDS):
        raise LoraError(not_a_lora(source, tensors))
    cfg_file = p.parent / "adapter_config.json"
    adapter_config = json.loads(cfg_file.read_text()) if cfg_file.is_file() else None
    if adapter_config is None and METADATA_KEY not in (metadata or {}):
        adapter_config = checkpoint_adapter_config(p)
    warn_if_raw_adapters(p)  # new checkpoints carry alpha in their header: checked for them too
    parts = parse_lora(tensors, metadata, model, source, adapter_config)
    if not parts:
        raise LoraError(f"{source}: no LoRA layers for this model")
    return parts


def save_lora(parts: dict[str, LoraPart], path: str | Path, layout: str = "peft", prefix: str = "unet",
              metadata: dict[str, str] | None = None, model: torch.nn.Module | None = None) -> Path:
    """Write ``parts`` in the ``peft`` (diffusers, under ``prefix``) or ``kohya`` layout; ``metadata``
    joins the header's (what a run records of its base model: ``video info`` prints it), never
    over the entries the layout itself needs (``format``, ``lora_adapter_metadata``, sd-scripts'
    ``ss_network_*``). ``model``, the one the parts fit, names a kohya file's layers as that
    model's own tools do (Wan's names for a Wan transformer: :func:`kohya_export_names`)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout == "peft":
        tensors, meta = to_peft_layout(parts, prefix)
    elif layout == "kohya":
        names = kohya_export_names(model, parts) if model is not None else None
        tensors, meta = to_kohya_layout(parts, names), kohya_header(parts)
    else:
        raise ValueError(f"layout must be peft or kohya; got {layout!r}")
    meta = {**{str(k): str(v) for k, v in (metadata or {}).items()}, **meta}
    save_file({k: v.detach().cpu() for k, v in tensors.items()}, str(path), metadata=meta)
    return path


def read_loras(module: torch.nn.Module, loras: list[tuple[str | Path, float]],
               merge: bool = True) -> list[dict[str, LoraPart]]:
    """Every file of ``[(file, scale), ...]`` read against ``module`` and, for a merge, every
    layer's fit checked: all that :func:`apply_loras` refuses, before the first weight changes.
    Only names and shapes are read, so a module on the meta device gets the same answer in the
    same words (:mod:`video.models.lora_fit` asks it before the model's weights load)."""
    for path, scale in loras:  # the CLI checked its --lora text; callers with numbers (ComfyUI) too
        if not math.isfinite(scale):
            raise LoraError(f"{path}: the LoRA scale must be a finite number, not {scale}")
    read = [read_lora(path, module) for path, _ in loras]
    if merge:
        for parts, (path, _) in zip(read, loras, strict=True):
            try:
                check_fits(module, parts)
            except LoraError as e:
                raise LoraError(f"{path}: {e}") from None
    return read


def apply_loras(module: torch.nn.Module, loras: list[tuple[str | Path, float]], merge: bool = True) -> torch.nn.Module:
    """Apply ``[(file, scale), ...]`` (either layout) to ``module`` in place: merged into the
    base weights (no cost per step; not undoable) or attached as unmerged peft adapters. Every
    file is read and checked first (:func:`read_loras`): an error leaves the model as it was."""
    for parts, (_, scale) in zip(read_loras(module, loras, merge), loras, strict=True):
        if merge:
            merge_lora(module, parts, scale)
        else:
            attach_lora(module, parts, scale)
    return module
