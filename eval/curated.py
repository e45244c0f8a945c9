"""Curated clips as videos: ``video eval --reference`` takes a ``curate run`` manifest
(``OUT/manifest.parquet``) or its OUT folder, and reads each kept clip as training reads it:
its extracted file when curate wrote one (``split.extract=true``), else its span
[start_frame, end_frame) of its source (by reference, both shipped recipes' default), each
named by its ``clip_id``, so a render named ``<clip_id>.mp4`` pairs with its row. Reading
through :class:`video.training.data.ManifestClips` keeps one rule for which rows are kept,
where their media is and which frames a span holds."""

from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MANIFEST_NAME = "manifest.parquet"  # what `curate run VIDEOS... --out OUT` writes into OUT


@dataclass(frozen=True)
class CuratedClip:
    """One kept row of a manifest, read only when scored (as a video file is)."""

    name: str  # clip_id: the name a generated video pairs by
    media: Path  # its extracted clip file, else its source
    start: int  # the span [start, end): frame numbers on the source's grid, or of the clip file
    end: int
    fps: float  # the source's rate, the rate of its extracted clip too
    by_reference: bool  # read from the source (its grid at ``fps``), not from a clip file
    height: int  # as shown: a 90 / 270 degree rotation read upright
    width: int  # as shown: an anamorphic clip's coded width times its pixel aspect
    pixel_aspect: float = 1.0  # a pixel's width over its height (its SAR), as training reads it

    def __str__(self) -> str:
        return f"{self.media}[{self.start}:{self.end}]"


def manifest_of(path: str | Path) -> Path | None:
    """The manifest ``path`` names, or None when it names videos: a ``.parquet`` file, or a
    folder holding ``manifest.parquet`` and no videos (``curate run``'s OUT folder; a folder of
    videos stays one, whatever else it holds)."""
    from eval.inputs import VIDEO_SUFFIXES, _is_png_folder

    p = Path(path)
    if p.is_file() and p.suffix.lower() == ".parquet":
        return p
    if not p.is_dir() or not (p / MANIFEST_NAME).is_file() or _is_png_folder(p):
        return None
    videos = (c for c in p.iterdir() if not c.name.startswith(".")
              and ((c.is_file() and c.suffix.lower() in VIDEO_SUFFIXES) or _is_png_folder(c)))
    return None if any(videos) else p / MANIFEST_NAME


def curated_clips(manifest: Path) -> dict[str, CuratedClip]:
    """clip_id -> :class:`CuratedClip` of every kept row training would read (no error, usable
    cells), in the manifest's order; nothing decoded (each media file's header is read once, for
    its pixel aspect: training scales an anamorphic clip as shown, so eval does). A file that is
    not a curate manifest, or one with no kept clips, is a one-line EvalError."""
    from eval.inputs import EvalError
    from video.media import plural
    from video.training.data import ManifestClips

    said = io.StringIO()
    try:  # its printed warnings speak of training (data.fps, replaced items): eval says its own
        with contextlib.redirect_stdout(said):
            ds = ManifestClips(manifest, frames=1, height=1, width=1, drop_short=False, drop_missing=False)
    except (ValueError, OSError) as e:  # a missing column or kept clip; pyarrow's ArrowInvalid is a ValueError
        raise EvalError(str(e)) from None
    if ds.unusable:
        print(f"warning: {manifest}: {plural(ds.unusable, 'kept clip')} with unusable cells (a missing span, "
              "source or fps) left out of the references", file=sys.stderr)
    if "clip_id" not in ds.rows:
        raise EvalError(f"{manifest}: no clip_id column to name its clips by (curate run writes one)")
    clips: dict[str, CuratedClip] = {}
    for i, row in enumerate(ds.rows.to_dict("records")):
        name = str(row["clip_id"])
        if name in clips:
            raise EvalError(f"{manifest}: two kept clips share the clip_id {name}; references pair by clip_id")
        plan = ds._plan(i)  # what training reads of the row: media, span, fps (one place, ManifestClips)
        _, h, w = ds.native_size(i)  # as shown: upright, and as wide as its pixel shape makes it
        clips[name] = CuratedClip(name, Path(plan["media"]), int(plan["start"]), int(plan["end"]),
                                  float(plan["fps"]), bool(plan["by_reference"]), int(h), int(w),
                                  ds.pixel_aspect(i))
    return clips


def clip_size(c: CuratedClip) -> tuple[int, int]:
    """(height, width) as shown (upright; an anamorphic clip as wide as a player shows it, as
    :func:`eval.inputs.align` scales it), from the manifest: checks before any scoring that the clip's
    media is there (a moved source is one line naming it and its clip)."""
    from video.media import MediaError

    if not c.media.is_file():
        raise MediaError(f"clip {c.name}: {'source' if c.by_reference else 'clip file'} {c.media} not found")
    return c.height, c.width


def read_clip(c: CuratedClip) -> tuple[np.ndarray, float]:
    """uint8 (F, H, W, 3) frames of the clip's span and its frame rate: training's reader
    (:func:`video.training.data.read_frames`), every frame of the span, upright."""
    from video.training.data import read_frames

    clip_size(c)
    return read_frames(c.media, list(range(c.start, c.end)), c.fps if c.by_reference else None), c.fps
