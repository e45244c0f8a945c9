"""Stage 1 of curation: discover videos and probe each one. A file that cannot be read
becomes a row with an ``error``, never a crashed run."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from video.media import MediaError, media_path, probe_video, video_stream

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".gif"}
# FFmpeg's still-image demuxers: image2, and the *_pipe ones (png_pipe, jpeg_pipe, ...): a photo
# renamed .mp4 probes as a one-frame "video"
IMAGE_CONTAINERS = ("image2",)
# macOS writes an AppleDouble sidecar ``._NAME`` (resource fork, a few KB of metadata) beside each
# file it copies to a non-Apple volume: ``._clip.mp4`` is no video (taken as a source, it was an error row)
SIDECAR_PREFIX = "._"
# A source is truncated or damaged when fewer frames decode than its container lists, by more
# than this share of them (and more than TRUNCATION_FRAMES): an edit list or a B-frame tail can
# lose a frame or two; a file cut off mid-download (moov first, mdat short) loses many.
TRUNCATION_SHARE = 0.05
TRUNCATION_FRAMES = 2
# Frames a full decode of a file cut short may read fewer than the packets it holds: the packet
# cut in two, and those the decoder held back for reordering when it failed on it (x264: 2-3)
TAIL_SLACK = 4


def is_video_name(name: str) -> bool:
    """Whether a file found in a folder scan is taken as a source: a video suffix, and not a
    macOS AppleDouble sidecar (:data:`SIDECAR_PREFIX`)."""
    return Path(name).suffix.lower() in VIDEO_SUFFIXES and not name.startswith(SIDECAR_PREFIX)


def path_bytes(path: str | Path) -> bytes:
    """The bytes of ``path``'s name: the same UTF-8 bytes as ``str.encode`` for every name that
    has them (part files are keyed by their hash, :func:`data_curation.manifest.source_key`), the
    file system's own bytes for a name Python decoded with surrogate escapes (``caf\\xe9.mp4`` from
    a Latin-1 archive, or any non-ASCII name under a C locale), which ``str.encode`` refuses."""
    text = str(path)
    try:
        return text.encode()
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate of another range (a Windows name): kept as it is
        return text.encode("utf-8", "surrogatepass")


def readable_path(path: str | Path) -> str:
    """``path`` as text a manifest (UTF-8 strings), JSON and a terminal hold: itself for a UTF-8
    name, bytes that are not UTF-8 written ``\\xNN``."""
    return path_bytes(path).decode("utf-8", "backslashreplace")


def name_error(path: str | Path) -> str | None:
    """``"PATH: file name is not valid UTF-8 ..."`` for a path that is no UTF-8 text (``PATH``
    :func:`readable_path`), None otherwise: the manifest's ``source`` column is UTF-8, so such a
    source is an error row, not scored (its name crashed the whole run). A name that is UTF-8 on
    disk but was decoded under a non-UTF-8 locale (``LC_ALL=C`` with ``PYTHONUTF8=0``) says so."""
    try:
        str(path).encode()
        return None
    except UnicodeEncodeError:
        pass
    raw = path_bytes(path)
    try:
        raw.decode()
    except UnicodeDecodeError:
        return (f"{readable_path(path)}: file name is not valid UTF-8, which the manifest cannot hold: rename it "
                "(each \\xNN is a byte that is not UTF-8, in the file's name or a folder's)")
    return (f"{readable_path(path)}: file name is UTF-8 but this locale reads file names as "
            f"{sys.getfilesystemencoding()}: run curate under a UTF-8 locale (LC_ALL=C.UTF-8 or PYTHONUTF8=1)")


def folder_error(path: str | Path) -> str | None:
    """``"PATH: a folder that cannot be read (Permission denied); its videos are left out"`` for
    a folder that cannot be listed (:func:`discover` yields such a folder met inside SRC, so that
    ``curate run`` counts it as a failed source, an error row, not a silent gap); None otherwise."""
    if not os.path.isdir(path):
        return None
    try:
        with os.scandir(path):
            pass
    except OSError as e:
        return f"{path}: a folder that cannot be read ({e.strerror or e}); its videos are left out"
    return None


def empty_error(path: str | Path) -> str | None:
    """``"PATH: empty file (0 bytes)"`` for a regular file of no bytes (an interrupted copy or
    download), which FFmpeg reports only as invalid data; an unreadable folder's
    :func:`folder_error`; None otherwise. The check before any probe (``curate run``'s error
    row, ``curate probe``'s and ``curate cuts``' error)."""
    if (folder := folder_error(path)) is not None:
        return folder
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


def decoded_short(listed: int, decoded: int) -> bool:
    """Whether ``decoded`` frames fall short of the ``listed`` count of the container by more
    than the tolerance (:data:`TRUNCATION_SHARE` of it, at least :data:`TRUNCATION_FRAMES`)."""
    return listed - decoded > max(TRUNCATION_FRAMES, TRUNCATION_SHARE * listed)


def truncated_error(path: str | Path, listed: int, readable: int) -> str | None:
    """``"PATH: truncated or damaged: R of the L frames its container lists can be read"`` when
    the ``readable`` frames (those a full decode reads before it stops, what a clip can hold)
    fall short of the ``listed`` ones (:func:`decoded_short`), None otherwise: one wording for
    ``curate run``'s error row, ``curate cuts``' warning and ``curate probe``'s error."""
    if not decoded_short(listed, readable):
        return None
    return f"{path}: truncated or damaged: {readable} of the {listed} frames its container lists can be read"


def tail_short(path: str | Path, listed: int) -> bool:
    """Whether the packets from the last keyframe on end so far short of the stream's listed end
    (or cannot be read) that its readable frames may be short (:func:`decoded_short`, with
    :data:`TAIL_SLACK` frames more lost in decoding): a cheap sign of a file cut short, read from
    its tail only (a seek), not the whole file. A file that lists no frame count or duration is
    never short here."""
    import av

    try:
        with av.open(media_path(path)) as c:
            s = video_stream(c, path)
            rate = s.average_rate or s.guessed_rate
            if not (listed and s.duration and s.time_base and rate):
                return False
            end = (s.start_time or 0) + s.duration
            c.seek(end, stream=s, backward=True)
            reach = max((p.pts + (p.duration or 0) for p in c.demux(s) if p.size and p.pts is not None), default=None)
    except (av.error.FFmpegError, MediaError):
        return True
    if reach is None:
        return True
    missing = max(0, round(float((end - reach) * s.time_base * rate)))
    return decoded_short(listed, listed - missing - TAIL_SLACK)


def _walk(top: Path, skip: set[str]) -> Iterator[Path]:
    """Video files under ``top``, following directory symlinks (``Path.rglob`` does not on
    Python 3.11, while it follows file links: a linked folder of footage was silently empty).
    Each real folder is walked once (its resolved path is remembered), so a link loop ends and a
    folder linked twice is not curated twice; folders whose resolved path is in ``skip`` are
    left out, and so are macOS sidecars ``._NAME`` (:func:`is_video_name`). A folder that cannot
    be listed (no read permission) is yielded itself, after the videos, to become an error row
    (:func:`folder_error`): skipped, its videos went missing from a run that exited 0."""
    seen: set[str] = set()
    unreadable: dict[str, Path] = {}  # by resolved path: a folder linked twice is one row

    def note(e: OSError) -> None:
        if e.filename is not None:
            unreadable.setdefault(os.path.realpath(e.filename), Path(os.fsdecode(e.filename)))

    for root, dirs, files in os.walk(top, followlinks=True, onerror=note):
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
    yield from unreadable.values()


def discover(paths: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Files given directly, and video files found recursively under given folders (directory
    symlinks followed), sorted; nothing under the folders ``exclude`` (the run's own outputs:
    ``OUT/clips`` would otherwise become sources when OUT lies inside SRC; a user's folder
    inside OUT is searched). A broken symlink is kept, to become an error row. A file named
    directly is taken whatever its name; a folder scan skips macOS sidecars ``._NAME``. A folder
    given that cannot be read is an OSError, "cannot read folder PATH: Permission denied" (it
    said "no videos found"); one inside is yielded, to become an error row (:func:`_walk`)."""
    skip = {os.path.realpath(e) for e in exclude}
    for p in map(Path, paths):
        if p.is_dir():
            try:
                with os.scandir(p):
                    pass
            except OSError as e:
                raise type(e)(f"cannot read folder {p}: {e.strerror or e}") from None
            yield from sorted(_walk(p, skip))
        else:
            yield p


def short_error(path: str | Path, info: dict) -> str | None:
    """``curate run``'s error for a file cut short (:func:`truncated_error`), or None. Only a
    file whose tail looks short (:func:`tail_short`, a seek) is decoded, to count its readable
    frames as ``curate run`` does; damage inside a file whose tail is whole shows in ``curate run``."""
    if not tail_short(path, info["num_frames"]):
        return None
    from data_curation.cut_features import frame_features

    try:
        readable = frame_features(path, "all").num_frames
    except MediaError as e:  # nothing decodes: curate run's error row says so in these words
        return str(e)
    return truncated_error(path, info["num_frames"], readable)


def probe_row(path: Path) -> dict:
    """What ``curate probe`` prints for one file: its probe, or ``path`` and an ``error``; an
    image renamed as a video, or a file cut short, keeps its probe (the container and codec say
    what it is, ``num_frames`` what its container lists) with the ``error`` ``curate run``
    records for it (:func:`image_error`, :func:`short_error`); a name the manifest cannot hold
    (:func:`name_error`) is that error, the path shown :func:`readable_path`."""
    shown, named = readable_path(path), name_error(path)
    if (empty := empty_error(path)) is not None:
        return {"path": shown, "error": named or empty}
    try:
        info = probe_video(path)
    except (MediaError, OSError) as e:
        return {"path": shown, "error": named or str(e)}
    return {**info, "path": shown, "error": named or image_error(path, info) or short_error(path, info)}


def key_shape(width: int, height: int, turned: bool) -> tuple[int, int]:
    """The (height, width) of a ``width`` x ``height`` frame as the scorers keep it for a key frame
    (:func:`data_curation.clip_frames.read_clip`: upright, a quarter ``turned`` or not, brought
    within ``KEY_MAX_SIDE``): what :func:`clip_size` compares a clip's first key frame with."""
    from data_curation.clip_frames import KEY_MAX_SIDE

    h, w = (width, height) if turned else (height, width)
    scale = KEY_MAX_SIDE / max(h, w)
    return (round(h * scale), round(w * scale)) if scale < 1 else (h, w)


def clip_size(path: str | Path, start: int, fps: float, key_shape_seen: tuple[int, ...], info: dict,
              threads: int = 0) -> tuple[int, int]:
    """The coded (width, height) of the frames of the clip that starts at frame ``start``. The
    header's (``info``, :func:`video.media.probe_video`) is the first frame's: a stream whose
    picture changes size (a concatenation of 4:3 and 16:9 parts, cut into a shot each) gave
    every clip the first part's. Told apart at no cost where the size is the header's:
    ``key_shape_seen``, the shape of the clip's first key frame as the scorers decoded it
    (``ClipFrames.keys[0]``), is then the one :func:`key_shape` gives; only where it is not is
    the clip's first frame decoded once more, for its own size. Not seen: a change that keeps
    the picture's shape with both sizes above ``KEY_MAX_SIDE`` (1280x720 to 1920x1080), which the
    scorers' frames, all scaled, leave no trace of."""
    from video.media import grid_frames

    turned = int(info.get("rotation") or 0) % 180 == 90
    if tuple(key_shape_seen[:2]) == key_shape(info["width"], info["height"], turned):
        return info["width"], info["height"]
    for _, frame in grid_frames(path, start, start + 1, fps, hold=True, threads=threads):
        return frame.width, frame.height
    raise MediaError(f"{path}: no frame decoded at frame {start}")
