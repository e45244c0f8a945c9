"""What a latent cache and a training run record of the data they were made from, and the line
a run prints about its data.

- A cache's ``index.json`` records the settings that decide which items and frames it holds
  (:func:`cache_data_record`): a run from it with other ones is refused
  (:func:`cache_data_differences`), since the latents are what they are and the run's
  ``config.yaml`` would record settings it never trained with (``data.where`` was ignored, and a
  cache of 7 clips trained all 7 where 3 matched).
- A checkpoint records the item count and a hash of the items' identities
  (:func:`data_fingerprint`), so a resume on data that changed (a re-curated manifest) can say
  so (:func:`video.training.resume.data_change_note`).
- :func:`data_line`: the dataset's description with the count ``data.where`` matched, printed
  by the run and by ``video train --dry-run``.
"""

from __future__ import annotations

import hashlib
import json

SHAPE_KEYS = ("frames", "height", "width", "fps")
# where and clip_window choose a manifest's rows and frames; no other kind reads them
FILTER_KINDS = ("manifest",)


def cache_data_record(cfg) -> dict:
    """The ``data`` entry of a cache's ``index.json``: the kind, the shape, and for a manifest
    the ``data.where`` its rows were chosen by and the window it stores (``start``: the cache
    holds each clip's first frames, :func:`video.training.cache.first_windows`)."""
    d = cfg.data
    return {"kind": d.kind, "frames": d.frames, "height": d.height, "width": d.width, "fps": d.fps,
            "where": d.where.strip(), "clip_window": "start"}


def cache_data_differences(built: dict, d) -> list[str]:
    """Each ``data`` setting of the run (``d``) that differs from the cache's ``built`` record,
    said as ``data.KEY=run value (cache: its value)``. A cache from before ``where`` and
    ``clip_window`` were recorded is taken as built by the defaults it was built with (no
    ``where``; first windows), and a run that sets a ``where`` on it is told so. ``where`` and
    ``clip_window`` count only for a cache of a manifest: they choose nothing of other data."""
    diff = [f"data.{k}={getattr(d, k):g} (cache: {built[k]:g})"
            for k in SHAPE_KEYS if k in built and built[k] != getattr(d, k)]
    if not set(str(built.get("kind", "")).split("+")) & set(FILTER_KINDS):
        return diff
    where = d.where.strip()
    if "where" not in built and where:
        diff.append(f"data.where={where!r} (cache: built before data.where was recorded, taken as none)")
    elif where != built.get("where", ""):
        diff.append(f"data.where={where!r} (cache: {built['where']!r})" if built["where"]
                    else f"data.where={where!r} (cache: none, every kept clip)")
    return diff


def cache_window_note(built: dict, d) -> str | None:
    """A warning, not a refusal, for a run whose ``data.clip_window`` a manifest's cache cannot
    give (it holds one window per clip, its first frames): ``random`` is the default, and a
    refusal made every cache run set ``clip_window=start`` by hand."""
    if not set(str(built.get("kind", "")).split("+")) & set(FILTER_KINDS):
        return None
    if d.clip_window == built.get("clip_window", "start"):
        return None
    return (f"warning: data.clip_window={d.clip_window} does not apply to a latent cache: it holds one window per "
            f"clip, its first frames ({built.get('clip_window', 'start')}); those are what this run trains on")


def _parts(data) -> list:
    """The datasets ``data`` is made of: itself, or what buckets and ``a+b`` wrap."""
    from video.training.buckets import Bucketed
    from video.training.data import Concat

    if isinstance(data, Bucketed):
        return _parts(data.base)
    if isinstance(data, Concat):
        return [q for p in data.parts for q in _parts(p)]
    return [data]


def data_line(data, cfg) -> str | None:
    """The line a run prints about its data: the dataset's own description (a manifest's clip
    count, those shorter than ``data.frames`` left out...), then how many kept clips
    ``data.where`` matched (those left out for length, cells or a missing file included); for a
    cache, its item count and the ``data.where`` it was built with. None for data that
    describes nothing (shapes)."""
    from video.training.cache import LatentCache
    from video.training.data import ManifestClips

    notes = []
    for p in _parts(data):
        if isinstance(p, ManifestClips) and cfg.data.where.strip():
            matched = len(p) + p.short + p.unusable + getattr(p, "missing", 0)  # those left out matched too
            notes.append(f"data.where {cfg.data.where.strip()!r} matches {matched} kept clip"
                         + ("s" if matched != 1 else ""))
        elif isinstance(p, LatentCache):
            built = p.index.get("data", {})
            where = built.get("where") if set(str(built.get("kind", "")).split("+")) & set(FILTER_KINDS) else None
            notes.append(f"latent cache {len(p)} items" + (f" of the kept clips matching {where!r}" if where else ""))
    base = data.describe() if hasattr(data, "describe") else None
    if base is None and not notes:
        return None
    return "; ".join([base, *notes] if base is not None else notes)


def empty_caption_line(data, cfg) -> str | None:
    """The warning a text-conditioned run prints when items of ``data`` have an empty caption
    (:func:`video.training.notes.empty_caption_note`); None when none has, or the task
    trains on no caption."""
    from video.training.notes import empty_caption_note
    from video.training.tasks import TASKS, empty_caption_example, empty_captions

    empty = empty_captions(data) if TASKS[cfg.task].text_conditioned else None
    return empty_caption_note(empty, len(data), cfg.task, empty_caption_example(data)) if empty else None


def data_fingerprint(data) -> dict:
    """What a checkpoint records of the data it trained on: the item count and a sha256 of each
    item's identity (a manifest clip's ``clip_id``, ``source`` and span; a file's path; a cache
    item's sources as its shard records them; nothing for drawn items). No media is read,
    and a manifest's captions or motion scores do not count: the items are the same clips."""
    keys = _item_keys(data)
    return {"items": len(data), "sha256": hashlib.sha256(json.dumps(keys, default=str).encode()).hexdigest()}


def _item_keys(data) -> list:
    from video.training.buckets import Bucketed
    from video.training.cache import LatentCache
    from video.training.data import Concat, ManifestClips

    if isinstance(data, Bucketed):
        base = _item_keys(data.base)
        return [base[i] for i in data.index]
    if isinstance(data, Concat):
        return [[k, key] for k, p in enumerate(data.parts) for key in _item_keys(p)]
    if isinstance(data, ManifestClips):
        cols = [c for c in ("clip_id", "source", "start_frame", "end_frame") if c in data.rows]
        return data.rows[cols].astype(str).values.tolist()
    if isinstance(data, LatentCache):
        stored = _cache_sources(data)
        return [stored[k] if k < len(stored) else [] for k in map(data.stored, range(len(data)))]
    if hasattr(data, "sources"):
        return [[str(s) for s in data.sources(i)] for i in range(len(data))]
    return [[] for _ in range(len(data))]


def _cache_sources(cache) -> list:
    """Per stored item of a cache: the paths and manifest row hashes its shard header records
    (sizes and modification times left out: a copy of the same files is the same data)."""
    from safetensors import safe_open

    from video.training.cache import shard_path

    out: list = []
    for s in range(cache.index.get("shards", 0)):
        try:
            with safe_open(str(shard_path(cache.folder, s)), framework="pt") as f:
                meta = f.metadata() or {}
        except Exception:  # noqa: BLE001 - a shard the run cannot read fails where it loads, in its words
            return out
        positions = json.loads(meta.get("positions", "[]"))
        read = json.loads(meta["sources"]) if "sources" in meta else [[] for _ in positions]
        out += [[f[2] if f[0] == "row" else f[0] for f in item] for item in read]
    return out
