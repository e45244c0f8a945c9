"""What a stage's ``init_from`` names, resolved to the weights the next stage starts from and
said in one line: a run folder's ``final/`` export (refused when the run went on to a newer
checkpoint: which one to start from is the user's choice, not a silent pick of the old export),
else its latest checkpoint; a ``final/`` or ``final/model`` folder; a checkpoint folder (its EMA
weights when it has them, as ``final/`` holds them); a ``.safetensors`` file. A LoRA run's
folder, ``final/`` or checkpoint, or a file of LoRA adapters, is refused in one line naming its
base: it holds only adapters. A pickled file (a ``.pt``, or one named ``.safetensors``) is refused
in ``--model``'s words, never unpickled."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch


def _say(line: str) -> None:
    """Print ``line`` once: under torchrun only rank 0 talks (every rank builds the task)."""
    from video.training.buckets import _talks

    if _talks():
        print(line)


def _recorded_step(record: Path) -> int | None:
    """The ``step`` a ``trained.json`` (in ``final/``) records; None when there is none to read."""
    import json

    try:
        step = json.loads(record.read_text()).get("step")
    except (OSError, ValueError, AttributeError):
        return None
    return step if isinstance(step, int) else None


def _checkpoint_step(ck: Path) -> int | None:
    """The step of a ``checkpoints/step_NNNNNNN`` folder, read from its name (as ``latest_checkpoint`` orders them)."""
    try:
        return int(ck.name[5:])
    except ValueError:
        return None


def _newer_checkpoint(final: Path) -> tuple[Path, int] | None:
    """The latest checkpoint of the run ``final`` (a ``final/`` export) belongs to, with its
    step, when it is past the step the export holds: the run went on after exporting (a rerun
    with more steps, stopped before its end), so ``final/`` is out of date."""
    from video.training.resume import TRAINED
    from video.training.state import latest_checkpoint

    step = _recorded_step(final / TRAINED)
    ck = latest_checkpoint(final.parent)
    ck_step = None if ck is None else _checkpoint_step(ck)
    if step is None or ck_step is None or ck_step <= step:
        return None
    return ck, ck_step


def _export_note(final: Path) -> str:
    """`` (step N)`` of a ``final/`` export, and the newer checkpoint of its run if there is one."""
    from video.training.resume import TRAINED

    step = _recorded_step(final / TRAINED)
    newer = _newer_checkpoint(final)
    note = "" if newer is None else f"; its run went on to {newer[0]} (step {newer[1]})"
    return "" if step is None else f" (step {step}{note})"


def _refuse_stale(source: str, final: Path) -> None:
    """A run folder whose ``final/`` is older than its latest checkpoint: which one the next
    stage should start from is the user's choice, not a silent pick of the old export."""
    from video.training.resume import TRAINED
    from video.training.state import is_sharded_checkpoint

    newer = _newer_checkpoint(final)
    if newer is None:
        return
    ck, ck_step = newer
    take_ck = "" if is_sharded_checkpoint(ck) else f"init_from={ck} (step {ck_step}) or "
    raise ValueError(f"init_from={source!r}: its final/ export holds step {_recorded_step(final / TRAINED)}, but "
                     f"the run went on to a newer checkpoint, step {ck_step} ({ck}); finish that run (rerun its "
                     f"command) to export it, or choose one: {take_ck}init_from={final} (the older export)")


def _run_config(folder: Path) -> dict | None:
    """The config recorded beside weights: ``trained.json``'s (a ``final/`` export) or
    ``state.json``'s (a checkpoint); None when neither is there to read."""
    import json

    for name in ("trained.json", "state.json"):
        try:
            config = json.loads((folder / name).read_text()).get("config")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(config, dict):
            return config
    return None


def _header(path: Path) -> dict:
    """A safetensors file's header metadata ({} when it has none or cannot be read)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (OSError, SafetensorError):
        return {}


def _refuse_lora(source: str, folder: Path, holds: str, what: str = "a LoRA run", header: dict | None = None) -> None:
    """``init_from`` naming a LoRA run (its ``final/``, or a checkpoint of it): its weights are
    adapters only, which fit no model as a starting point (it read "Missing key(s)" after a line
    claiming the run had no export). One line naming the base it was trained on instead.
    ``header``: a LoRA file's own (:func:`_lora_file_header`), whose record of its base comes first."""
    config = _run_config(folder) or {}
    adapters = folder / "lora.safetensors"
    if header is None:
        if not adapters.is_file() and not (config.get("lora") or {}).get("enabled"):
            return
        header = _header(adapters) if adapters.is_file() else {}
    if "base_model" in header:  # the file's record (lora.run_metadata) of the base it was trained on
        config = {"model": header["base_model"], "init_from": header.get("init_from")}
    model = config.get("model")
    base = f"model={model or '...'}" + (f" init_from={config['init_from']}" if config.get("init_from") else "")
    raise ValueError(f"init_from={source} is {what} ({holds} holds only adapters): start from its base model "
                     f"({base}), or apply it with --lora at render time")


def _lora_file_header(path: Path) -> dict | None:
    """A ``.safetensors`` file's header metadata when the file holds LoRA adapters (the
    ``base_model`` an export records, or keys ``--lora`` reads as adapters: lora_A/lora_B,
    lora_down/lora_up...), else None: ``final/lora.safetensors``, its kohya copy or a LoRA run's
    checkpoint ``model.safetensors`` named as ``init_from`` went on to "Missing key(s)"."""
    from safetensors import SafetensorError, safe_open

    from video.models.lora_info import lora_layout

    try:
        with safe_open(str(path), framework="pt") as f:
            meta, keys = f.metadata() or {}, list(f.keys())
    except (OSError, SafetensorError):
        return None  # not read here: loading it says what is wrong with it
    return meta if "base_model" in meta or lora_layout(keys) is not None else None


# a runtime folder's weights (the ``model/`` of a ``final/`` export, a diffusers part): the trained
# model's own state dict, as ``final/trainable.safetensors`` holds it
RUNTIME_WEIGHTS = ("transformer/model.safetensors", "unet/diffusion_pytorch_model.safetensors",
                   "diffusion_pytorch_model.safetensors")


EMA_WEIGHTS = "ema.safetensors"  # in a checkpoint of a run with ema_decay > 0: the averaged trainable weights

_RESUMING = False  # set while a resume builds its task (:func:`resuming`)


@contextlib.contextmanager
def resuming() -> Iterator[None]:
    """While a run resumes from its own checkpoint: ``init_from`` is still read where it is the
    frozen base of a LoRA run, and a base run that went on past its ``final/`` since is not
    refused (:func:`_refuse_stale`): the adapters were trained on that ``final/``, which is what
    loads, and the refusal's ways out (another init_from) would change the base under them."""
    global _RESUMING
    before, _RESUMING = _RESUMING, True
    try:
        yield
    finally:
        _RESUMING = before


def _weight_files(src: Path) -> list[Path]:
    """The files :func:`load_source` reads from ``src`` (none for an SVD stage-1 export's
    ``unet_image/``, which the task loads as a diffusers part)."""
    if src.is_file():
        return [src]
    for first, *more in (("trainable.safetensors",), ("model.safetensors", EMA_WEIGHTS)):
        if (src / first).is_file():
            return [src / n for n in (first, *more) if (src / n).is_file()]
    return []


def _taken(source: str, src: Path, line: str) -> Path:
    """``src``, said in ``line`` once every file it gives reads as safetensors (first bytes and
    header: :func:`video.models.part_checks.file_problem`): a pickle named ``.safetensors`` was
    announced as taken, then "a .safetensors file is damaged or not safetensors (header too
    large)", naming neither the file nor a pickle. Nothing is unpickled."""
    from video.models.part_checks import file_problem

    for f in _weight_files(src):
        if (problem := file_problem(f)) is not None:
            why = str(problem).removeprefix(f"{f}: ")
            raise ValueError(f"init_from={source!r}: {'' if f == Path(source) else f'{f}: '}{why}")
    _say(line)
    return src


def init_source(source: str) -> Path | None:
    """What ``init_from`` names, resolved to what is loaded, announced in one line
    (``init_from: runs/x/final (step 200)``): a run folder's ``final/`` export (refused when
    the run has a newer checkpoint than the export: :func:`_refuse_stale`), else its latest
    checkpoint; a ``final/`` folder; a runtime folder (``final/model``: its weights file); a
    checkpoint folder (said to give its EMA weights when it has them: :func:`load_source`); a
    ``.safetensors`` file. A LoRA run is refused (:func:`_refuse_lora`), and so is a pickled file or
    a weights file that is not safetensors, naming it, before any line says it was taken
    (:func:`_taken`; never unpickled). None when ``init_from`` is empty."""
    from video.models.part_checks import pickle_refusal
    from video.training.resume import TRAINED
    from video.training.state import is_sharded_checkpoint, latest_checkpoint

    if not source:
        return None
    p = Path(source)
    final = p / "final"
    if (final / "lora.safetensors").is_file() and not (final / "trainable.safetensors").is_file():
        _refuse_lora(source, final, "final/lora.safetensors")
    if (p / "lora.safetensors").is_file() and not (p / "trainable.safetensors").is_file():  # its final/
        _refuse_lora(source, p, "lora.safetensors")
    if (final / "trainable.safetensors").is_file() or (final / "unet_image").is_dir():  # a run folder
        if not _RESUMING:
            _refuse_stale(source, final)
        return _taken(source, final, f"init_from: {final}{_export_note(final)}")
    if (p / "trainable.safetensors").is_file():  # a final/ export itself
        return _taken(source, p, f"init_from: {p}{_export_note(p)}")
    weights = next((p / w for w in RUNTIME_WEIGHTS if (p / w).is_file()), None)
    if weights is not None:  # final/model, or a copy of it
        note = _export_note(p.parent) if (p.parent / TRAINED).is_file() else ""
        return _taken(source, weights, f"init_from: {p}{note}")
    ck = p if (p / "model.safetensors").is_file() else latest_checkpoint(p)
    if ck is not None:
        _refuse_lora(source, ck, f"{ck.name}/{'shards' if is_sharded_checkpoint(ck) else 'model.safetensors'}",
                     "a LoRA run" if ck != p else "a LoRA run's checkpoint")
        if is_sharded_checkpoint(ck):
            raise FileNotFoundError(f"init_from={source!r}: {ck.name} is a sharded (FSDP) checkpoint; start the "
                                    "next stage from the run's final/ export, which every finished run writes")
        step = _checkpoint_step(ck)
        notes = [*([] if ck == p else ["the run's latest checkpoint, it has no final/ export"]),
                 *(["the EMA weights (ema.safetensors)"] if (ck / EMA_WEIGHTS).is_file() else [])]
        return _taken(source, ck, f"init_from: {ck}" + ("" if step is None else f" (step {step})")
                      + (": " + "; ".join(notes) if notes else ""))
    if p.is_file() and p.suffix == ".safetensors":
        header = _lora_file_header(p)
        if header is not None:  # its own record of its base, else its run's beside it (a checkpoint), names it
            _refuse_lora(source, p.parent, p.name, "a LoRA file", header=header)
        return _taken(source, p, f"init_from: {p}")
    if (pickled := pickle_refusal(p)) is not None:  # a .pt / .ckpt / .bin: "no .safetensors found" hid it
        raise ValueError(f"init_from={source!r}: {pickled.removeprefix(f'{p}: ')}")
    raise FileNotFoundError(f"init_from={source!r}: no final/ export, checkpoint, model folder or .safetensors "
                            "found; give the earlier stage's run folder")


def load_source(source: str, src: Path | None) -> dict[str, torch.Tensor] | None:
    """The weights in ``src`` (:func:`init_source`): the file, or a folder's weights file. A
    checkpoint of a run with an EMA gives its EMA weights over the raw ones (the EMA holds the
    trainable weights, the raw file every one), as that run's ``final/`` export does: a stage
    started from ``checkpoints/step_N`` began from the raw weights, from the run folder from the EMA."""
    from safetensors.torch import load_file

    if src is None:
        return None
    if src.is_file():
        return load_file(str(src))
    if (src / "trainable.safetensors").is_file():
        return load_file(str(src / "trainable.safetensors"))
    if (src / "model.safetensors").is_file():
        weights = load_file(str(src / "model.safetensors"))
        if (src / EMA_WEIGHTS).is_file():
            weights.update({k: v.to(weights[k].dtype) if k in weights else v
                            for k, v in load_file(str(src / EMA_WEIGHTS)).items()})
        return weights
    raise FileNotFoundError(f"init_from={source!r}: {src} holds no trainable.safetensors")
