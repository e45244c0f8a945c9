"""The models the nodes load: where the loader looks (our models folder plus every folder ComfyUI
knows), what its drop-down lists (video models only; image checkpoints and whole models no node
runs left out), how a name becomes a :class:`VideoModel` that some node runs (or a one-line
refusal saying what it is and what would work), and the dtype it runs in. The pipelines are
built on first use (:mod:`video.comfy.pipelines`)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from video.comfy.host import comfy_module, default_models_dir, log
from video.comfy.kinds import LORA_KINDS, RUNNABLE_KINDS, SVD_KINDS
from video.comfy.pipelines import VideoModel
from video.comfy.refusals import refusal, unsupported_message
from video.models.builtin_names import BUILTIN_PREFIX, builtin_prefix_name
from video.models.detect import MEDIA
from video.models.folder import ModelsFolder, NameNotFound
from video.models.sniff import has_safetensors_header
from video.models.svd import CheckpointError
from video.runtime.img2vid import InputError

RANDOM_MODELS = {"tiny": "flow", "tiny-svd": "svd"}  # random-weight smoke models, no file needed
# The drop-down shows the random models under these labels; the bare names and builtin:NAME stay
# accepted (scripts, API prompts). Each is the built-in whatever the models folder holds, as the CLI
# reads a built-in name; a user's model named so is listed, and loaded, by its path.
BUILTIN_LABELS = {f"{n} (random weights, for tests)": n for n in RANDOM_MODELS}
DTYPES = ("auto", "float16", "bfloat16", "float32")
class NodeModelsFolder(ModelsFolder):
    """:class:`ModelsFolder` whose "no ... named" line offers what the nodes' drop-downs list
    (:func:`offered`): a model picked in a saved workflow and deleted since was answered with
    files the drop-down hides (a pickled ``old.ckpt``, an SD 1.5 checkpoint), each of which
    fails too. ``video`` on the command line keeps naming every file it finds."""

    def _not_found(self, name: str, kinds: tuple[str, ...], listed: dict) -> str:
        return super()._not_found(name, kinds, {k: [e for e in v if offered(k, e.path)] for k, v in listed.items()})


def offered(kind: str, path: Path) -> bool:
    """Whether a drop-down lists ``path`` found under ``kind``: the loader's (:func:`is_listed`)
    for checkpoints and diffusion models, the LoRA list's (:func:`loadable_lora`) for LoRAs;
    any other kind lists every file."""
    from video.models.folder import canonical_kind

    kind = canonical_kind(kind)
    if kind in ("checkpoints", "diffusion_models"):
        return is_listed(path)
    return loadable_lora(path) if kind == "loras" else True


class ComfyModelsFolder(NodeModelsFolder):
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
    kind, else ours ($VIDEO_MODELS or ./models). An extra_model_paths.yaml that does not read
    is left out, and the console says so once (:func:`_say_once`): it raised from the loader's
    ``INPUT_TYPES``, and ComfyUI then dropped the whole node type; the drop-downs now list what
    the rest of the folder holds, and load it."""
    extra: list[str] = []
    if models_dir is not None:
        folder = NodeModelsFolder(models_dir, skip_unreadable=True)
    else:
        cli = comfy_module("comfy.cli_args")  # ComfyUI's parsed flags
        for group in getattr(getattr(cli, "args", None), "extra_model_paths_config", None) or []:
            extra += group if isinstance(group, list) else [group]  # nargs="+" with action="append"
        folder_paths = comfy_module("folder_paths")
        if folder_paths is None:
            folder = NodeModelsFolder(default_models_dir(), extra_configs=extra, skip_unreadable=True)
        else:
            folder = ComfyModelsFolder(default_models_dir(), extra_configs=extra, folder_paths=folder_paths,
                                       skip_unreadable=True)
    for error in folder.unreadable:
        _say_once(f"extra model paths not used: {error}")
    return folder


def embeddings_dir(folder: ModelsFolder) -> str | None:
    """The textual-inversion folder the nodes' prompts use: the first existing ``embeddings``
    search folder (ComfyUI's ``models/embeddings/`` first), as ``--embeddings`` on the command
    line. One folder: the prompt encoder reads one (:func:`video.prompts.embeddings.load_embeddings`)."""
    return next((str(p) for p in folder.search_paths("embeddings") if p.is_dir()), None)


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


# --- the loader's drop-down -------------------------------------------------------------------

_KIND_CACHE: dict[tuple[str, int, int], str | None] = {}  # (file, size, mtime) -> listed kind
# What listed_kind calls a single file that no loader here ever loads, told by its first bytes
# (GGUF, a video or image, a pickle, a safetensors file whose header does not read, an empty file
# or a Git LFS pointer, other text, bytes of no format read here): left out of the drop-down
# (:func:`is_listed`), a combo entry that would fail every run.
GGUF, PICKLED, DAMAGED = "gguf", "pickled", "damaged safetensors"
NOT_WEIGHTS, TEXT, UNRECOGNISED = "not weights", "text", "unrecognised"
NEVER_LOADS = (GGUF, MEDIA, PICKLED, DAMAGED, NOT_WEIGHTS, TEXT, UNRECOGNISED)
TEXT_NOTE = "a text file, not weights"


def listed_kind(p: Path) -> str | None:
    """The kind of ``p`` as far as listing needs it, or None when it cannot be read (an
    unreadable file, a broken folder: listed, and the loader says what they are). Folders read
    their JSON configs; single files their first bytes (:func:`_file_kind`) and, for a whole
    safetensors header, the header (about 10 ms for an SDXL header of 2,500 tensors),
    remembered per (path, size, modification time)."""
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
        _KIND_CACHE[key] = _file_kind(p)
    return _KIND_CACHE[key]


def _file_kind(p: Path) -> str | None:
    """A single file's kind from cheap reads, never unpickling nor reading weights: one of
    :data:`NEVER_LOADS` for GGUF (ComfyUI's unet/ is full of them: ComfyUI-GGUF loads them, we
    do not), a video or image (:func:`video.models.detect.media_format`: a render saved under a
    weights name), a pickle (by its bytes or suffix, :func:`video.models.sniff.is_pickled`: the
    loader refuses them), a file that starts as safetensors and does not read (a truncated
    download), an empty file or a Git LFS pointer (:func:`video.models.sniff.not_weights`: a
    clone without ``git lfs``) and any other text (a README saved under a weights name, a
    failed download's error page: :func:`_is_text`), and any other bytes: :data:`DAMAGED` under a
    safetensors name (what the loader calls them), else :data:`UNRECOGNISED` (an ``.onnx`` export,
    random bytes named ``.ckpt``: "unrecognised file" to the loader, which no run gets past;
    they were listed); the detected kind of a whole safetensors header; None when the file
    cannot be read."""
    from video.models.detect import media_format
    from video.models.sniff import claims_safetensors, is_pickled, not_weights
    from video.models.svd import is_safetensors_name

    if not_weights(p) is not None:
        return NOT_WEIGHTS
    try:
        with p.open("rb") as f:
            head = f.read(4)
    except OSError:
        return None
    if head == b"GGUF":
        return GGUF
    if claims_safetensors(p):  # before the pickle test: a header length may start as a pickle does
        return _header_kind(p)
    if media_format(p) is not None:
        return MEDIA
    if is_pickled(p):  # before the text test: a protocol 0 pickle is ASCII
        return PICKLED
    if _is_text(p):
        return TEXT
    return DAMAGED if is_safetensors_name(p) else UNRECOGNISED


def _is_text(p: Path, n: int = 4096) -> bool:
    """Whether the file ``p`` starts as text: its first ``n`` bytes hold no NUL and read as
    UTF-8 (a character cut at the ``n``-th byte allowed). Weights of any format hold NULs within
    their first few bytes (a length, a magic number, zeros)."""
    try:
        with p.open("rb") as f:
            head = f.read(n)
    except OSError:
        return False
    if not head or b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return len(head) == n and e.start >= n - 3 and e.reason == "unexpected end of data"
    return True


def _header_kind(p: Path) -> str:
    """The detected kind of a file that starts as safetensors, or :data:`DAMAGED` when its header
    is cut short or does not read."""
    from video.models.detect import detect_kind

    if not has_safetensors_header(p):
        return DAMAGED
    try:
        return detect_kind(p)["kind"]
    except Exception:  # a header that does not parse: DamagedSafetensors
        return DAMAGED


_LISTED_CACHE: dict[tuple[str, int, int], bool] = {}  # (file, size, mtime) -> listed


def is_listed(p: Path) -> bool:
    """Whether the loader's drop-down shows ``p``: a model some node runs, a part of one saved
    alone (a Wan single file, a UNet or transformer folder: where a user looks for it, and the
    loader then says which whole model to get), or a file that cannot be read. Left out, as
    a combo entry that fails every run: image checkpoints (SD 1.x, SDXL, Flux), LoRAs, VAEs, ...
    in the same folders, whole models of a runnable kind no node runs (:func:`refusal`: Wan 2.2
    TI2V, a WanVideoToVideoPipeline folder, SVD's image-decoder variant), as a Wan
    image-to-video folder is, and the files no loader here reads (:data:`NEVER_LOADS`: GGUF,
    videos and images, damaged safetensors, pickles, empty files, Git LFS pointers, other text
    and bytes of no format read here, such as an ``.onnx`` export; the console names each pickle once, as :func:`loadable_lora` does, since a pickled
    SVD checkpoint is one the user may mean to convert, and each empty, pointer or text file
    once: a clone without ``git lfs`` would otherwise list nothing without a word). A file's
    answer is remembered per (path, size, modification time), as its kind."""
    try:
        st = None if p.is_dir() else p.stat()
    except OSError:
        return True  # unreadable: listed, the loader says why
    key = None if st is None else (str(p), st.st_size, st.st_mtime_ns)
    if key is not None and key in _LISTED_CACHE:
        return _LISTED_CACHE[key]
    kind = listed_kind(p)
    if kind in NEVER_LOADS:
        if kind == PICKLED:
            _say_once(f"not in the video model list: {p}: pickled checkpoints are not loaded; "
                      "convert it to .safetensors")
        elif kind in (NOT_WEIGHTS, TEXT):
            from video.models.sniff import not_weights

            _say_once(f"not in the video model list: {p}: {not_weights(p) or TEXT_NOTE}")
        return False
    if kind is None or kind not in RUNNABLE_KINDS:
        return kind is None
    try:
        refused = refusal(p, kind)
    except Exception:  # a header that does not read: listed, loading it says why
        return True
    listed = refused is None or refused.part
    if key is not None:
        _LISTED_CACHE[key] = listed
    return listed


_SAID: set[str] = set()  # console lines already logged: each once per process


def _say_once(line: str) -> None:
    """``line`` as a console warning, the first time only: a drop-down is rebuilt every time
    ComfyUI's UI asks for the node types, and each rebuild must not repeat it."""
    if line not in _SAID:
        _SAID.add(line)
        log.warning("%s", line)


def model_names(kind: str = "checkpoints", models_dir: str | Path | None = None) -> list[str]:
    """Names of what the models folder holds under ``kind``, for a node's drop-down: each model
    once, by the name that loads it (:meth:`ModelsFolder.listing`: a copy that an earlier folder's
    file of the same name shadows is listed by its path, not as a second identical row). Pickled
    LoRAs are left out (:func:`loadable_lora`): every run with one failed."""
    try:
        listed = models_folder(models_dir).listing(kind)
    except CheckpointError:
        return []
    return [label for label, e in listed if kind != "loras" or loadable_lora(e.path)]


_UNLISTED_SAID: set[str] = set()  # pickled LoRAs the console was told about, once each


def loadable_lora(p: Path) -> bool:
    """Whether the LoRA drop-down lists ``p``: not a pickle (by its bytes or suffix,
    :func:`video.models.sniff.is_pickled`; never unpickled), which the loader refuses. A combo
    entry is a value a workflow saves and runs, so one that fails every run is left out rather
    than marked, and the console says why once per file (ComfyUI's own LoRA loader lists
    ``.ckpt``/``.pt``, so a user looks for it). An empty file, a Git LFS pointer or other text
    is left out too, as from the model list (:func:`is_listed`)."""
    from video.models.lora import LoraError, check_lora_file
    from video.models.sniff import is_pickled, not_weights

    if not p.is_file():
        return True
    pickled = is_pickled(p)  # before the text test: a protocol 0 pickle is ASCII
    if why := not_weights(p) or (TEXT_NOTE if not pickled and _is_text(p) else None):
        _say_once(f"not in the LoRA list: {p}: {why}")
        return False
    if not pickled:
        return True
    if str(p) not in _UNLISTED_SAID:
        _UNLISTED_SAID.add(str(p))
        try:
            check_lora_file(p)
        except LoraError as e:  # the loader's own line: "PATH: pickled LoRA files are not loaded; ..."
            log.warning("not in the LoRA list: %s", e)
    return False


def video_model_names(models_dir: str | Path | None = None) -> list[str]:
    """The loader's drop-down: the video models :func:`load_video_model` finds (:func:`is_listed`),
    ``checkpoints/`` first, then ``diffusion_models/`` (and its ``unet/`` alias), then the
    random-weight test models under their :data:`BUILTIN_LABELS`. Each model is listed by the
    name that loads it (:meth:`ModelsFolder.listing`, as ``video models``): a copy shadowed by an
    earlier folder's file of the same name, a diffusion model whose name would resolve to a
    checkpoint instead, or a model named as a built-in (a ``tiny/`` folder: ``tiny`` is the
    random model, :func:`builtin_choice`) is listed by its path, so that picking it loads it."""
    folder = models_folder(models_dir)
    names = []
    for sub in ("checkpoints", "diffusion_models"):
        try:
            listed = folder.listing(sub)
        except CheckpointError:
            listed = []
        for label, e in listed:
            if not is_listed(e.path):
                continue
            if names_builtin(label):  # that name picks the random model
                names.append(str(e.path))
                continue
            if sub == "checkpoints" or label == str(e.path):
                names.append(label)
                continue
            try:
                found = resolve_model(folder, e.name, warn=False)
            except CheckpointError:
                found = None
            names.append(e.name if found is not None and found.resolve() == e.path.resolve() else str(e.path))
    return list(dict.fromkeys([*names, *BUILTIN_LABELS]))


def names_builtin(name: str) -> bool:
    """Whether the loader reads ``name`` as a built-in (:func:`builtin_choice`), whatever the
    models folder holds under that name."""
    return name in BUILTIN_LABELS or name in RANDOM_MODELS or name.startswith(BUILTIN_PREFIX)


def builtin_choice(name: str) -> str | None:
    """The random-weight model ``name`` picks, or None: its drop-down label, its bare name
    (``tiny``, ``tiny-svd``) or ``builtin:NAME``, each the built-in whatever the models folder
    holds, as the CLI reads a built-in name
    (:func:`video.models.builtin_names.resolve_model_name_or_builtin`): before, a user's
    ``checkpoints/old/tiny.safetensors`` anywhere in the tree answered to ``tiny``, and
    ``builtin:tiny`` was looked up as a file name. ``builtin:`` with another name: a one-line
    CheckpointError."""
    if name in BUILTIN_LABELS:
        return BUILTIN_LABELS[name]
    prefixed = builtin_prefix_name(name, tuple(RANDOM_MODELS))
    return prefixed if prefixed is not None else name if name in RANDOM_MODELS else None


def resolve_model(folder: ModelsFolder, name: str, warn: bool = True) -> Path:
    """``name`` under ``checkpoints/``, else under ``diffusion_models/``: the loader's lookup
    order. Only a miss looks further: a name that several checkpoints answer to is an error
    (``AmbiguousName``, with the names that pick each), not a reason to load a diffusion model
    of that name. Not found in either: the error of ``checkpoints/`` (the folder most people
    use). ``warn``: say which copy is used when several folders hold the name (ComfyUI's order)."""
    try:
        return folder.find(name, ("checkpoints",), warn=warn)
    except NameNotFound as first:
        try:
            return folder.find(name, ("diffusion_models",), warn=warn)
        except NameNotFound:
            raise first from None


def load_video_model(name: str, models_dir: str | Path | None = None, lora: str = "", lora_strength: float = 1.0,
                     device: str = "cpu", dtype: torch.dtype | str = "auto") -> VideoModel:
    """``name`` under ``checkpoints/`` (or ``diffusion_models/``) of the models folder, or a path,
    or a random-weight test model (:func:`builtin_choice`: ``tiny`` / ``tiny-svd``, their
    :data:`BUILTIN_LABELS` or ``builtin:NAME``, whatever the models folder holds); its kind
    detected from its contents, and refused here in one line when no node runs it: a kind no
    node runs (with what this pack runs), or a model of a runnable kind that is not a whole
    pipeline a node runs (:func:`refusal`: a UNet or transformer saved alone, Wan 2.2 TI2V, ...,
    with what would work), or a pickled file, in ``--model``'s words (never unpickled). ``lora``
    names a file under ``loras/`` merged at ``lora_strength`` when a pipeline is built; a pickled
    or unreadable one, or one that does not fit the model (:func:`check_loras_fit`), is refused
    here, not at the first sampling node. Its prompts use
    the folder's textual-inversion embeddings (:func:`embeddings_dir`), as ``--embeddings`` does
    on the command line.
    ``dtype``: a torch dtype or one of :data:`DTYPES` (:func:`model_dtype`)."""
    from video.models.detect import detect_kind
    from video.models.lora import check_lora_file
    from video.models.part_checks import pickle_refusal

    folder = models_folder(models_dir)  # a YAML that does not read: left out, said once
    builtin = builtin_choice(name)
    if builtin is not None:
        kind = {"svd": "svd", "flow": "dit_t2v"}[RANDOM_MODELS[builtin]]
        found, source = {"kind": kind, "detail": "random weights"}, builtin
    else:
        path = resolve_model(folder, name)
        if (pickled := pickle_refusal(path)) is not None:  # before detect_kind's torch.load(weights_only=True)
            raise CheckpointError(pickled)  # it was "detected as pytorch (pytorch weights (not opened))"
        found, source = detect_kind(path), str(path)
        if found["kind"] not in RUNNABLE_KINDS:
            raise CheckpointError(unsupported_message(path, found["kind"], found["detail"]))
        refused = refusal(path, found["kind"])
        if refused is not None:
            raise CheckpointError(refused.line)
    if lora and found["kind"] not in LORA_KINDS:  # said now, not after the sampling node's whole load
        raise InputError(f"LoRAs on {found['kind']} models are not supported by these nodes yet (SVD, our DiT and "
                         "Wan T2V take them)")
    if lora and not math.isfinite(float(lora_strength)):  # a NaN was refused only by the sampling node's LoRA merge
        raise InputError(f"lora_strength must be a finite number; got {lora_strength}")
    loras = [(folder.resolve(lora, "loras"), float(lora_strength))] if lora else []
    for p, _ in loras:
        check_lora_file(p)
    check_loras_fit(source, found["kind"], loras)
    if not isinstance(dtype, torch.dtype):
        dtype = model_dtype(dtype, found["kind"], device)
    return VideoModel(source, found["kind"], found["detail"], loras, device, dtype, embeddings_dir(folder))


def check_loras_fit(source: str, kind: str, loras: list[tuple[Path, float]]) -> None:
    """``loras`` refused at the node that takes them (the loader, a Video LoRA node) when they
    do not fit the ``kind`` model at ``source``, in the words the merge would use
    (:func:`video.models.lora_fit.check_loras_fit`, from its config files): the sampling node
    refused them only after the whole model had loaded, minutes for Wan 14B."""
    from video.models.lora_fit import check_loras_fit as fit

    fit(source, "img2vid" if kind in SVD_KINDS else "txt2vid", loras)
