"""A models folder: weights found by name, in our folder and in other UIs' folders.

Layout (ComfyUI's names, so a ComfyUI ``models/`` folder works as is)::

    models/checkpoints/        full models: SVD single files, diffusers and our T2V folders
    models/diffusion_models/   transformers / UNets alone (alias ``unet/``)
    models/vae/  loras/  embeddings/  controlnet/  upscale_models/  clip_vision/
    models/text_encoders/      (alias ``clip/``)

The folder is ``models_dir``, else ``$VIDEO_MODELS``, else ``./models`` (``~`` expanded).
Weights already on disk elsewhere are searched in place through ComfyUI's
``extra_model_paths.yaml`` (read from the models folder, its parent, or given explicitly;
:mod:`video.models.extra_paths` reads it).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from video.models.extra_paths import (  # A1111_LAYOUT, NOT_MODEL_KEYS: importable here as before
    A1111_LAYOUT,  # noqa: F401
    EXTRA_PATHS_FILE,
    NOT_MODEL_KEYS,  # noqa: F401
    read_extra_paths,
)
from video.runtime.errors import CheckpointError

KINDS = ("checkpoints", "diffusion_models", "vae", "loras", "embeddings", "controlnet", "upscale_models",
         "clip_vision", "text_encoders")
ALIASES = {"unet": "diffusion_models", "clip": "text_encoders"}  # ComfyUI's legacy names (folder_paths.map_legacy)
# Listed and matched in any case (K.SAFETENSORS). ``.pkl`` as ComfyUI lists it: a pickle, so never loaded
# (video.models.sniff.PICKLE_SUFFIXES), only named; ComfyUI's ``.pt2`` (torch.export) holds no state dict.
WEIGHT_SUFFIXES = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".pkl", ".bin", ".param", ".gguf", ".onnx")
# A folder holding one of these is a model (diffusers, ours), listed whole and not walked into.
MODEL_FOLDER_MARKERS = ("model_index.json", "video_pipeline.yaml", "config.json")
ENV_VAR = "VIDEO_MODELS"


class NameNotFound(CheckpointError):
    """No model of that name (rather than several): a caller may say more about a value that was
    meant as a path."""


class AmbiguousName(CheckpointError):
    """Several models answer to the name equally well: the user must pick one, so a caller must
    not take it for a miss and look elsewhere (another kind, a built-in model)."""


def canonical_kind(kind: str) -> str:
    return ALIASES.get(kind, kind)


def default_models_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or "models")


def absolute(path: str | Path) -> Path:
    """``path`` with ``~`` expanded (the shell leaves ``--models-dir=~/x`` and YAML values alone)
    and made absolute, so that its ``parent`` is a real folder: ``Path(".").parent`` is ``.``
    itself, which lost the extra_model_paths.yaml beside ``--models-dir .``."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


@dataclass(frozen=True)
class Entry:
    """One model on disk: ``name`` is its path under ``root`` (posix), what ``resolve`` matches."""

    name: str
    path: Path
    kind: str
    root: Path


class ModelsFolder:
    """Search paths per kind: the models folder's subfolders, then the extra paths."""

    def __init__(self, models_dir: str | Path | None = None, extra_paths: list[str | Path] | None = None,
                 extra_configs: list[str | Path] = (), skip_unreadable: bool = False):
        """``extra_paths``: the extra_model_paths.yaml files to read instead of the default one;
        ``extra_configs``: more of them read after it (ComfyUI's ``--extra-model-paths-config``).
        A YAML file that does not read raises :class:`CheckpointError`; with ``skip_unreadable``
        it is left out instead and its one-line error kept in :attr:`unreadable` (the ComfyUI
        nodes: a broken file must not take the loader node, or the models folder, away)."""
        self.root = absolute(models_dir if models_dir is not None else default_models_dir())
        self.from_env = models_dir is None and bool(os.environ.get(ENV_VAR))  # named so where it is wrong
        if extra_paths is None:  # ComfyUI keeps the YAML beside models/; ours may sit inside
            extra_paths = [p / EXTRA_PATHS_FILE for p in (self.root, self.root.parent)
                           if (p / EXTRA_PATHS_FILE).is_file()]
        self.extra_yaml = [absolute(p) for p in [*extra_paths, *extra_configs]]
        self.unreadable: list[str] = []
        self._extra: list[tuple[str, Path, bool]] = []
        for y in self.extra_yaml:
            try:
                self._extra += read_extra_paths(y)
            except CheckpointError as e:
                if not skip_unreadable:
                    raise
                self.unreadable.append(str(e))

    def search_paths(self, kind: str) -> list[Path]:
        """ComfyUI's order, in which the first copy of a name wins: the models folder, then the
        extra paths in file order, except that each ``is_default`` path is put in front as it is
        read (``folder_paths.add_model_folder_path``), so the last one read comes first."""
        kind = canonical_kind(kind)
        own = [self.root / kind] + [self.root / a for a, k in ALIASES.items() if k == kind]
        first = [p for k, p, d in self._extra if k == kind and d][::-1]
        rest = [p for k, p, d in self._extra if k == kind and not d]
        seen, out = set(), []
        for p in first + own + rest:
            if p not in seen:
                seen.add(p)
                out.append(p)
        return out

    def kinds(self) -> list[str]:
        return list(KINDS) + sorted({k for k, _, _ in self._extra} - set(KINDS))

    def entries(self, kind: str) -> list[Entry]:
        """Every model under the kind's search paths (walked recursively; an ncnn ``.bin``
        beside its ``.param`` belongs to that entry), each name once: a folder searched twice
        (two extra_model_paths.yaml entries, a linked-in folder) lists its files once, while a
        link beside its target is a second name, listed as ComfyUI lists it (:func:`_unique`)."""
        return _unique(self._all_entries(kind))

    def _all_entries(self, kind: str) -> list[Entry]:
        """Every name under the kind's search paths, in search order: a file and a link to it
        (``svd_xt -> svd_xt_1_1``) are two names, both of which must resolve."""
        return [Entry(p.relative_to(root).as_posix(), p, canonical_kind(kind), root)
                for root in self.search_paths(kind) if root.is_dir() for p in _walk(root)]

    def listing(self, kind: str) -> list[tuple[str, Entry]]:
        """:meth:`entries` with the name that loads each: its name under its search folder, or
        its full path where an earlier folder (ComfyUI's order) has a model of that name, so a
        list (``video models``, a node's drop-down) shows every model once, no two rows alike,
        and picking a row loads that model."""
        every = self._all_entries(kind)
        first: dict[str, Path] = {}
        for e in every:
            first.setdefault(e.name, _place(e.path))
        return [(e.name if first[e.name] == _place(e.path) else str(e.path), e) for e in _unique(every)]

    def resolve(self, name: str | Path, kind: str) -> Path:
        """The file or folder ``name`` (with or without its extension, or a path under a
        search folder) of ``kind``; an existing path is returned as is."""
        return self.find(name, (kind,))

    def find(self, name: str | Path, kinds: tuple[str, ...], warn: bool = True, top_level: bool = False) -> Path:
        """``name`` looked up in every one of ``kinds`` at once (:meth:`lookup`); an existing
        path is returned as is. A name that more than one search folder holds is the first
        folder's, as in ComfyUI, with a warning naming the copies not used (``warn``)."""
        if Path(name).exists():
            return Path(name)
        entry, others = self.lookup(name, kinds, top_level)
        if others and warn:
            unused = ", ".join(str(e.path) for e in others)
            warnings.warn(f"{name!r} is in {len(others) + 1} folders: using {entry.path} (the first in "
                          f"ComfyUI's search order), not {unused}", stacklevel=2)
        return entry.path

    def lookup(self, name: str | Path, kinds: tuple[str, ...], top_level: bool = False) -> tuple[Entry, list[Entry]]:
        """The model ``name`` means among ``kinds`` (``--model``: checkpoints and
        diffusion_models together, so that a name in both is ambiguous rather than the first
        kind winning silently), and the copies of the same name in later search folders that
        it shadows. Within a kind names match in levels, the first level with a match deciding:
        the name under a search folder (``backup/svd.safetensors``), the same without its
        extension, the file name alone, the file name without its extension; so ``svd`` is the
        top-level ``svd.safetensors`` even when ``backup/svd.safetensors`` exists. Several
        models at that level, or in two kinds: :class:`AmbiguousName`, with names that pick
        each one. None: :class:`NameNotFound`, with what each searched folder holds and the
        close names. ``top_level``: only the models directly in a search folder answer (a
        built-in name such as ``svd_xt``: the user's ``svd_xt.safetensors``, not any
        ``wan/svd_xt/`` deep in the tree)."""
        name = str(name).replace(os.sep, "/").strip("/")
        listed = {k: self._all_entries(k) for k in kinds}
        top = {k: [e for e in v if "/" not in e.name] for k, v in listed.items()} if top_level else listed
        groups = _match(name, top) or _match_under_kind(name, top)
        if len(groups) == 1:
            entry, *others = next(iter(groups.values()))
            return entry, others
        if groups:
            raise _ambiguous(name, kinds, [g[0] for g in groups.values()], listed)
        raise NameNotFound(self._not_found(name, kinds, listed))

    def _not_found(self, name: str, kinds: tuple[str, ...], listed: dict[str, list[Entry]]) -> str:
        """Where ``name`` was looked for and what is there; a models folder that does not exist
        is said so (a mistyped ``--models-dir`` otherwise read as an empty folder)."""
        what = " or ".join(kinds)
        entries = [e for k in kinds for e in listed[k]]
        shown = {k: _unique(v) for k, v in listed.items()}
        env = f" (${ENV_VAR})" if self.from_env else ""
        gone = "" if self.root.is_dir() else (f"the models folder {self.root}{env} "
                                              + ("is a file, not a folder" if self.root.exists() else "does not exist"))
        if gone and not entries:
            return f"no {what} named {name!r}: {gone}"
        where = ", ".join(str(p) for k in kinds for p in self.search_paths(k))
        close = _run_exports_hint(name, [p for k in kinds for p in self.search_paths(k)]) or _close(name, entries)
        return f"no {what} named {name!r} in {where}; found: {_found(shown)}{close}" + (f" ({gone})" if gone else "")


def _levels(e: Entry) -> tuple[str, str, str, str]:
    """The names ``e`` answers to, most precise first (see :meth:`ModelsFolder.lookup`)."""
    return e.name, _strip(e.name), e.path.name, _strip(e.path.name)


def _match(name: str, listed: dict[str, list[Entry]]) -> dict[tuple[str, str], list[Entry]]:
    """Each kind's hits at its first level that has any, grouped by (kind, name under its
    search folder), each group in search order (its first is the one used); one file reached
    twice (a link, a folder searched under two spellings) is one hit."""
    hits = []
    for entries in listed.values():
        for level in range(4):
            found = [e for e in entries if _levels(e)[level] == name]
            if found:
                hits += found
                break
    groups: dict[tuple[str, str], list[Entry]] = {}
    seen = set()
    for e in hits:
        key = _real(e.path)
        if key not in seen:
            seen.add(key)
            groups.setdefault((e.kind, e.name), []).append(e)
    return groups


def _match_under_kind(name: str, listed: dict[str, list[Entry]]) -> dict[tuple[str, str], list[Entry]]:
    """:func:`_match` of ``KIND/NAME`` as ``NAME`` in that kind alone (``checkpoints/svd.safetensors``,
    ``unet/x``: an alias too), the way ``video models`` prints a name: pasted into ``--model`` it
    was "not found". Only where the name as a whole matched nothing (a real ``checkpoints/``
    subfolder comes first)."""
    head, sep, rest = name.partition("/")
    if not sep or not rest:
        return {}
    return _match(rest, {k: v for k, v in listed.items() if canonical_kind(k) == canonical_kind(head)})


# What a name found in another kind folder is, for "not found" in the kind asked for (:func:`other_kind_hint`).
OTHER_KIND_HINTS = {"loras": "a LoRA in loras/: give it with --lora",
                    "embeddings": "a textual-inversion embedding in embeddings/: name it in a prompt",
                    "vae": "a VAE in vae/: one part of a model, not a whole one",
                    "text_encoders": "a text encoder in text_encoders/: one part of a model, not a whole one",
                    "clip_vision": "an image encoder in clip_vision/: one part of a model, not a whole one",
                    "upscale_models": "an upscaler in upscale_models/: give it to `video upscale`",
                    "controlnet": "a ControlNet in controlnet/, which nothing here runs"}


def find_in_other_kinds(folder: ModelsFolder, name: str, kinds: tuple[str, ...]) -> Entry | None:
    """The model ``name`` in a kind folder other than ``kinds`` (:data:`OTHER_KIND_HINTS`), when
    exactly one answers to it; None otherwise. A name that is not found where it was looked for
    is often a LoRA or a VAE given to the wrong flag."""
    asked = {canonical_kind(k) for k in kinds}
    found = []
    for kind in OTHER_KIND_HINTS:
        if kind in asked:
            continue
        try:
            found.append(folder.lookup(name, (kind,))[0])
        except CheckpointError:
            continue
    return found[0] if len(found) == 1 else None


def other_kind_hint(folder: ModelsFolder, name: str, kinds: tuple[str, ...]) -> str:
    """"NAME is PATH, a LoRA in loras/: give it with --lora" (:func:`find_in_other_kinds`), or ""."""
    entry = find_in_other_kinds(folder, name, kinds)
    return f"{name} is {entry.path}, {OTHER_KIND_HINTS[entry.kind]}" if entry is not None else ""


def _ambiguous(name: str, kinds: tuple[str, ...], hits: list[Entry],
               listed: dict[str, list[Entry]]) -> AmbiguousName:
    """The error for ``name`` matching each of ``hits``, with a name that picks each: its name
    under its search folder where that finds it alone, else its full path."""
    shown, named = [], False
    for e in hits:
        groups = _match(e.name, listed)
        if len(groups) == 1 and next(iter(groups.values()))[0].path == e.path:
            shown.append(f"{e.name} ({e.path})")
            named = True
        else:
            shown.append(str(e.path))
    hint = "give the path" + (", or the name shown before it" if named else "")
    return AmbiguousName(f"{name!r} is ambiguous among the {' and '.join(kinds)}: {', '.join(shown)}; {hint}")


def _unique(entries: list[Entry]) -> list[Entry]:
    """``entries`` with each name once (:func:`_place`). A link beside its target stays: keeping
    the first of the names a file had hid the real file behind ``link_svd.safetensors`` from
    ``video models``, its "found:" list and the drop-downs."""
    out, seen = [], set()
    for e in entries:
        key = _place(e.path)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _found(listed: dict[str, list[Entry]], most: int = 30) -> str:
    """What each searched kind holds, at most ``most`` names per kind; one kind: the names alone."""
    parts = []
    for kind, entries in listed.items():
        have = ", ".join(e.name for e in entries[:most]) or "none"
        more = f" (and {len(entries) - most} more)" if len(entries) > most else ""
        parts.append(have + more if len(listed) == 1 else f"{kind}: {have}{more}")
    return "; ".join(parts)


def _run_exports_hint(name: str, roots: list[Path]) -> str:
    """"; NAME is a training run (PATH), not a model: its export is NAME/final/model" where
    ``name`` is a ``video train`` run folder under one of ``roots`` (:func:`video.models.detect.run_exports`,
    as ``--model RUN`` is answered), else "". Its close names were its checkpoints' optimizer
    and RNG files, alphabetically before ``final/model``."""
    from video.models.detect import run_exports

    for root in roots:
        run = root / name
        exports = run_exports(run) if run.is_dir() else []
        if exports:
            names = " and ".join(f"{name}/{q.relative_to(run).as_posix()}" for q in exports)
            return f"; {name} is a training run ({run}), not a model: its export is {names}"
    return ""


def _close(name: str, entries: list[Entry]) -> str:
    """"; did you mean ..." with up to 3 names that contain ``name`` or are spelled close to it
    (difflib), or nothing."""
    import difflib

    names = list(dict.fromkeys(_strip(e.name) for e in entries))
    low = name.lower()
    near = [n for n in names if low and low in n.lower()]
    near += difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    near = list(dict.fromkeys(near))[:3]
    return f"; did you mean {' or '.join(near)}?" if near else ""


def _strip(name: str) -> str:
    """``name`` without its weights suffix, in any case (``K.SAFETENSORS``: ``K``)."""
    for s in WEIGHT_SUFFIXES:
        if name.lower().endswith(s):
            return name[: -len(s)]
    return name


def _is_model_folder(p: Path) -> bool:
    """A folder listed whole: a model folder (:data:`MODEL_FOLDER_MARKERS`) or a ``video train``
    checkpoint (``checkpoints/step_N/``: one ``training_checkpoint``, not its model, optimizer
    and RNG files listed as three models)."""
    from video.models.detect import is_training_checkpoint

    return any((p / m).is_file() for m in MODEL_FOLDER_MARKERS) or is_training_checkpoint(p)


def _real(p: Path) -> Path:
    """``p`` resolved (a file reached through two links is one model), or ``p`` made absolute
    where it does not resolve: Python 3.11 raises RuntimeError on a symlink loop."""
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return absolute(p)


def _place(p: Path) -> Path:
    """Where the name ``p`` is: its folder resolved, its own name kept, so that the same folder
    reached twice (listed twice in extra_model_paths.yaml, or through a folder link) gives the
    same place, and a file link beside its target another."""
    return _real(p.parent) / p.name


def link_target(p: Path) -> str | None:
    """What the link ``p`` points to, as written in it (``ls -l``'s ``-> target``); None for a
    file or folder that is not a link."""
    try:
        return os.readlink(p) if p.is_symlink() else None
    except OSError:
        return None


def _walk(root: Path, seen: set[Path] | None = None):
    """Model files and model folders under ``root``. Directory symlinks are followed (models
    are often linked in from elsewhere), each real folder once: ``seen`` holds the resolved
    folders already walked, so a link to a parent (``loop -> ..``) ends instead of nesting
    ``loop/loop/...`` until the path is too long. Only regular files are models: a symlink loop
    named ``*.safetensors`` (its ``resolve()`` raised, taking ``video models`` and every lookup
    that missed with it) or a dangling link is left out, and so is a FIFO, never opened
    (reading one waits for a writer forever)."""
    seen = set() if seen is None else seen
    real = _real(root)
    if real in seen:
        return
    seen.add(real)
    for p in sorted(root.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir():
            if _is_model_folder(p):
                yield p
            else:
                yield from _walk(p, seen)
        elif p.suffix.lower() in WEIGHT_SUFFIXES and p.is_file():  # follows links; False for a loop, FIFO
            if p.suffix.lower() == ".bin" and p.with_suffix(".param").is_file():
                continue
            yield p


def resolve(name: str | Path, kind: str, models_dir: str | Path | None = None,
            extra_paths: list[str | Path] | None = None) -> Path:
    """:meth:`ModelsFolder.resolve` on the default (or given) models folder."""
    return ModelsFolder(models_dir, extra_paths).resolve(name, kind)


def resolve_model_arg(value: str, kind: str = "checkpoints", models_dir: str | Path | None = None,
                      keep: tuple[str, ...] = (), extra_configs: list[str | Path] = ()) -> str:
    """A ``--model`` value: an existing path or one of ``keep`` (random-weight names such as
    ``tiny``) as given; otherwise a name in the models folder (``kind``, and with
    ``checkpoints`` also ``diffusion_models``, searched together: :meth:`ModelsFolder.find`;
    ``extra_configs``: ``--extra-model-paths-config`` files), returned as a path. The one lookup
    of every command that takes a model (img2vid, txt2vid, edit, upscale --refine, animate).
    A leading ``~`` is expanded: the shell does not expand it in ``--model=~/x`` or in a YAML
    config. A value written as a path (``/``, ``./``, ``../``, ``~``) that is not there is
    "not found" as a path, not looked up as a name with its leading ``/`` dropped."""
    if value in keep:
        return value
    if Path(value).expanduser().exists():
        return holds_weights(os.path.expanduser(value))
    _refuse_broken_link(value)
    if is_explicit_path(value):
        raise CheckpointError(f"{value} not found: no such file or folder (a name in the models folder has no "
                              f"leading /, ./, ../ or ~)")
    folder = ModelsFolder(models_dir, extra_configs=extra_configs)
    kinds = (kind, "diffusion_models") if canonical_kind(kind) == "checkpoints" else (kind,)
    try:
        return holds_weights(str(folder.find(value, kinds)))
    except NameNotFound as e:
        hint = other_kind_hint(folder, value, kinds)
        if hint:
            raise NameNotFound(f"model {value!r} not found among the {' and '.join(kinds)}: {hint}") from None
        builtin = f", a built-in name ({', '.join(keep)})" if keep else ""
        raise NameNotFound(f"model {value!r} not found: not a path{builtin}, nor a name in the models folder "
                           f"({e})") from None


def holds_weights(path: str) -> str:
    """``path``, unless it is a file with no weights in it whatever its name
    (:func:`video.models.sniff.not_weights`: empty, a Git LFS pointer): then one line saying so,
    the same for every command (the loaders said "pickled" or "damaged safetensors file")."""
    from video.models.sniff import not_weights

    why = not_weights(path)
    if why is not None:
        raise CheckpointError(f"{path}: {why}")
    return path


def _refuse_broken_link(value: str) -> None:
    """A one-line error for a path that is a link to nothing, which read as "not found"."""
    p = Path(value).expanduser()
    if p.is_symlink() and not p.exists():
        raise CheckpointError(f"{value}: a broken link (-> {link_target(p)})")


def is_explicit_path(value: str) -> bool:
    """Whether ``value`` can only mean a path: absolute, or starting with ``./``, ``../`` or
    ``~`` (a name under a models folder is relative and may have folders, ``wan/t2v``)."""
    v = str(value)
    return (os.path.isabs(v) or v.startswith(("~", "./", "../", "." + os.sep, ".." + os.sep))
            or v in (".", ".."))


def resolve_lora_arg(value: str, models_dir: str | Path | None = None, extra_configs: list[str | Path] = ()) -> str:
    """A ``--lora`` value ``FILE`` or ``FILE:SCALE`` with FILE a path or a name under ``loras/``;
    returned as ``PATH[:SCALE]`` for :func:`video.models.lora.parse_lora_arg`. The scale is
    checked here, before any model weights load: NaN and infinities are refused, and so is a
    scale that is not a number after an existing file or LoRA name. The file itself is read
    only as far as :func:`holds_weights` (:func:`video.models.lora.check_lora_file` reads it)."""
    from video.models.lora import lora_scale

    name, sep, scale = value.rpartition(":")
    if not sep or lora_scale(value, scale) is None:
        name, sep, scale = value, "", ""
    if not name:
        return value
    if Path(value).expanduser().is_file():
        return holds_weights(os.path.expanduser(value))
    if Path(name).expanduser().is_file():  # ~ expanded, as for --model
        return holds_weights(os.path.expanduser(name)) + sep + scale
    _refuse_broken_link(name)
    folder = ModelsFolder(models_dir, extra_configs=extra_configs)
    try:
        return holds_weights(str(folder.resolve(name, "loras"))) + sep + scale
    except NameNotFound:
        _check_scale_is_a_number(value, folder)
        if not looks_like_path(name):
            raise
        where = ", ".join(str(p) for p in folder.search_paths("loras"))
        raise CheckpointError(f"LoRA file {name!r} not found (nor a name under {where})") from None


def _check_scale_is_a_number(value: str, folder: ModelsFolder) -> None:
    """``--lora FILE:abc`` where FILE is a file or a LoRA's name: the scale is what is wrong (the
    whole value was looked up as a name, and "no loras named 'FILE:abc'" misled)."""
    from video.models.lora import LoraError

    head, sep, tail = value.rpartition(":")
    if not sep or not head:
        return
    known = Path(head).expanduser().is_file()
    if not known:
        try:
            folder.find(head, ("loras",), warn=False)
            known = True
        except NameNotFound:
            pass
        except AmbiguousName:
            known = True
    if known:
        raise LoraError(f"--lora {value}: the scale {tail!r} is not a number (FILE:SCALE, e.g. {head}:0.8)")


def looks_like_path(value: str) -> bool:
    """Whether a ``--lora`` value was meant as a file path rather than a name under ``loras/``:
    it has a folder separator, a leading ``~`` or a weights suffix. Its error then says the
    file is not found, not only that no LoRA has that name."""
    return ("/" in value or os.sep in value or value.startswith("~")
            or any(value.lower().endswith(s) for s in WEIGHT_SUFFIXES))
