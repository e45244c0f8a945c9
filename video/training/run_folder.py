"""Which ``out=`` folders ``video train`` may train in, and which ``final/`` it may replace.

A run writes ``config.yaml``, ``metrics.jsonl``, TensorBoard events, ``checkpoints/``,
``samples/`` and ``final/`` into its folder and replaces them on every rerun: trained in a
folder of the user's own it overwrote their ``config.yaml`` and deleted their ``final/``. So an
existing ``out`` must be new, empty, or a run folder (:func:`check_run_folder`), checked before
the run writes anything there. A run folder is told by what no other folder holds: its
``config.yaml`` is a whole dumped training config (every version wrote one first, before any
step; a run interrupted before its first step leaves only that), or its ``checkpoints/`` holds
a checkpoint (``state.json``). What a run killed before its config was whole leaves (its lock
file, the config's hidden temporary, unfinished ``checkpoints/.step_*.partial`` saves) counts as
empty.

``final/`` is replaced only if it holds nothing but what an export wrote there (``video.atomic``'s
marker). An export from before exports had a marker (it has none, or an old empty one) is
vouched for by its own files: the names an export writes, its ``model/`` or ``unet_image/``
taken whole (:func:`adopt_old_export`), so rerunning or resuming an older run still exports.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from video.atomic import MARKER, OS_CACHES, check_replaceable, write_marker, written_names
from video.training.resume import LOCK, TRAINED

# keys every version's config.yaml held (a dump of the whole TrainConfig): a handwritten config
# overriding a few keys, or another tool's config.yaml, lacks some
RUN_CONFIG_KEYS = frozenset({"task", "model", "init_from", "out", "steps", "batch_size", "seed", "data", "optim"})
# what a run that stopped before writing its config.yaml leaves: its lock, the config's temporary
_STARTED = re.compile(rf"{re.escape(LOCK)}|\.config\.[a-z0-9_]{{8}}\.partial\.yaml")
EXPORT_FILES = frozenset({TRAINED, "trainable.safetensors", "lora.safetensors", "lora_kohya.safetensors"})
EXPORT_FOLDERS = frozenset({"model", "unet_image"})  # a task's runtime folder in final/


class NotARunFolder(FileExistsError):
    """``out=`` names a file, or a folder that is not a run's (a FileExistsError: ``video train``
    says it in one line)."""


def check_out_path(run: Path) -> None:
    """Refuse an ``out`` that is a file or lies under one, before any folder is made for it
    (``mkdir`` said only ``[Errno 17] File exists``)."""
    for p in (run, *run.parents):
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                what = "a file" if p.is_file() else "not a folder"
                where = f"is {what}" if p == run else f"lies under {p}, which is {what}"
                raise NotARunFolder(f"out={run} {where}: give out= a new or empty folder for the run")
            return


def _is_run_config(path: Path) -> bool:
    """Whether ``path`` is a config.yaml a run wrote: a YAML mapping with every key of a dumped
    TrainConfig (:data:`RUN_CONFIG_KEYS`)."""
    import yaml

    try:
        if path.stat().st_size > 1 << 20:  # a run's is a few KB: not one to parse
            return False
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and RUN_CONFIG_KEYS <= set(data)


def is_run_folder(run: Path) -> bool:
    """Whether ``run`` holds a run: its ``config.yaml``, or a checkpoint (see the module docstring)."""
    from video.training.state import checkpoints

    return ((run / "config.yaml").is_file() and _is_run_config(run / "config.yaml")) or \
        any((c / "state.json").is_file() for c in checkpoints(run))


def _held(foreign: list[str]) -> str:
    more = len(foreign) - 1
    held = foreign[0] if not more else f"{foreign[0]} and {more} more {'entry' if more == 1 else 'entries'}"
    return f"{held}, which video train did not write; move {'it' if not more else 'them'} out"


def _left_by_a_start(run: Path, name: str) -> bool:
    """Whether entry ``name`` of a folder that is not a run's is what a run killed before its
    config was whole leaves (or a file browser's cache): its lock, the config's temporary, a
    ``checkpoints/`` holding nothing but unfinished ``.step_*.partial`` saves (removed at the start)."""
    if _STARTED.fullmatch(name) or name in OS_CACHES:
        return True
    folder = run / name
    return name == "checkpoints" and folder.is_dir() and not folder.is_symlink() and \
        all(n.startswith(".step_") and n.endswith(".partial") for n in os.listdir(folder))


def check_run_folder(run: Path) -> None:
    """Refuse (one line naming the first foreign entry) an existing ``out`` that is neither empty
    nor a run folder, or whose ``final/`` holds what no export wrote; a run folder's other
    entries (a note beside the run) are the user's and stay untouched. Call it before the run
    writes there (under the run's lock: a concurrent run is reported busy instead)."""
    check_out_path(run)
    if not run.is_dir():
        return
    if is_run_folder(run):
        check_final(run / "final")
        return
    foreign = [n + ("/" if (run / n).is_dir() else "") for n in sorted(os.listdir(run))
               if not _left_by_a_start(run, n)]
    if foreign:
        raise NotARunFolder(f"refusing to train in {run}: it is not a run folder (no run's config.yaml or "
                            f"checkpoints/) and holds {_held(foreign)}, or choose another out=")


def _old_export_names(final: Path) -> tuple[list[str], list[str]]:
    """(names of ``final/`` an export wrote, the others) for an export without a listing marker:
    an export's files, and its runtime folder taken whole, only beside one of its files."""
    entries = sorted(n for n in os.listdir(final) if n != MARKER and n not in OS_CACHES)
    exported = any(n in EXPORT_FILES and (final / n).is_file() for n in entries)
    ours, foreign = [], []
    for n in entries:
        folder = (final / n).is_dir() and not (final / n).is_symlink()
        if exported and ((n in EXPORT_FILES and (final / n).is_file()) or (n in EXPORT_FOLDERS and folder)):
            ours.append(n)
        else:
            foreign.append(n + "/" if folder else n)
    return ours, foreign


def check_final(final: Path) -> None:
    """Refuse (one line) a ``final/`` that the export may not replace: a file, or a folder holding
    what no export wrote (the marker's rule; for an older export, :func:`_old_export_names`)."""
    if not final.is_dir() or final.is_symlink() or written_names(final) is not None:
        check_replaceable(final, "ours")
        return
    foreign = _old_export_names(final)[1]
    if foreign:
        raise NotARunFolder(f"refusing to replace {final} with this run's export: it holds {_held(foreign)}, "
                            "or remove the folder")


def adopt_old_export(final: Path) -> None:
    """Give an older export's ``final/`` (no marker listing names) the marker an export writes
    now, listing what :func:`_old_export_names` vouches for (anything else stays unlisted, so
    ``atomic_folder(final, replace="ours")`` refuses it, naming it): that then replaces the old
    export as it replaces a new one, and the new ``final/`` has a marker of its own."""
    if not final.is_dir() or final.is_symlink() or written_names(final) is not None:
        return
    ours = _old_export_names(final)[0]
    if ours:  # nothing an export wrote: nothing to vouch for (atomic_folder names what is there)
        write_marker(final, ours)
