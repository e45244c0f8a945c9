"""Stage 1 of curation: discover videos and probe each one. A file that cannot be read
becomes a row with an ``error``, never a crashed run."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from video.media import MediaError, probe_video

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".gif"}
# FFmpeg's still-image demuxers: image2, and the *_pipe ones (png_pipe, jpeg_pipe, ...): a photo
# renamed .mp4 probes as a one-frame "video"
IMAGE_CONTAINERS = ("image2",)
# macOS writes an AppleDouble sidecar ``._NAME`` (resource fork, a few KB of metadata) beside each
# file it copies to a non-Apple volume: ``._clip.mp4`` is no video (taken as a source, it was an error row)
SIDECAR_PREFIX = "._"


def is_video_name(name: str) -> bool:
    """Whether a file found in a folder scan is taken as a source: a video suffix, and not a
    macOS AppleDouble sidecar (:data:`SIDECAR_PREFIX`)."""
    return Path(name).suffix.lower() in VIDEO_SUFFIXES and not name.startswith(SIDECAR_PREFIX)


def empty_error(path: str | Path) -> str | None:
    """``"PATH: empty file (0 bytes)"`` for a regular file of no bytes (an interrupted copy or
    download), which FFmpeg reports only as invalid data; None otherwise."""
    try:
        empty = os.path.isfile(path) and os.path.getsize(path) == 0
    except OSError:
        return None
    return f"{path}: empty file (0 bytes), not a video" if empty else None


def image_error(path: str | Path, info: dict) -> str | None:
    """``"PATH: not a video (an image: CONTAINER, CODEC)"`` when :func:`probe_video`'s ``info``
    is a still image's (:data:`IMAGE_CONTAINERS`), None otherwise. One check for ``curate probe``
    (which listed such a file as a one-frame video) and ``curate run`` (an error row)."""
    if info["container"] in IMAGE_CONTAINERS or info["container"].endswith("_pipe"):
        return f"{path}: not a video (an image: {info['container']}, {info['codec']})"
    return None


def _walk(top: Path, skip: set[str]) -> Iterator[Path]:
    """Video files under ``top``, following directory symlinks (``Path.rglob`` does not on
    Python 3.11, while it follows file links: a linked folder of footage was silently empty).
    Each real folder is walked once (its resolved path is remembered), so a link loop ends and a
    folder linked twice is not curated twice; folders whose resolved path is in ``skip`` are
    left out, and so are macOS sidecars ``._NAME`` (:func:`is_video_name`)."""
    seen: set[str] = set()
    for root, dirs, files in os.walk(top, followlinks=True):
        real = os.path.realpath(root)
        if real in seen or real in skip:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in sorted(dirs) if os.path.realpath(os.path.join(root, d)) not in seen | skip]
        for name in files:
            q = Path(root) / name
            if is_video_name(name) and (q.is_file() or (q.is_symlink() and not q.exists())):
                yield q


def discover(paths: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Files given directly, and video files found recursively under given folders (directory
    symlinks followed), sorted; nothing under the folders ``exclude`` (the run's own outputs:
    ``OUT/clips`` would otherwise become sources when OUT lies inside SRC; a user's folder
    inside OUT is searched). A broken symlink is kept, to become an error row. A file named
    directly is taken whatever its name; a folder scan skips macOS sidecars ``._NAME``."""
    skip = {os.path.realpath(e) for e in exclude}
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(_walk(p, skip))
        else:
            yield p


def probe_row(path: Path) -> dict:
    """What ``curate probe`` prints for one file: its probe, or ``path`` and an ``error``; an
    image renamed as a video keeps its probe (the container and codec say what it is) with the
    ``error`` ``curate run`` records for it (:func:`image_error`)."""
    if (empty := empty_error(path)) is not None:
        return {"path": str(path), "error": empty}
    try:
        info = probe_video(path)
    except (MediaError, OSError) as e:
        return {"path": str(path), "error": str(e)}
    return {**info, "error": image_error(path, info)}
