"""A models folder: weights found by name, in our folder and in other UIs' folders.

Layout (ComfyUI's names, so a ComfyUI ``models/`` folder works as is)::

    models/checkpoints/        full models: SVD single files, diffusers and our T2V folders
    models/diffusion_models/   transformers / UNets alone (alias ``unet/``)
    models/vae/  loras/  embeddings/  controlnet/  upscale_models/  clip_vision/
    models/text_encoders/      (alias ``clip/``)

The folder is ``models_dir``, else ``$VIDEO_MODELS``, else ``./models`` (``~`` expanded).
Weights already on disk elsewhere are searched in place through ComfyUI's
``extra_model_paths.yaml`` (read from the models folder, its parent, or given explicitly), with
ComfyUI's semantics (``utils/extra_config.py``): each top-level section has an optional ``base_path`` (``~`` and
``$VARS`` expanded; relative to the YAML file) and per-kind paths, one per line of a
multi-line string, relative to ``base_path`` (or to the YAML file without one); ``is_default:
true`` puts the section's paths ahead of the others. An ``a111``/``a1111`` section with a
``base_path`` and no kinds gets AUTOMATIC1111's standard layout (:data:`A1111_LAYOUT`). Keys
that name no model folder (:data:`NOT_MODEL_KEYS`: ``custom_nodes``, ``download_model_base``,
``configs``) are skipped.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from video.config import NotUTF8, read_utf8
from video.runtime.errors import CheckpointError

KINDS = ("checkpoints", "diffusion_models", "vae", "loras", "embeddings", "controlnet", "upscale_models",
         "clip_vision", "text_encoders")
ALIASES = {"unet": "diffusion_models", "clip": "text_encoders"}  # ComfyUI's legacy names (folder_paths.map_legacy)
# AUTOMATIC1111's stable-diffusion-webui tree, as in ComfyUI's extra_model_paths.yaml.example.
A1111_LAYOUT = {
    "checkpoints": ["models/Stable-diffusion"],
    "vae": ["models/VAE"],
    "loras": ["models/Lora", "models/LyCORIS"],
    "upscale_models": ["models/ESRGAN", "models/RealESRGAN", "models/SwinIR"],
    "embeddings": ["embeddings"],
    "controlnet": ["models/ControlNet"],
}
WEIGHT_SUFFIXES = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin", ".param", ".gguf", ".onnx")
# A folder holding one of these is a model (diffusers, ours), listed whole and not walked into.
MODEL_FOLDER_MARKERS = ("model_index.json", "video_pipeline.yaml", "config.json")
EXTRA_PATHS_FILE = "extra_model_paths.yaml"
# Keys of an extra_model_paths.yaml section that are not model folders. ComfyUI files each key as
# a folder kind (utils/extra_config.py), but lists no weights under these: ``custom_nodes`` is where
# it loads node packs from (ComfyUI Desktop writes it), ``download_model_base`` the folder
# ComfyUI-Manager downloads into (a models root, not a kind), ``configs`` holds SD's .yaml configs
# (folder_paths lists only .yaml there; A1111's layout points it at the checkpoints folder).
# Read as kinds, `video models` listed node packs' files and every checkpoint a second time.
NOT_MODEL_KEYS = ("custom_nodes", "download_model_base", "configs")
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


def _lines(value) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split("\n")
    return [str(s).strip() for s in items if str(s).strip()]


def read_extra_paths(yaml_path: str | Path) -> list[tuple[str, Path, bool]]:
    """``[(kind, folder, is_default), ...]`` from a ComfyUI ``extra_model_paths.yaml``, in file order."""
    import yaml

    yaml_path = Path(yaml_path)
    try:
        config = yaml.safe_load(read_utf8(yaml_path)) or {}
    except (OSError, yaml.YAMLError) as e:
        raise CheckpointError(f"{yaml_path}: cannot read it as ComfyUI's extra_model_paths.yaml "
                              f"({_one_line(e)})") from None
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
        beside its ``.param`` belongs to that entry), the same file found twice listed once.
        For listing only: a lookup sees every name (:meth:`_all_entries`), a link's too."""
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
            first.setdefault(e.name, _real(e.path))
        return [(e.name if first[e.name] == _real(e.path) else str(e.path), e) for e in _unique(every)]

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
        groups = _match(name, top)
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
        gone = "" if self.root.is_dir() else f"the models folder {self.root} does not exist"
        if gone and not entries:
            return f"no {what} named {name!r}: {gone}"
        where = ", ".join(str(p) for k in kinds for p in self.search_paths(k))
        return (f"no {what} named {name!r} in {where}; found: {_found(shown)}{_close(name, entries)}"
                + (f" ({gone})" if gone else ""))


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
    """``entries`` with each file once (a link beside its target: the first name)."""
    out, seen = [], set()
    for e in entries:
        key = _real(e.path)
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
    for s in WEIGHT_SUFFIXES:
        if name.endswith(s):
            return name[: -len(s)]
    return name


def _is_model_folder(p: Path) -> bool:
    return any((p / m).is_file() for m in MODEL_FOLDER_MARKERS)


def _real(p: Path) -> Path:
    """``p`` resolved (a file reached through two links is one model), or ``p`` made absolute
    where it does not resolve: Python 3.11 raises RuntimeError on a symlink loop."""
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return absolute(p)


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
        elif p.suffix in WEIGHT_SUFFIXES and p.is_file():  # follows links; False for a loop, FIFO
            if p.suffix == ".bin" and p.with_suffix(".param").is_file():
                continue
            yield p


def resolve(name: str | Path, kind: str, models_dir: str | Path | None = None,
            extra_paths: list[str | Path] | None = None) -> Path:
    """:meth:`ModelsFolder.resolve` on the default (or given) models folder."""
    return ModelsFolder(models_dir, extra_paths).resolve(name, kind)


BUILTIN_PREFIX = "builtin:"  # --model builtin:svd_xt: the built-in, whatever the models folder holds
# Built-in random-weight names that are also published file names (Stability's svd.safetensors and
# svd_xt.safetensors): a model of the user's of exactly that name is what they mean. The others
# (tiny, tiny-svd, t2v_tiny, the configs' names) are smoke-test names that nobody publishes: they
# are always the built-in and never looked up, so the default ``--model tiny`` reads no models
# folder (a broken ./extra_model_paths.yaml, two tiny.safetensors or a wan/tiny/ folder failed it).
PUBLISHED_BUILTINS = ("svd", "svd_xt")


def resolve_model_name_or_builtin(value: str, builtins: tuple[str, ...], kind: str = "checkpoints",
                                  models_dir: str | Path | None = None, extra_configs: list[str | Path] = (),
                                  offered: tuple[str, ...] | None = None, use: str = "--model",
                                  tiny_is_t2v: bool = False) -> str:
    """A model argument of any command (img2vid, txt2vid, info, edit, upscale --refine, animate),
    read one way: ``builtin:NAME`` is the built-in ``NAME`` (one of ``builtins``), whatever
    the models folder holds; a name of :data:`PUBLISHED_BUILTINS` is the user's model of
    exactly that name at the top of a search folder (``svd_xt.safetensors``: building the
    random 2.25B network instead took minutes and 9 GB), with a note on stderr, else the
    built-in; any other built-in name is the built-in, never looked up; anything else is
    :func:`resolve_model_arg` (``offered``: the built-in names its not-found error lists,
    default ``builtins``). A built-in name whose lookup fails other than "not found" (two
    such models, an unreadable extra_model_paths.yaml) is the built-in, with a warning that
    says why: it was the built-in before the lookup existed. ``tiny_is_t2v``: the caller's
    ``tiny`` is txt2vid's (txt2vid, edit, upscale --refine), so ``t2v_tiny`` is it too
    (:func:`_t2v_tiny`). ``use`` spells the
    ``builtin:`` hint (``--model``, ``--refine``, ``video info``). The loaders read a
    built-in name as the built-in whatever the working folder holds (``builtin:tiny`` with a
    ./tiny folder read the folder), so a folder ./svd_xt that a bare ``svd_xt`` meant, as
    before, is returned spelled as a path, ``./svd_xt``; a bare ``tiny`` is the built-in even
    with a ./tiny there (``./tiny`` loads that)."""
    value = str(value)
    if T2V_TINY not in builtins and value in (T2V_TINY, BUILTIN_PREFIX + T2V_TINY):
        return _t2v_tiny(builtins, offered, use, tiny_is_t2v)
    name = builtin_prefix_name(value, builtins)
    if name is not None:
        return name
    if value not in builtins:
        keep = tuple(builtins if offered is None else offered)
        return resolve_model_arg(value, kind, models_dir, keep=keep, extra_configs=extra_configs)
    if value not in PUBLISHED_BUILTINS:
        return value
    if Path(value).exists():
        return os.path.join(os.curdir, value)
    return _published_or_builtin(value, kind, models_dir, extra_configs, use)


T2V_TINY = "t2v_tiny"  # txt2vid's built-in `tiny` by its config's name (configs/model/, as `video info` takes it)


def _t2v_tiny(builtins: tuple[str, ...], offered: tuple[str, ...] | None, use: str, tiny_is_t2v: bool) -> str:
    """``tiny`` for ``t2v_tiny`` where the caller says its ``tiny`` is txt2vid's (txt2vid; edit and
    upscale --refine, whose ``tiny`` is the flow model beside ``tiny-svd``), else a one-line
    CheckpointError saying what it is (img2vid's ``tiny`` is SVD's, animate's Wan-Animate's): it
    was "not found", though ``video info t2v_tiny`` names it."""
    if tiny_is_t2v and "tiny" in builtins:
        return "tiny"
    takes = "an SVD model" if "tiny-svd" in builtins else "another kind of model"
    raise CheckpointError(f"{T2V_TINY} is txt2vid's built-in tiny (video txt2vid --model tiny): this {use} takes "
                          f"{takes}; its built-in names: {', '.join(offered or builtins)}")


def builtin_prefix_name(value: str, builtins: tuple[str, ...]) -> str | None:
    """``NAME`` of a ``builtin:NAME`` value, None for a value without the prefix: the one
    reading of the prefix, for the CLI and the ComfyUI loader alike. A ``NAME`` not among
    ``builtins`` is a one-line :class:`CheckpointError` listing them."""
    if not str(value).startswith(BUILTIN_PREFIX):
        return None
    name = str(value)[len(BUILTIN_PREFIX):]
    if name not in builtins:
        raise CheckpointError(f"{value}: no built-in model {name!r}; the built-in names are {', '.join(builtins)}")
    return name


def _published_or_builtin(name: str, kind: str, models_dir: str | Path | None, extra_configs: list[str | Path],
                          use: str) -> str:
    """The user's model named exactly ``name`` (a :data:`PUBLISHED_BUILTINS` name) at the top of
    a search folder, with a note, else ``name`` (the built-in): not found silently, any other
    failure with a one-line warning that names the way to each model."""
    import sys

    hint = f"{use} {BUILTIN_PREFIX}{name}"
    try:
        folder = ModelsFolder(models_dir, extra_configs=extra_configs)
        kinds = (kind, "diffusion_models") if canonical_kind(kind) == "checkpoints" else (kind,)
        found = folder.find(name, kinds, top_level=True)
    except NameNotFound:
        return name
    except (CheckpointError, OSError) as e:
        warnings.warn(f"{name!r} is the built-in random-weight model, as looking for a model of yours failed: "
                      f"{_one_line(e)} (a path loads yours; {hint} is the built-in without this warning)",
                      stacklevel=2)
        return name
    print(f"note: {name!r} is {found} from the models folder, not the built-in random-weight {name!r} "
          f"({hint} for that)", file=sys.stderr)
    return str(found)


def _one_line(e: Exception) -> str:
    """``e`` as one line: a YAML error's problem and where (PyYAML's own text spans five lines
    with a caret), else its text with the line breaks folded."""
    problem, mark = getattr(e, "problem", None), getattr(e, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return " ".join(str(e).split())


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
        return os.path.expanduser(value)
    if is_explicit_path(value):
        raise CheckpointError(f"{value} not found: no such file or folder (a name in the models folder has no "
                              f"leading /, ./, ../ or ~)")
    folder = ModelsFolder(models_dir, extra_configs=extra_configs)
    kinds = (kind, "diffusion_models") if canonical_kind(kind) == "checkpoints" else (kind,)
    try:
        return str(folder.find(value, kinds))
    except NameNotFound as e:
        builtin = f", a built-in name ({', '.join(keep)})" if keep else ""
        raise NameNotFound(f"model {value!r} not found: not a path{builtin}, nor a name in the models folder "
                           f"({e})") from None


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
    scale that is not a number after an existing file or LoRA name. The file itself is not
    read (:func:`video.models.lora.check_lora_file` does that)."""
    from video.models.lora import lora_scale

    name, sep, scale = value.rpartition(":")
    if not sep or lora_scale(value, scale) is None:
        name, sep, scale = value, "", ""
    if not name:
        return value
    if Path(value).expanduser().is_file():
        return os.path.expanduser(value)
    if Path(name).expanduser().is_file():  # ~ expanded, as for --model
        return os.path.expanduser(name) + sep + scale
    folder = ModelsFolder(models_dir, extra_configs=extra_configs)
    try:
        return str(folder.resolve(name, "loras")) + sep + scale
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
            or any(value.endswith(s) for s in WEIGHT_SUFFIXES))
