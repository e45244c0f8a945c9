"""Reading videos with PyAV: probing, whole clips with their frame times, and frames by index
on the source's nominal grid (the numbering of cut detection and curation manifests).

Every frame comes back upright (:func:`video.media.display.upright`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from video.media.display import hdr_transfer, rotation_of, sar_of, upright
from video.media.errors import MediaError

ATTACHED_PIC = 1024  # AV_DISPOSITION_ATTACHED_PIC: cover art stored as a one-frame video stream


def video_stream(container, path: str | Path | None = None):
    """A PyAV container's first video stream that is not an attached picture (an MP4 or MKV may
    carry cover art as a video stream, even before the video). MediaError if there is none."""
    for s in container.streams.video:
        if not int(s.disposition) & ATTACHED_PIC:
            return s
    raise MediaError(f"{path or container.name}: no video stream")


def grid_frames(path: str | Path, start: int, end: int, fps: float,
                hold: bool = False) -> Iterator[tuple[int, object]]:
    """The decoded frames numbered ``start <= i < end`` on the source's nominal frame grid, in
    order: a frame is number ``round((pts - start_time) * fps)`` (seconds), the numbering the cut
    detector and the manifest use. On a variable-rate source two frames can share a number
    (both are yielded) and a number can have no frame. A seek that lands past ``start``
    (MPEG-TS and -PS seek by byte estimates) or after which nothing decodes is retried 10 s
    further back, then from the file's start, so no frame of the range is silently lost.
    Frames without timestamps (raw elementary streams) are numbered by count from the file's
    start, as the cut detector numbers them. ``hold``: where no frame has number ``start`` (a
    gap in a variable-rate source), the frame on screen at that time, the last one before it,
    comes first, numbered ``start``; and the first frame past the range comes last (numbered
    ``>= end``), so the caller knows the source reaches ``end`` and a gap at the range's end
    is a gap, not the end of the file."""
    import av

    for back in (0.0, 10.0, None):
        with av.open(str(path)) as c:
            s = video_stream(c, path)
            s.thread_type = "AUTO"
            tb, t0 = float(s.time_base), s.start_time or 0
            if start > 0 and back is not None:
                try:
                    c.seek(int(t0 + max(0.0, start / fps - back) / tb), stream=s, backward=True)
                except av.error.FFmpegError:  # not seekable (a raw stream): decode from the start
                    continue
            landed, before = None, None  # whether the first frame after the seek is at or before ``start``
            for n, frame in enumerate(c.decode(s)):
                if frame.pts is not None:
                    i = round((frame.pts - t0) * tb * fps)
                elif back is None or start == 0:  # no timestamps (a raw stream): numbered by count
                    i = n
                else:
                    break  # counting needs the file's start
                if landed is None:
                    landed = i <= start or back is None or start == 0
                    if not landed:
                        break  # past the range's first frame: seek further back
                if i < start:
                    before = frame
                    continue
                if hold and before is not None and i > start:
                    yield start, before
                before = None
                if i >= end:
                    if hold:
                        yield i, frame
                    return
                yield i, frame
            if landed:
                return  # else nothing came out after the seek (MPEG-TS near its end), or it went past


def read_grid_frames(path: str | Path, indices: list[int], fps: float) -> np.ndarray:
    """uint8 (len(indices), H, W, 3), upright: frame ``i`` is what is on screen at ``i / fps``
    seconds (:func:`grid_frames` with gaps held), the numbering of curation manifests. Decodes
    only from the keyframe before the first index to the last, never the whole file."""
    import av

    lo, hi = min(indices), max(indices) + 1
    if lo < 0:
        raise MediaError(f"{path}: frame index {lo} is negative")
    wanted = sorted(set(indices))
    chosen: dict[int, object] = {}  # wanted index -> the frame on screen then (only these are converted)
    last, last_i, k = None, lo - 1, 0  # the latest frame in the range, its number, the next wanted index
    try:
        for i, frame in grid_frames(path, lo, hi, fps, hold=True):
            while k < len(wanted) and wanted[k] < i:  # wanted slots before this frame hold the last one
                chosen[wanted[k]] = last if last is not None else frame
                k += 1
            if last_i < i < hi:  # on a shared slot the first frame stands
                last, last_i = frame, i
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: decoding frames {lo}..{hi} failed ({e.__class__.__name__})") from None
    if last is None:
        raise MediaError(f"{path}: no frames decoded in [{lo}, {hi})")
    if i < hi - 1:
        raise MediaError(f"{path}: the video ends at frame {i}; frame {hi - 1} was asked for")
    for w in wanted[k:]:
        chosen[w] = last
    rgb = {id(f): upright(f) for f in chosen.values()}
    return np.stack([rgb[id(chosen[w])] for w in indices])


def header_frames(path: str | Path) -> tuple[int, float | None]:
    """(frame count, fps) from the container's header, decoding nothing: the stored count, else
    duration x frame rate (WebM and Matroska store no count; :func:`probe_video` decodes the
    whole file to count those). (0, None) when the header tells neither; a MediaError when the
    file is not a readable video. For checks over many files, where an estimate will do."""
    import av

    path = Path(path)
    try:
        with av.open(str(path)) as c:
            s = video_stream(c, path)
            rate = s.average_rate or s.guessed_rate
            fps = float(rate) if rate else None
            if s.frames:
                return int(s.frames), fps
            seconds = float(s.duration * s.time_base) if s.duration and s.time_base else (
                c.duration / 1_000_000 if c.duration else None)
            return (round(seconds * fps) if seconds and fps else 0), fps
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: not a readable video ({e.__class__.__name__})") from None


def probe_video(path: str | Path) -> dict:
    """Container, codec, coded size, frame count, fps, duration, display rotation (degrees
    counterclockwise, from the first frame: phones store portrait video as landscape plus a
    rotation) and pixel aspect ratio (``sar``, :func:`sar_of`) of a video, read with PyAV."""
    import av

    path = Path(path)
    try:
        with av.open(str(path)) as c:
            s = video_stream(c, path)
            frames, turn = s.frames, 0
            if frames:
                try:
                    first = next(iter(c.decode(s)), None)
                    turn = rotation_of(first) if first is not None else 0
                except av.error.FFmpegError:
                    pass  # the header's count stands; damage shows where the frames are read
            else:  # some containers do not store the count: decode to count
                for f in c.decode(s):
                    turn = rotation_of(f) if frames == 0 else turn
                    frames += 1
            rate = s.average_rate or s.guessed_rate
            return {
                "path": str(path),
                "container": c.format.name,
                "codec": s.codec_context.name,
                "width": s.codec_context.width,
                "height": s.codec_context.height,
                "pix_fmt": s.codec_context.pix_fmt,
                "num_frames": int(frames),
                "fps": float(rate) if rate else None,
                "duration": float(c.duration / 1_000_000) if c.duration else None,
                "rotation": turn,
                "sar": sar_of(s, turned=turn in (90, 270)),
            }
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: not a readable video ({e.__class__.__name__})") from None


def read_video(path: str | Path, max_frames: int | None = None) -> np.ndarray:
    """The frames of a video as uint8 (F, H, W, 3), upright (:func:`upright`: turned and
    mirrored by the display matrix phones store portrait video with, as a player shows it and
    as :func:`read_grid_frames` reads; for a 90 or 270 degree rotation H and W are
    :func:`probe_video`'s coded ``width`` and ``height``); ``max_frames``: only the first ones,
    decoding no further (``--frames 2`` of a long clip used to hold all of it). A missing or
    unreadable file is a MediaError; HDR is one warning line (:func:`read_video_timed`)."""
    return read_video_timed(path, max_frames)[0]


def read_video_timed(path: str | Path, max_frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`read_video`'s frames and each one's time in seconds from the video's start
    (its presentation timestamp; frames without one are placed after the last at the stream's
    average rate), so a writer can keep a variable-rate source's timing
    (:func:`write_video`'s ``times``). HDR input (PQ or HLG) is read as its code values, with
    no tone mapping to SDR: one warning line says so, as the output looks washed out."""
    import av

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"video {path} not found")
    frames, times = [], []
    try:
        with av.open(str(path)) as c:
            s = video_stream(c, path)
            tb = float(s.time_base) if s.time_base else 0.0
            rate = float(s.average_rate or s.guessed_rate or 0) or 25.0
            t0 = None
            for f in c.decode(s):
                if max_frames is not None and len(frames) >= max_frames:
                    break
                if not frames and (kind := hdr_transfer(f)):
                    warnings.warn(f"{path.name} is {kind}: it is read without tone mapping or gamut conversion, "
                                  f"so what is written from it (SDR BT.709) looks washed out", stacklevel=3)
                if f.pts is not None and tb:
                    t0 = f.pts if t0 is None else t0
                    times.append((f.pts - t0) * tb)
                else:
                    times.append(times[-1] + 1.0 / rate if times else 0.0)
                frames.append(upright(f))
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: not a readable video ({e.__class__.__name__})") from None
    if not frames:
        raise MediaError(f"{path}: no video frames")
    return np.stack(frames), np.asarray(times, dtype=np.float64)
