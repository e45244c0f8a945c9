"""The parts of a diffusers folder (``unet/``, ``vae/``, ``transformer/``, ``text_encoder/``...):
which weight files each would load, and loading errors as one line naming the folder and part.

File names follow diffusers' and transformers' ``save_pretrained``: ``NAME.safetensors``,
``NAME.VARIANT.safetensors``, shards ``NAME-0000K-of-0000N.safetensors`` or
``NAME.VARIANT-0000K-of-0000N.safetensors`` listed by ``NAME.safetensors.index[.VARIANT].json``.
A variant is chosen per part (a published SVD folder may have ``unet/`` in fp16 only and
``vae/`` in float32 only); the same choice is used to count parameters (``video info``).
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from pathlib import Path

from video.models.svd import CheckpointError

_WEIGHTS = re.compile(r"^[^.]+?(?:-\d+-of-\d+)?(?:\.(?P<variant>[^.-]+))?(?:-\d+-of-\d+)?\.safetensors$")
_INDEX = re.compile(r"^[^.]+\.safetensors\.index(?:\.(?P<variant>[^.]+))?\.json$")
_SHARD = re.compile(r"-\d+-of-\d+")
PICKLED = (".bin", ".pt", ".pth", ".ckpt")


def _variant(name: str) -> tuple[bool, str | None] | None:
    """(is an index, variant) of a weight file name; None for anything else."""
    m = _INDEX.match(name)
    if m:
        return True, m["variant"]
    m = _WEIGHTS.match(name)
    return (False, m["variant"]) if m else None


def variants(part: Path) -> set[str | None]:
    """The variants a part folder holds in safetensors (None: the plain files)."""
    out = set()
    for f in part.iterdir() if part.is_dir() else ():
        v = _variant(f.name)
        if v is not None:
            out.add(v[1])
    return out


def pick_variant(part: Path, requested: str | None = None) -> str | None:
    """The variant to load from ``part``: ``requested`` where the part has it, else the plain
    files where it has them and another part of its folder has ``requested`` (as diffusers'
    pipelines fall back per component), else its only variant (``fp16`` first when it has
    several). A ``requested`` variant that no part holds is one line naming what they hold, as
    diffusers refuses it: ``--variant bf16`` on a folder of plain and fp16 files loaded the
    plain float32 files without a word."""
    have = variants(part)
    if requested is not None and requested in have:
        return requested
    if requested is not None and None in have and not _sibling_has(part, requested):
        held = sorted(have, key=lambda v: (v is not None, v or ""))
        named = " and ".join("the plain files" if v is None else repr(v) for v in held)
        other = [v for v in held if v is not None]
        give = f"give --variant {other[0]}, or " if other else ""
        raise CheckpointError(f"{part.parent}: no part holds a {requested!r} variant ({part.name}/ holds {named}): "
                              f"{give}leave --variant out (the plain files load)")
    if None in have:
        return None
    if have and requested is not None:  # the loader said only "no file named ...bf16...": say what there is
        held = ", ".join(sorted(repr(v) for v in have))
        raise CheckpointError(f"{part}: no {requested!r} variant; it holds {held}: give --variant "
                              f"{sorted(have)[0]}, or leave --variant out (the part's own files load)")
    if not have or requested is not None:
        return requested  # not there: the loader's error names what is missing
    return "fp16" if "fp16" in have else sorted(have)[0]


def _sibling_has(part: Path, variant: str) -> bool:
    """Whether another part folder beside ``part`` (its model folder's) holds ``variant``."""
    try:
        return any(q != part and q.is_dir() and variant in variants(q) for q in part.parent.iterdir())
    except OSError:
        return False


def weight_files(part: Path, variant: str | None, links: bool = False) -> list[Path]:
    """The .safetensors files of ``part`` that loading ``variant`` reads (an index's shards,
    else the single file). One among them that is a link to nothing (a hub-cache snapshot
    whose blob is gone) is one line naming it, "a broken link (-> TARGET)", where the loaders
    said "No such file or directory"; with ``links`` it is returned instead, for a caller that
    names each file's problem (:func:`video.models.detect.damaged_parts`)."""
    from video.models.sniff import broken_link

    files = [f for f in sorted(part.iterdir()) if _variant(f.name) == (True, variant)] if part.is_dir() else []
    if files:
        try:
            shards = sorted(set(json.loads(files[0].read_text()).get("weight_map", {}).values()))
        except (OSError, ValueError):
            shards = []
        found = [part / s for s in shards if (part / s).is_file() or (part / s).is_symlink()]
    else:
        found = [f for f in sorted(part.glob("*.safetensors")) if _variant(f.name) == (False, variant)
                 and not _SHARD.search(f.name)]
    if not links:
        for f in found:
            if (why := broken_link(f)) is not None:
                raise CheckpointError(f"{f}: {why}")
    return found


def require_safetensors(part: Path) -> None:
    """A one-line error for a part without .safetensors weights (pickled files are never loaded)."""
    if not part.is_dir():
        raise CheckpointError(f"{part}: missing (the folder needs its {part.name}/ subfolder)")
    if variants(part):
        return
    pickled = sorted(f.name for f in part.iterdir() if f.suffix in PICKLED)
    if pickled:
        raise CheckpointError(f"{part}: no .safetensors weights, only {pickled[0]} (pickled .bin files are not "
                              "loaded; convert them to .safetensors)")
    raise CheckpointError(f"{part}: no .safetensors weights")


def transformers_load_error(folder: str | Path, e: BaseException) -> str:
    """Why a transformers folder did not load (``from_pretrained(..., use_safetensors=True)``),
    in one line: no .safetensors weights (a pickled file is named and refused, as in
    :func:`require_safetensors`: loading a pickle can run code), else the library's first line."""
    p = Path(folder)
    if not p.is_dir() or any(p.glob("*.safetensors")):
        return f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
    pickled = sorted(f.name for f in p.iterdir() if f.suffix in PICKLED)
    refused = f" ({pickled[0]} is pickled and refused: loading a pickle can run code)" if pickled else ""
    return (f"no .safetensors weights{refused}; convert them once, where you trust the files: "
            "from_pretrained, then save_pretrained writes model.safetensors")


@contextmanager
def loading(folder: Path, part: str):
    """Load a part of ``folder``: the libraries' file errors (``OSError``: a config, a weight
    file or a shard missing; ``ValueError``: a config without its model type;
    ``SafetensorError``: a damaged weight file) become one :class:`CheckpointError` naming the
    folder and the part, and their own error log lines are kept quiet."""
    from safetensors import SafetensorError

    try:
        import diffusers.utils.logging as dlog
    except ImportError:  # pragma: no cover
        dlog = None
    level = dlog.get_verbosity() if dlog else None
    if dlog:
        dlog.set_verbosity(dlog.CRITICAL)
    try:
        yield
    except CheckpointError:
        raise
    except (OSError, ValueError, SafetensorError) as e:  # ValueError: transformers' "Unrecognized model"
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise CheckpointError(f"{folder}: cannot load {part}/ ({first})") from None
    finally:
        if dlog:
            dlog.set_verbosity(level)


def _examples(keys, n: int = 3) -> str:
    keys = sorted(keys)
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def index_gaps(part: Path, variant: str | None) -> list[str]:
    """Keys a part's shard index lists that its shards do not hold. diffusers trusts the index
    for what is missing and leaves such weights on the meta device (a raw "Cannot copy out of
    meta tensor" later); the safetensors headers say what the shards really have."""
    from safetensors import safe_open

    index = [f for f in sorted(part.iterdir()) if _variant(f.name) == (True, variant)] if part.is_dir() else []
    if not index:
        return []
    try:
        weight_map = json.loads(index[0].read_text()).get("weight_map", {})
    except (OSError, ValueError):
        return []
    have: set[str] = set()
    for shard in sorted(set(weight_map.values())):
        if (part / shard).is_file():  # an absent shard is the loader's own error
            with safe_open(str(part / shard), framework="pt") as f:
                have.update(f.keys())
        else:
            have.update(k for k, v in weight_map.items() if v == shard)
    return sorted(k for k in weight_map if k not in have)


def check_complete(model, info: dict, folder: Path, part: str, unexpected: bool = True) -> None:
    """One :class:`CheckpointError` naming a few keys when ``from_pretrained`` left weights out
    (``missing_keys``: diffusers leaves them on the meta device, transformers draws them at
    random, both only log it), or when any parameter is still on the meta device. With
    ``unexpected``, weights the class has no place for are errors too (diffusers classes);
    transformers already drops the ones it ignores by design (``position_ids`` buffers,
    ``_keys_to_ignore_on_load_unexpected``), so its callers pass False."""
    name = type(model).__name__
    keys = sorted(info.get("unexpected_keys") or ()) if unexpected else []
    if keys:
        raise CheckpointError(f"{folder}: {len(keys)} weights of {part}/ have no place in {name} (e.g. "
                              f"{_examples(keys)}); not a model this loader runs")
    missing = set(info.get("missing_keys") or ())
    missing |= {n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta}
    if missing:
        raise CheckpointError(f"{folder}: {len(missing)} weights of {name} are missing from {part}/ (e.g. "
                              f"{_examples(missing)}); the files are incomplete or of another model")


def require_config(folder: Path, part: str) -> None:
    """One line naming ``PART/config.json`` where a part's weights came without it (``hf download
    --include "*.safetensors"``), in ``video info``'s words (:func:`missing_parts`): diffusers
    said "no file named config.json found in directory FOLDER", naming the folder above it."""
    if not (folder / part / "config.json").is_file():
        raise CheckpointError(f"{folder}: cannot load {part}/ (missing: {part}/config.json, which its loader reads "
                              "first: download it with the weights)")


def load_diffusers_part(cls, folder: Path, part: str, dtype, variant: str | None = None, strict: bool = True):
    """``cls.from_pretrained(folder, subfolder=part)`` with the part's variant, safetensors only,
    and (``strict``) every weight of the files used: weights the class has no place for (a VACE
    or Animate transformer read as a plain one) or places the files leave empty (a missing
    key, or a key a shard index lists that its shard lacks) are errors."""
    require_safetensors(folder / part)
    require_config(folder, part)
    v = pick_variant(folder / part, variant)
    with loading(folder, part):  # a damaged shard header is this part's one-line error too
        gaps = index_gaps(folder / part, v) if strict else []
    if gaps:
        raise CheckpointError(f"{folder}: {len(gaps)} weights listed in {part}/'s shard index are not in its "
                              f"shards (e.g. {_examples(gaps)}); the download is incomplete")
    with loading(folder, part):
        model, info = cls.from_pretrained(folder, subfolder=part, torch_dtype=dtype, variant=v, use_safetensors=True,
                                          output_loading_info=True)
    if strict:
        check_complete(model, info, folder, part)
    return model


def load_transformers_part(cls, folder: Path, part: str, dtype, variant: str | None = None):
    """``cls.from_pretrained(folder / part)`` (a transformers model: CLIP image encoder, text
    encoders) with the part's variant, safetensors only, and every weight the model needs
    read from the files: transformers fills missing ones at random and only logs it (which
    :func:`video.models.svd.quiet_library_logs` hides), so an incomplete folder would run
    with random weights."""
    require_safetensors(folder / part)
    require_config(folder, part)
    v = pick_variant(folder / part, variant)
    with loading(folder, part):
        model, info = cls.from_pretrained(folder / part, dtype=dtype, variant=v, use_safetensors=True,
                                          output_loading_info=True)
    check_complete(model, info, folder, part, unexpected=False)
    return model


def clip_image_processor(folder: str | Path | None = None, **kwargs):
    """A CLIP image processor, PIL-backed (SVD's feature extractor, Wan-Animate's character
    image): transformers 5's ``CLIPImageProcessor`` is its torchvision backend (not a dependency), and without
    torchvision transformers swaps in ``CLIPImageProcessorPil`` with a notice to install it.
    Built directly it is the same class, so the same pixel values, with or without torchvision
    and silently. Read from ``folder`` (its ``preprocessor_config.json``) or built from ``kwargs``."""
    try:
        from transformers import CLIPImageProcessorPil as Processor  # transformers >= 5
    except ImportError:  # transformers 4: CLIPImageProcessor is the PIL one already
        from transformers import CLIPImageProcessor as Processor
    return Processor.from_pretrained(folder) if folder is not None else Processor(**kwargs)


TORCHVISION_NOTICE = "requires torchvision (not installed)"  # transformers 5's CLIPImageProcessor fallback


@contextmanager
def no_torchvision_notice():
    """Drop transformers' "`CLIPImageProcessor` requires torchvision (not installed)" notice while
    diffusers' pipeline modules (Wan-Animate's, SVD's) import that name (for its type hints only: the
    processor used is :func:`clip_image_processor`'s), so a run does not ask for a package it
    does not need. Every other transformers message passes."""
    import logging

    log = logging.getLogger("transformers.utils.import_utils")

    def keep(record: logging.LogRecord) -> bool:
        return TORCHVISION_NOTICE not in record.getMessage()

    log.addFilter(keep)
    try:
        yield
    finally:
        log.removeFilter(keep)


# What the loader of each runnable kind reads from a whole model folder (svd.load_diffusers_folder,
# txt2vid's _load_ours / _load_wan, vace's and animate's loaders), checked by file presence only:
# a part's .safetensors weights (_NEED_WEIGHTS: require_safetensors), a named file in it, or
# the part folder itself (_NEED_FOLDER: a tokenizer, read by transformers whatever its files).
# _NEED_CONFIG: the weights and the config.json from_pretrained reads first (SVD's parts; the Wan
# and text parts' checks are by weights alone, which the tests' placeholder folders rely on).
_NEED_WEIGHTS, _NEED_FOLDER, _NEED_CONFIG = "weights", "folder", "weights and config.json"
_SVD_PARTS = (("unet", _NEED_CONFIG), ("vae", _NEED_CONFIG), ("image_encoder", _NEED_CONFIG))
_TEXT_PARTS = (("vae", _NEED_WEIGHTS), ("text_encoder", _NEED_WEIGHTS), ("tokenizer", _NEED_FOLDER))
_OURS_PARTS = (("transformer", "model.safetensors"), *_TEXT_PARTS)
MISSING = "; missing: "  # ends the detail of a model folder that lacks a part its loader reads


def missing_parts(p: Path, kind: str) -> list[str]:
    """The parts the loader of the whole model folder ``p`` of ``kind`` reads that ``p`` lacks
    (``vae/``, ``vae/ (no .safetensors weights)``, ``unet/config.json``,
    ``transformer/model.safetensors``), from file presence alone (no weight is read); [] for a
    whole folder and for a kind no loader here reads. ``video info`` printed a ``run_with`` line
    for an SVD folder without VAE weights and a Wan folder without ``text_encoder/``, which the
    commands it named then refused; a download of the ``*.safetensors`` alone (no ``config.json``)
    was a good folder to ``video models`` and a raw "No such file" to ``video info``."""
    if kind in ("svd", "svd_xt"):
        needs = _SVD_PARTS
    elif kind == "dit_t2v":
        needs = _OURS_PARTS
    elif kind in ("wan_t2v", "wan_vace", "wan_animate"):
        from video.models.detect import _json, _pipeline_part

        two = kind == "wan_t2v" and _pipeline_part(_json(p / "model_index.json").get("transformer_2"))
        experts = ("transformer", "transformer_2") if two else ("transformer",)
        needs = (*((t, _NEED_WEIGHTS) for t in experts), *_TEXT_PARTS,
                 *((("image_encoder", _NEED_WEIGHTS),) if kind == "wan_animate" else ()))
    else:
        return []
    return [gap for sub, what in needs if (gap := _part_gap(p / sub, what)) is not None]


def _part_gap(part: Path, what: str) -> str | None:
    """How the part folder ``part`` falls short of ``what`` its loader reads, or None."""
    if not part.is_dir():
        return f"{part.name}/"
    if what == _NEED_FOLDER:
        return None
    if what in (_NEED_WEIGHTS, _NEED_CONFIG):
        if not variants(part):
            return f"{part.name}/ (no .safetensors weights)"
        absent = absent_shards(part)
        if absent:
            return f"{', '.join(f'{part.name}/{s}' for s in absent)} (listed in the index, not there)"
        return None if what == _NEED_WEIGHTS or (part / "config.json").is_file() else f"{part.name}/config.json"
    return None if (part / what).is_file() else f"{part.name}/{what}"


def absent_shards(part: Path, variant: str | None = None) -> list[str]:
    """The shard files the index of ``part``'s loaded variant (:func:`pick_variant`) lists and the
    folder lacks: `video info` said "ready to run" for a download missing one (only some weight
    file was looked for), and the loader then stopped on it."""
    v = pick_variant(part, variant)
    index = [f for f in sorted(part.iterdir()) if _variant(f.name) == (True, v)] if part.is_dir() else []
    if not index:
        return []
    try:
        weight_map = json.loads(index[0].read_text()).get("weight_map", {})
    except (OSError, ValueError, AttributeError):  # an index that does not read: the loader's own error
        return []
    listed = sorted({s for s in weight_map.values() if isinstance(s, str)}) if isinstance(weight_map, dict) else []
    return [s for s in listed if not (part / s).is_file() and not (part / s).is_symlink()]  # a link: weight_files
