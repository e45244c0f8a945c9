"""Stage 1 of curation: discover videos and probe each one. A file that cannot be read
becomes a row with an ``error``, never a crashed run."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from video.media import MediaError, probe_video

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".gif"}


def discover(paths: Iterable[str | Path], exclude: str | Path | None = None) -> Iterator[Path]:
    """Files given directly, and video files found recursively under given folders, sorted;
    nothing under ``exclude`` (the run's OUT, whose clip files would otherwise become sources
    when OUT lies inside SRC). A broken symlink is kept, to become an error row."""
    skip = os.path.abspath(exclude) + os.sep if exclude is not None else None
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.suffix.lower() in VIDEO_SUFFIXES
                              and (q.is_file() or (q.is_symlink() and not q.exists()))
                              and not (skip and (os.path.abspath(q) + os.sep).startswith(skip)))
        else:
            yield p


def probe_row(path: Path) -> dict:
    try:
        return {**probe_video(path), "error": None}
    except (MediaError, OSError) as e:
        return {"path": str(path), "error": str(e)}
