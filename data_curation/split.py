"""Shots -> clips: short shots dropped, long ones split, clip files written only on request.

By default a clip is only a reference (source path + frame range): no bytes are copied. With
``extract`` a clip file is written with PyAV, by stream copy where the clip's packets are a
self-contained run (no quality loss, ~free) and by re-encoding otherwise (frame-exact).
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import numpy as np

from video.media import (
    MediaError,
    apply_ops,
    display_matrix,
    display_ops,
    grid_frames,
    media_path,
    sar_of,
    video_stream,
)
from video.media.display import to_rgb24

QUARTER_TURNS = ("transpose", "clock", "cclock")  # display ops that swap a frame's width and height
# The temporary name extract_clip writes the clip ``STEM.mp4`` under: ``.STEM.PID.partial.mp4``, PID
# the writer's process id, as Parquet temporaries are named (data_curation.manifest.TEMP_NAME): the
# tasks of a killed Ray run go on for a while, and a rerun's task extracting the same clip then
# wrote the same fixed ``.STEM.partial.mp4`` at once (one renamed the other's half-written file)
CLIP_TEMP = re.compile(r"\.(?P<stem>.+)\.(?P<pid>\d+)\.partial\.mp4")


def clip_temp(dest: Path) -> Path:
    """This process's temporary name for the clip file ``dest`` (:data:`CLIP_TEMP`)."""
    return dest.with_name(f".{dest.stem}.{os.getpid()}.partial.mp4")


_LISTED: dict[str, tuple[float, dict[str, set[str]]]] = {}  # folder -> (when listed, clip stem -> temporaries)
RELIST_S = 60.0  # a folder's temporaries are listed again after this long (a long-lived process runs anew)


def _clip_temps(folder: Path) -> dict[str, set[str]]:
    """The clip temporaries (:data:`CLIP_TEMP`) in ``folder`` by clip stem, listed once per
    process per :data:`RELIST_S`: listing ``OUT/clips`` (thousands of clips) for each clip
    made extraction quadratic. A killed run's temporaries are there before this process
    starts, so the first listing has them."""
    key, now = os.path.abspath(folder), time.monotonic()
    listed = _LISTED.get(key)
    if listed is None or now - listed[0] >= RELIST_S:
        temps: dict[str, set[str]] = {}
        try:
            with os.scandir(folder) as it:
                for e in it:
                    if e.name.startswith(".") and (m := CLIP_TEMP.fullmatch(e.name)):
                        temps.setdefault(m["stem"], set()).add(e.name)
        except OSError:
            pass
        listed = _LISTED[key] = (now, temps)
    return listed[1]


def remove_stale_clip_temps(dest: Path) -> list[Path]:
    """Delete the temporaries of ``dest`` (:data:`CLIP_TEMP`) whose writer no longer runs on this
    host (a killed run's), before this process writes its own; a running writer's stays (a
    killed run's task still going: it renames or deletes its own). Returns those deleted."""
    from data_curation.engine import _runs_here  # the one PID check, shared with the Parquet temporaries

    names = _clip_temps(dest.parent).get(dest.stem, set())
    removed = []
    for name in sorted(names):  # a copy: threads may share the set
        f = dest.parent / name
        if not _runs_here(int(CLIP_TEMP.fullmatch(name)["pid"])) and f.is_file() and not f.is_symlink():
            f.unlink(missing_ok=True)
            removed.append(f)
        if not f.exists():
            names.discard(name)
    return removed


def plan_clips(shots: list[list[int]], fps: float, min_s: float, max_s: float, trim_s: float = 0.0) -> list[tuple[int, int]]:
    """Clip frame ranges ``[start, end)``: each shot trimmed by ``trim_s`` at both ends, dropped if
    shorter than ``min_s``, cut into consecutive pieces of ``max_s`` (a last piece shorter than
    ``min_s`` is dropped). Non-finite or negative lengths are a ValueError (a NaN or infinite
    length cannot be counted in frames; a negative trim would cross the cut)."""
    if not all(math.isfinite(x) for x in (fps, min_s, max_s, trim_s)) or min(fps, max_s, trim_s) < 0 or max_s == 0:
        raise ValueError(f"clip lengths must be finite, max_s > 0, trim_s >= 0 (fps={fps}, min_s={min_s}, "
                         f"max_s={max_s}, trim_s={trim_s})")
    lo, hi, trim = round(min_s * fps), max(1, int(max_s * fps)), round(trim_s * fps)
    out = []
    for s, e in shots:
        s, e = s + trim, e - trim
        for a in range(s, e, hi):
            b = min(a + hi, e)
            if b - a >= max(lo, 1):
                out.append((a, b))
    return out


def keyframes(path: str | Path) -> list[int]:
    """Frame indices of the keyframes, from packet flags (demux only, no decoding)."""
    import av

    with av.open(media_path(path)) as c:
        s = video_stream(c, path)
        rate = s.average_rate or s.guessed_rate
        fps, tb, t0 = float(rate), float(s.time_base), s.start_time or 0
        return sorted(round((p.pts - t0) * tb * fps) for p in c.demux(s) if p.is_keyframe and p.pts is not None)


def extract_clip(src: str | Path, start: int, end: int, fps: float, dest: str | Path,
                 keyframe_set: set[int] | None = None, turn: tuple[str, ...] | None = None) -> tuple[Path, str]:
    """Write frames ``[start, end)`` of ``src`` (numbered on the source's nominal frame grid, as
    the manifest numbers them) to ``dest``, an mp4 written under a temporary name and renamed.
    Returns the path and the method used:

    - ``copy``: the packets themselves, when ``start`` is a keyframe and the packets from it up
      to the first one shown at or after ``end`` (in decode order) are exactly the frames
      ``start .. end - 1``, each once: then no frame before ``end`` references one after it.
      B-frames shown before ``end`` but stored after a later frame, open GOPs, a variable frame
      rate, or a codec mp4 cannot hold all fail that test and fall back to
    - ``encode``: the frames decoded and encoded again (H.264, CRF 18), one per grid slot at the
      source's nominal rate: on a variable-rate source a slot without a frame of its own repeats
      the last one, so the clip always has ``end - start`` frames.

    Either way the clip keeps the source's pixel shape (SAR, :func:`_source_sar`): training
    stretches anamorphic frames by it, so a clip tagged square would be learnt squeezed.

    A source with a rotation in its metadata (phones filming upright) is always re-encoded,
    turned upright, as ``ffmpeg`` shows it: a copy would keep the rotation as metadata, which
    readers that take the coded pixels (PyAV, and so our trainer) ignore. The written file's
    frame count is checked (a copy's by decoding it: short, it is re-encoded instead); a
    mismatch is a MediaError. The temporary name has the process id (:data:`CLIP_TEMP`); those
    of ``dest`` that killed writers left are deleted first (:func:`remove_stale_clip_temps`)."""
    import av

    if end <= start or start < 0:
        raise MediaError(f"{src}: frame range [{start}, {end}) is empty or negative")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_clip_temps(dest)
    tmp = clip_temp(dest)
    try:
        # ``turn``: the source's display operations (:func:`display`), if the caller knows them
        turn = display(src) if turn is None else tuple(turn)
        method = "copy" if (keyframe_set is not None and start in keyframe_set and not turn
                            and _copy(src, start, end, fps, tmp) and _decoded(tmp) == end - start) else None
        if method is None:
            _encode(src, start, end, fps, tmp, turn)
            method = "encode"
        with av.open(media_path(tmp)) as c:
            written = sum(1 for p in c.demux(video_stream(c, tmp)) if p.size)
        if written != end - start:
            raise MediaError(f"{dest.name}: wrote {written} frames, expected {end - start}")
        os.replace(tmp, dest)
    except av.error.FFmpegError as e:
        raise MediaError(f"{src}: extracting frames {start}..{end} failed ({e.__class__.__name__}: {e})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest, method


def _decoded(path: Path) -> int:
    """Frames a player gets from ``path`` (a copy's packets can all be there and one frame still
    be lost to its timestamps); 0 when it does not decode."""
    import av

    try:
        with av.open(media_path(path)) as c:
            return sum(1 for _ in c.decode(video_stream(c, path)))
    except av.error.FFmpegError:
        return 0


def display(src: str | Path) -> tuple[str, ...]:
    """The turns and mirrors (:func:`video.media.display_ops`) that the source's display matrix
    asks for, read from the first decoded frame; () when there is none. A mirror counts: read as
    a rotation angle alone (PyAV says 180) it was written upside down, unlike what a player,
    our scorers and the trainer show."""
    import av

    with av.open(media_path(src)) as c:
        for frame in c.decode(video_stream(c, src)):
            return tuple(display_ops(display_matrix(frame)))
    return ()


def _copy(src: str | Path, start: int, end: int, fps: float, tmp: Path) -> bool:
    """Remux the packets of frames ``[start, end)`` if they are a self-contained run (see
    :func:`extract_clip`); False, with nothing written, where they are not."""
    import av

    with av.open(media_path(src)) as c:
        s = video_stream(c, src)
        tb, t0 = float(s.time_base), s.start_time or 0
        try:
            c.seek(int(t0 + start / fps / tb), stream=s, backward=True)
        except av.error.FFmpegError:  # not seekable (a raw stream): re-encode
            return False
        run, found = [], False
        for p in c.demux(s):
            if p.pts is None or not p.size:
                if p.size:
                    return False  # no timestamps: frames cannot be placed
                continue
            i = round((p.pts - t0) * tb * fps)
            if not found:
                if p.is_keyframe and i == start:
                    found = True
                elif p.is_keyframe and i > start:
                    return False  # the seek went past it
                else:
                    continue  # landed before it (an edit list, or a seek index by decode time)
            elif i >= end:  # in decode order: a frame before ``end`` still to come fails the check below
                break
            run.append((i, p))
        if sorted(i for i, _ in run) != list(range(start, end)):
            return False
        try:
            with av.open(media_path(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as o:
                out = o.add_stream_from_template(s)
                # decode times made anew: the k-th smallest pts, less the largest reordering delay
                # (Matroska stores none for some packets; the mp4 muxer's guess gave two the same)
                shown = sorted(p.pts for _, p in run)
                delay = max(0, *(t - p.pts for t, (_, p) in zip(shown, run, strict=True)))
                base = shown[0] - delay
                tick = max(1, round(1 / (fps * tb)))  # a frame's duration, where the source gives none
                for t, (_, p) in zip(shown, run, strict=True):
                    p.pts, p.dts = p.pts - base, t - delay - base
                    if not p.duration:  # else the mp4 edit list ends before the last frame, which is lost
                        p.duration = tick
                    p.stream = out
                    o.mux(p)
        except (av.error.FFmpegError, ValueError):  # a codec mp4 cannot hold (ProRes, GIF...)
            tmp.unlink(missing_ok=True)
            return False
    return True


def _encode(src: str | Path, start: int, end: int, fps: float, tmp: Path, turn: tuple[str, ...] = ()) -> None:
    """Frames ``[start, end)`` decoded on the grid (:func:`~video.media.grid_frames`)
    and encoded at the nominal rate, one frame per slot, turned and mirrored as ``turn``
    (:func:`display`) says; odd sizes are cropped to even. The stream is tagged with the
    source's pixel shape (:func:`_source_sar`)."""
    from fractions import Fraction

    import av

    sar = _source_sar(src, turn)
    with av.open(media_path(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as o:
        st, last, slot, covered = None, None, start, False
        for i, frame in grid_frames(src, start, end, fps, hold=True):
            if i >= end:  # the source goes on past the range: a gap before it is held
                covered = True
                break
            covered = i == end - 1
            if i < slot:  # a second frame on one slot (variable rate): the first one stands
                continue
            if turn:
                rgb = apply_ops(to_rgb24(frame), list(turn))
                frame = _from_rgb(rgb, "yuvj420p" if frame.format.name.startswith("yuvj") else "yuv420p", frame)
            if st is None:
                w, h = frame.width - frame.width % 2, frame.height - frame.height % 2
                if w < 2 or h < 2:
                    raise MediaError(f"{src}: frames of {frame.width}x{frame.height} are too small to encode")
            if (frame.width, frame.height) != (w, h):
                full = frame.format.name.startswith("yuvj")
                frame = _from_rgb(to_rgb24(frame)[:h, :w], "yuvj420p" if full else "yuv420p", frame)
            if st is None:
                st = o.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001 * 1000))
                st.width, st.height = w, h
                st.pix_fmt = "yuvj420p" if frame.format.name.startswith("yuvj") else "yuv420p"  # full range stays full
                # the colour tags of the frames written (the source's), which libx264 takes from the codec
                # context, not the frames; an RGB source's AVCOL_SPC_RGB (0) would call the YUV RGB
                cc = st.codec_context
                cc.colorspace, cc.color_range = frame.colorspace or 2, frame.color_range
                cc.color_primaries, cc.color_trc = frame.color_primaries, frame.color_trc
                st.options = {"crf": "18", "preset": "veryfast"}
                if sar is not None:
                    st.codec_context.sample_aspect_ratio = sar
            frame = frame.reformat(format=st.pix_fmt)
            while slot < i:  # slots with no frame of their own hold the last one (the first: this one)
                _put(o, st, last if last is not None else frame, slot - start)
                slot += 1
            _put(o, st, frame, slot - start)
            last, slot = frame, slot + 1
        if st is None:
            raise MediaError(f"{src}: no frames decoded in [{start}, {end})")
        if not covered:
            raise MediaError(f"{src}: the video ends at frame {slot - 1}, before the range's end {end}")
        while slot < end:
            _put(o, st, last, slot - start)
            slot += 1
        for pkt in st.encode(None):
            o.mux(pkt)


SWS_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9}  # AVColorSpace -> libswscale's SWS_CS_* (6, SMPTE 170M, is BT.601)


def _from_rgb(rgb: np.ndarray, pix_fmt: str, like):
    """``rgb`` (turned or cropped from the decoded frame ``like``) as a ``pix_fmt`` frame in
    ``like``'s matrix and range, and tagged with them and its primaries and transfer: converted
    back untagged, a BT.709 source's pixels were written in BT.601 (libswscale's default) and
    read back shifted by up to 33 levels. No matrix, or one missing from :data:`SWS_MATRIX`
    (YCgCo, BT.2020 constant luminance), is written BT.601 and left untagged, as before."""
    import av

    space = SWS_MATRIX.get(int(like.colorspace))
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    frame = frame.reformat(format=pix_fmt, dst_colorspace=space, dst_color_range=int(like.color_range) or None)
    frame.colorspace = like.colorspace if space is not None else 2  # AVCOL_SPC_UNSPECIFIED
    frame.color_range, frame.color_primaries, frame.color_trc = like.color_range, like.color_primaries, like.color_trc
    return frame


def _source_sar(src: str | Path, turn: tuple[str, ...]):
    """The source's sample aspect ratio as a Fraction, None for square or untagged pixels. A
    re-encode sets it anew (PyAV's encoder starts square), and a turn of a quarter
    (:data:`QUARTER_TURNS` in ``turn``) swaps it, as the clip's frames are stored upright."""
    from fractions import Fraction

    import av

    with av.open(media_path(src)) as c:
        sar = sar_of(video_stream(c, src), turned=any(op in QUARTER_TURNS for op in turn))
    return None if sar is None else Fraction(*(int(v) for v in sar.split(":")))


def _put(o, st, frame, pts: int) -> None:
    frame.pts, frame.time_base = pts, 1 / st.codec_context.framerate  # one tick a slot
    for pkt in st.encode(frame):
        o.mux(pkt)
