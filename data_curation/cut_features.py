"""The cut detector's per-frame features (a 32-px luma thumbnail, a luma and a joint U-V
histogram), decoded as fast as the file allows.

Decoding is nearly all the cost of cut detection (PySceneDetect pays it too, plus a full-size
BGR conversion), so this module decodes less and in parallel:

- no loop filter on frames nothing references (non-reference B-frames, in ``all`` mode: their
  block edges are a 32-px thumbnail's noise; reference frames keep it, :func:`_open`), and
  frames reduced straight from strided views of the Y/U/V planes: no colour conversion, no
  full-size resize (libswscale's own downscale to a small grey frame costs ~3x more than this);
- B-frames skipped when that is provably exact for the file (``decode="auto"``), else only the
  non-reference ones (``"ref"``); ``"all"`` decodes every frame;
- the file cut at keyframes into one segment per core, each decoded by its own single-threaded
  decoder in a thread (PyAV releases the GIL while decoding). FFmpeg's own frame threads scale
  poorly once frames are skipped: 1.3x on 2 cores for an x264 ``medium`` 720p file, against
  1.7-1.9x for two segments (bench/NOTES.md). A file with too few keyframes, or without
  timestamps, is decoded in one pass with frame threads. Either way the same frames are
  decoded, so the shots do not depend on the number of threads.

The luma histogram is taken at a normal exposure (:mod:`data_curation.luma`): a night shot
whose light flickers keeps its histogram.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_curation.bitstream import is_idr, nal_length_size, worth_checking, x264_options
from data_curation.frame_summary import Features, Reducer, fit_thumbs
from video.media import MediaError, media_path, video_stream
from video.media.read import decoder_threads

DECODE_MODES = ("auto", "ref", "all")
CHECK_FRAMES = 48  # frames decoded twice by ``auto`` to check that skipping B-frames is exact
MAX_SKIPPED = 4  # a sparse decode may leave out at most this many frames in a row
def _open(path: str | Path, skip: str, threads: int = 0):
    """A container and its first video stream, set up for fast decoding: frame threads (``threads``
    of them, 0 = FFmpeg's choice, 1 = none), no deblocking of frames no other frame references,
    and ``skip`` (an FFmpeg ``skip_frame`` level: DEFAULT, NONREF or BIDIR).

    Reference frames keep their loop filter: without it each prediction copies the last one's
    unfiltered blocks and the error grows over a GOP (testsrc2 at 320x240, x264 defaults: 3-6
    luma levels by frame 249), then an IDR picture snaps it back; that step looked like a cut at
    every keyframe of a long-GOP, low-bitrate clip (0.107 against ~0.02 a frame, 0.024 filtered).
    Filtering them costs ~20% more decoding (bench/NOTES.md)."""
    import av

    c = av.open(media_path(path))
    try:
        s = video_stream(c, path)
    except MediaError:
        c.close()
        raise
    decoder_threads(s, threads)
    s.codec_context.options = {"skip_loop_filter": "noref"}
    s.codec_context.skip_frame = skip
    return c, s


def _luma_crc(frame) -> int:
    """Checksum of the visible luma plane: two decodes of a frame agree bit for bit or not at all."""
    p = frame.planes[0]
    y = np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:frame.height, :frame.width]
    return zlib.crc32(np.ascontiguousarray(y))


def _max_skipped(idx: list[int]) -> int:
    """The longest run of frames a sparse decode left out between two decoded ones."""
    return int(np.diff(sorted(idx)).max()) - 1 if len(idx) > 1 else 0


class _Redo(Exception):
    """The opening of :func:`_segmented` found the file needs another decode: the caller does it."""


def _one_pass(path: str | Path, decode: str = "auto", threads: int = 0,
              hand_off: Callable[[int, str], int | None] | None = None) -> Features:
    """Decode ``path`` once, in one pass with frame threads, and reduce each decoded frame to the
    detector's features.

    ``decode``: ``all`` decodes every frame (frame-exact boundaries). ``ref`` skips frames no
    other frame references (non-reference B-frames): always bit-exact, about a third less work.
    ``auto`` also skips the B-frames that are references, which is only safe when no P-frame
    predicts from them (x264's ``ref=1`` presets and strict pyramids; not its default ``medium``):
    it decodes the opening frames both ways and keeps the sparser decode only if every frame they
    share is bit-identical and no more than :data:`MAX_SKIPPED` frames in a row are left out;
    otherwise it goes on as ``ref``. In the sparse modes a cut lies somewhere between two decoded
    frames, and the frames in between are given to neither shot. Where the opening frames of a
    sparse decode already leave wider gaps (long B-frame runs, or timestamps with holes in a
    variable-rate file), every frame is decoded instead. Frames are numbered on the nominal grid,
    ``round(time x fps)``, in every mode, as the clip reader and the manifest number them (by
    count only without timestamps); on a variable-rate source two frames on one slot keep the
    first. ``threads``: FFmpeg
    frame threads (0: its choice). A file that turns out damaged is decoded again with one
    thread, since where frame threads stop on damaged data depends on their timing.

    ``hand_off``: told the last frame number of the opening and the skip level chosen for the
    rest once they are known, it may return a keyframe's pts where this pass stops, the frames
    from there on being decoded by others (:func:`_segmented`); any decode again raises
    :class:`_Redo` instead.
    """
    import av

    if decode == "auto" and not worth_checking(x264_options(_first_packet(path))):
        decode = "ref"
    red, end = Reducer(), None
    containers = []
    try:
        c, s = _open(path, "DEFAULT" if decode == "all" else "NONREF", threads)
        containers.append(c)
        rate = s.average_rate or s.guessed_rate
        fps = float(rate) if rate else 25.0
        tb = float(s.time_base) if s.time_base else 1.0 / fps
        total = s.frames or 0
        t0: list[int] = [s.start_time] if s.start_time is not None else []  # the readers' origin (video.media.grid_frames)

        def at(frame) -> int:
            if frame.pts is None:  # no timestamps (a raw stream): by count
                return len(red)
            t0[:] = t0 or [frame.pts]
            return round((frame.pts - t0[0]) * tb * fps)

        frames = _until_damaged(c.decode(s), red)
        if decode != "all":
            crcs: dict[int, int] = {}
            for frame in frames:
                if frame.pts is None:  # no timestamps (a raw elementary stream): skipped frames can't be placed
                    return _redo(hand_off, path, threads)
                crcs[frame.pts] = _luma_crc(frame)
                red.add(frame, at(frame))
                if len(red) >= CHECK_FRAMES:
                    break
            if _max_skipped(red.index) > MAX_SKIPPED:  # an odd stream, or gaps in the timestamps
                return _redo(hand_off, path, threads)
            sparse = None
            if decode == "auto" and len(red) >= CHECK_FRAMES:
                sparse = _sparser(path, containers, crcs, max(crcs), at, red, threads)
                frames = _until_damaged(sparse, red) if sparse is not None else frames
            if hand_off is not None and len(red) >= CHECK_FRAMES:
                end = hand_off(max(red.index), "NONREF" if sparse is None else "BIDIR")
        for frame in frames:
            if end is not None and frame.pts is not None and frame.pts >= end:
                break
            red.add(frame, at(frame))
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: not a readable video ({e.__class__.__name__})") from None
    finally:
        for c in containers:
            c.close()
    if red.damaged and (threads != 1 or decode != "all"):
        # decoded again with one thread, and every frame: a sparse decode's last frame may lie a few
        # skipped frames before where a full decode (the clip reader's) stops
        return _redo(hand_off, path, 1)
    if not len(red):
        raise MediaError(f"{path}: no decodable frames")
    # a damaged file ends where decoding stopped, whatever count its container claims
    num_frames = max(red.index) + 1 if red.damaged or decode == "all" else max(max(red.index) + 1, total)
    return red.features(fps, num_frames)


def _redo(hand_off, path: str | Path, threads: int) -> Features:
    if hand_off is not None:
        raise _Redo
    return _one_pass(path, "all", threads)


def _until_damaged(frames, red: Reducer):
    """The decoder's frames until it meets data it cannot read (a file cut short, a damaged
    tail): the frames before are kept, as a player shows them. An error before any frame is
    the file's error."""
    import av

    it = iter(frames)
    while True:
        try:
            frame = next(it)
        except StopIteration:
            return
        except av.error.FFmpegError:
            if len(red):
                red.damaged = True
                return
            raise
        yield frame


def _sparser(path, containers: list, crcs: dict[int, int], last_pts: int, at, red: Reducer, threads: int = 0):
    """Open a second decode that skips every B-frame, check it against the first over the opening
    frames, and return an iterator over its later frames if it is exact and dense enough."""
    c, s = _open(path, "BIDIR", threads)
    containers.append(c)
    frames = c.decode(s)
    shared: list[int] = []
    for frame in frames:
        if frame.pts is None or frame.pts > last_pts:
            if not shared or _max_skipped([*shared, at(frame)]) > MAX_SKIPPED:
                return None
            red.add(frame, at(frame))
            return frames
        if crcs.get(frame.pts) != _luma_crc(frame):
            return None
        shared.append(at(frame))
    return None



def _first_packet(path: str | Path) -> bytes:
    import av

    with av.open(media_path(path)) as c:
        try:
            s = video_stream(c, path)
        except MediaError:
            return b""
        for pkt in c.demux(s):
            return bytes(pkt)
    return b""


def frame_features(path: str | Path, decode: str = "auto", threads: int = 0) -> Features:
    """Decode ``path`` and reduce each decoded frame to the detector's features.

    ``decode``: ``all`` decodes every frame (frame-exact boundaries). ``ref`` skips frames no
    other frame references (non-reference B-frames): always bit-exact, about a third less work.
    ``auto`` also skips the B-frames that are references, which is only safe when no P-frame
    predicts from them (x264's ``ref=1`` presets and strict pyramids; not its default ``medium``):
    it decodes the opening frames both ways and skips every B-frame after them only if every
    frame both decodes share is bit-identical and no more than :data:`MAX_SKIPPED` frames in a row
    are left out; otherwise it goes on as ``ref``. In the sparse modes a cut lies somewhere
    between two decoded frames, and the frames in between are given to neither shot.

    ``threads``: decoders running at once (0: one per core available to this process; 1: one
    decoder in one thread, what a Ray task of one CPU gets, :func:`video.media.read.decoder_threads`). With
    more than one and enough keyframes, the file is cut at keyframes and the pieces decoded
    side by side (:func:`_segmented`); the result is the same as one pass in every mode
    (tests/data_curation/test_cut_features.py, test_cuts_threads.py).

    ``num_frames`` is the container's count where the file holds every frame it lists, else
    (a file cut short or damaged) the frames a full decode reads before it stops, in every mode:
    a sparse decode of such a file is redone as ``all``, as only that shows where they end.
    """
    import av

    if decode not in DECODE_MODES:
        raise ValueError(f"decode must be one of {', '.join(DECODE_MODES)}, got {decode!r}")
    given, threads = threads, threads or _cores()
    try:
        f = _segmented(path, decode, threads) if threads > 1 else None
        # the one pass keeps the caller's count (a Ray task's 1: one decoder thread, not FFmpeg's ~1 per core)
        f = f if f is not None else _one_pass(path, decode, given)
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: not a readable video ({e.__class__.__name__})") from None
    if decode != "all" and f.num_frames > f.index[-1] + 1 and demuxed_packets(path) < f.num_frames:
        # cut short: the count is the container's, and skipped frames hide where the readable ones end
        return frame_features(path, "all", threads)
    return f


def frames_at(path: str | Path, frames: list[int], thumb_size: int | None = None) -> Features | None:
    """The features of the frames numbered ``frames`` (on the grid the decodes number by), each
    decoded as ``all`` decodes it: from the keyframe before it, the reference frames up to it and
    every frame from it on, thumbnails of ``thumb_size`` pixels (those of the decode they join).
    None where the file cannot be cut at keyframes (:func:`_scan`).

    Why: the hard-cut test compares a change with its neighbours' over the same frames, which a sparse
    decode guesses from samples further apart (``cuts._refined`` asks for those around a near miss)."""
    import av

    scan = _scan(path)
    if scan is None or scan.start is None or not frames:
        return None
    def number(pts: int) -> int:
        return int(_frame_numbers(scan, [scan.start], [pts])[0])

    key_no, red, by_key = _frame_numbers(scan, [scan.start], scan.keys), Reducer(), {}
    for n in sorted(set(frames)):
        by_key.setdefault(max(0, int(np.searchsorted(key_no, n, side="right")) - 1), []).append(n)
    for i, want in by_key.items():
        c, s = _open(path, "NONREF", 1)
        level, left, shown = "NONREF", set(want), -1
        try:
            for pkt in _from_keyframe(c, s, scan.keys[i] if i else None, scan.seek.get(scan.keys[i])):
                if level == "NONREF" and pkt.pts is not None and number(pkt.pts) >= want[0]:
                    s.codec_context.skip_frame = level = "DEFAULT"  # exact: nothing references a skipped frame
                for fr in pkt.decode():
                    shown = number(fr.pts) if fr.pts is not None else shown
                    if shown in left and fr.pts is not None and not fr.is_corrupt:
                        red.add(fr, shown)
                        left.discard(shown)
                if not left or shown > want[-1]:  # frames come out in display order
                    break
        except av.error.FFmpegError:
            pass  # a damaged stretch: the frames before it stand
        finally:
            c.close()
    return red.features(scan.fps, scan.frames, thumb_size) if len(red) else None


def demuxed_packets(path: str | Path) -> int:
    """Video packets with data that can be read from ``path`` (demux only, no decoding): a file
    cut short keeps its header's frame count but loses the packets past its end. An upper bound
    of the frames that decode (the last packet may be cut in two, and the frames the decoder held
    back for reordering when it failed on it are lost): only a full decode counts those."""
    import av

    n = 0
    try:
        with av.open(media_path(path)) as c:
            for p in c.demux(video_stream(c, path)):
                n += bool(p.size)
    except (av.error.FFmpegError, MediaError):
        pass
    return n


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class _Scan:
    """One demux pass over the video stream (no decoding: ~10 ms for a minute of 720p)."""

    keys: list[int]  # keyframe pts, in decode order
    seek: dict[int, int]  # keyframe pts -> the timestamp that seeks to it (its dts where it has one)
    key_ordinal: list[int]  # how many packets come before each keyframe
    key_bytes: list[int]  # how many bytes come before each keyframe
    packets: int
    nbytes: int
    fps: float
    time_base: float
    frames: int  # the container's frame count (0 when it has none)
    x264: dict[str, str]  # the encoder options x264 writes into the first frame, if it made the file
    closed: set[int]  # keyframes (pts) that no later frame shows before: H.264/HEVC IDR pictures
    start: int | None = None  # the stream's start_time: frame 0 of the grid the readers number on


def _scan(path: str | Path) -> _Scan | None:
    """Keyframe positions of the first video stream, or None when segments cannot be placed:
    a packet without a timestamp (raw elementary streams), keyframes out of order, or a file the
    demuxer cannot read to the end, or an MP4 whose index lists more samples than it holds (cut
    short: one pass decodes what is there, whatever the pieces' decoder threads would conceal)."""
    import av

    c = av.open(media_path(path))
    try:
        s = video_stream(c, path)
        rate = s.average_rate or s.guessed_rate
        fps = float(rate) if rate else 25.0
        keys, seek, ordinal, before, n, nbytes, x264, closed = [], {}, [], [], 0, 0, {}, set()
        nal_length = nal_length_size(s.codec_context.name, s.codec_context.extradata)
        packets = c.demux(s)
        while True:
            try:
                pkt = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError:
                return None
            if pkt.size == 0:  # the flush packet at the end
                continue
            if n == 0:
                x264 = x264_options(bytes(pkt))
            if pkt.pts is None:
                return None
            if pkt.is_keyframe:
                if keys and pkt.pts <= keys[-1]:
                    return None
                keys.append(pkt.pts)
                seek[pkt.pts] = pkt.dts if pkt.dts is not None else pkt.pts
                if is_idr(bytes(pkt), s.codec_context.name, nal_length):
                    closed.add(pkt.pts)
                ordinal.append(n)
                before.append(nbytes)
            n += 1
            nbytes += pkt.size
        if s.frames and n < s.frames and any(k in c.format.name for k in ("mp4", "mov")):
            # an MP4 cut short: its index (at the front) lists samples the file no longer holds,
            # and the demuxer stops at the end of the data without an error
            return None
        tb = float(s.time_base) if s.time_base else 1.0 / fps
        return _Scan(keys, seek, ordinal, before, n, nbytes, fps, tb, s.frames or 0, x264, closed, s.start_time)
    finally:
        c.close()


@dataclass
class _Piece:
    """The frames of one segment: reduced features keyed by pts, and luma checksums if asked."""

    red: Reducer
    crcs: dict[int, int]
    start: int | None
    corrupt: bool = False


def _decode_piece(path: str | Path, skip: str | Callable[[], str], start: int | None, end: int | None,
                  threads: int, crc: bool = False, max_packets: int | None = None, closed_end: bool = False,
                  seek: int | None = None) -> _Piece:
    """Frames with ``start <= pts < end`` (None: the file's start or end), decoded from the
    keyframe at ``start``. Ownership is by pts, so a frame is decoded by exactly one piece: after
    the keyframe at ``end`` this decoder is also fed the packets that follow it with smaller pts
    (an open GOP's leading pictures, which reference frames before ``end``), and the next piece
    drops those, as it cannot decode them; not when ``closed_end`` says ``end`` is an IDR picture,
    which has no such frames. ``max_packets`` stops feeding after that many. ``seek``: the
    keyframe's decode timestamp, for demuxers whose index is by decode time (:func:`_from_keyframe`).
    ``skip`` may be a function, asked again before every packet (the decoder reads its skip
    level frame by frame, so a switch holds from the next packet on)."""
    level = skip() if callable(skip) else skip
    c, s = _open(path, level, threads)
    red, crcs, bad = Reducer(), {}, []

    def keep(frames) -> None:
        for f in frames:
            if f.pts is not None and (start is None or f.pts >= start) and (end is None or f.pts < end):
                if f.is_corrupt:
                    bad.append(f.pts)
                red.add(f, f.pts)
                if crc:
                    crcs[f.pts] = _luma_crc(f)

    try:
        packets = _from_keyframe(c, s, start, seek)
        past, fed = False, 0
        for pkt in packets:  # ends with an empty packet, which drains the decoder
            if max_packets is not None and fed >= max_packets:
                keep(s.codec_context.decode(None))
                break
            fed += 1
            if callable(skip) and (now := skip()) != level:
                s.codec_context.skip_frame = level = now
            if end is not None and pkt.pts is not None:
                if pkt.pts == end and pkt.is_keyframe:
                    if closed_end:
                        keep(s.codec_context.decode(None))
                        break
                    past = True
                elif past and pkt.pts > end:
                    keep(s.codec_context.decode(None))
                    break
            keep(pkt.decode())
    finally:
        c.close()
    return _Piece(red, crcs, start, bool(bad))


def _from_keyframe(c, s, start: int | None, dts: int | None):
    """The stream's packets from the keyframe shown at ``start`` (None: from the beginning).
    Demuxers land near a seek target, not on it: MP4 with an edit list lands one keyframe early
    (the packets up to ``start`` are then skipped undecoded, which costs a read), and AVI, whose
    index is by decode time, lands on the next keyframe when B-frames delay presentation (then it
    seeks again by the keyframe's ``dts``). Nothing is yielded if neither finds it, and the
    caller's check that each piece holds its keyframe sends the file to one-pass decoding."""
    if start is None:
        yield from c.demux(s)
        return
    for ts in dict.fromkeys(t for t in (start, dts) if t is not None):
        c.seek(ts, stream=s, backward=True)
        it = c.demux(s)
        for pkt in it:
            if pkt.pts is None or pkt.pts < start:
                continue
            if pkt.pts == start and pkt.is_keyframe:
                yield pkt
                yield from it
                return
            break  # past it: the seek overshot


def _groups(scan: _Scan, first: int, n: int) -> list[tuple[int, int, float]]:
    """Keyframe intervals from key number ``first`` on, grouped into about ``n`` pieces of about
    equal decoding cost, as (first key, key after the last, cost). The cost model is fitted on
    single-threaded H.264 decoding of 720p montages (1 ms a packet plus 50 ns a byte)."""
    ends = [*scan.key_ordinal[1:], scan.packets], [*scan.key_bytes[1:], scan.nbytes]
    cost = [(ends[0][i] - scan.key_ordinal[i]) * 1e-3 + (ends[1][i] - scan.key_bytes[i]) * 5e-8
            for i in range(len(scan.keys))]
    target = sum(cost[first:]) / max(1, n)
    out, lo, acc = [], first, 0.0
    for i in range(first, len(cost)):
        acc += cost[i]
        if acc >= target or i == len(cost) - 1:
            out.append((lo, i + 1, acc))
            lo, acc = i + 1, 0.0
    return out


PIECES_PER_THREAD = 4  # pieces per decoder thread, handed out largest first: the threads finish together


def _segmented(path: str | Path, decode: str, threads: int) -> Features | None:
    """The file cut at keyframes into pieces decoded side by side, a few per thread, largest
    first, so that the threads finish together. None when it cannot be cut (too few keyframes,
    no timestamps) or a piece does not hold its own keyframe (a seek that missed it): the caller
    then decodes in one pass.

    ``auto`` decodes its opening as :func:`_one_pass` does (the frames with the reference
    B-frames, checked against a decode without any), in this thread, on up to the first keyframe
    after the check; the pieces from that keyframe on are handed out once the check has chosen
    what they skip. So the frames decoded are one pass's, whatever the number of threads: a Ray
    task (one decoder) cuts a file as a run on all cores does. (Pieces that set out before the
    verdict and dropped B-frames from then on decoded a set that depended on timing, and a check
    that ended at another frame than one pass's: shots moved with the thread count.)"""
    import av

    scan = _scan(path)
    if scan is None or len(scan.keys) < 2:
        return None
    if decode == "auto" and not worth_checking(scan.x264):
        decode = "ref"
    if decode == "auto" and scan.start is None:
        return None  # the opening and the pieces could count frames from different origins
    jobs: list = []
    with ThreadPoolExecutor(threads) as pool:

        def hand_out(first: int, level: str) -> None:
            groups = _groups(scan, first, PIECES_PER_THREAD * threads)
            per = max(1, threads // len(groups))
            key = [*scan.keys, None]
            bounds = [(key[i] if i else None, key[j]) for i, j, _ in groups]
            order = sorted(range(len(groups)), key=lambda g: -groups[g][2])
            out = {g: pool.submit(_decode_piece, path, level, *bounds[g], per, closed_end=bounds[g][1] in scan.closed,
                                  seek=scan.seek.get(bounds[g][0])) for g in order}
            jobs.extend(out[g] for g in range(len(groups)))

        def hand_off(last: int, level: str) -> int | None:
            first = max(1, int(np.searchsorted(_frame_numbers(scan, [scan.start], scan.keys), last, side="right")))
            if first >= len(scan.keys):
                return None
            hand_out(first, level)
            return scan.keys[first]

        opening = None
        if decode == "auto":
            try:
                opening = _one_pass(path, "auto", threads, hand_off)
            except _Redo:
                for j in jobs:
                    j.cancel()
                return None
        else:
            hand_out(0, {"all": "DEFAULT", "ref": "NONREF"}[decode])
        try:
            pieces = [j.result() for j in jobs]
        except av.error.FFmpegError:
            return None
    if any(p.corrupt for p in pieces):  # damaged data: concealment depends on decoder history and threads
        return None
    for p in pieces:
        if p.start is not None and p.start not in p.red.index:  # the seek missed its keyframe
            return None
    t0 = scan.start if scan.start is not None else min(pieces[0].red.index) if len(pieces[0].red) else 0
    merged = Reducer()
    for p in pieces:
        pts = np.asarray(p.red.index, np.int64)
        number = _frame_numbers(scan, [t0], pts)
        merged.index += [int(i) for i in number]
        merged.thumbs += p.red.thumbs
        merged.hists += p.red.hists
        merged.black = p.red.black if len(p.red) else merged.black
    if opening is not None:
        if not len(merged):
            return opening
        rest = merged.features(scan.fps, scan.frames, opening.thumb.shape[1])
        return merge(opening, rest, max(opening.num_frames, int(rest.index[-1]) + 1))
    if not len(merged):
        raise MediaError(f"{path}: no decodable frames")
    idx = merged.index
    if decode == "ref" and _max_skipped(idx[:CHECK_FRAMES]) > MAX_SKIPPED:
        return _segmented(path, "all", threads)  # gaps too wide for a sparse decode: every frame, as one pass
    num_frames = max(max(idx) + 1, scan.frames if decode != "all" else 0)
    return merged.features(scan.fps, num_frames)


def merge(f: Features, g: Features, num_frames: int | None = None) -> Features:
    """The frames of ``f`` and ``g``, two decodes of one video, in order (``f``'s where both have one);
    ``g``'s thumbnails brought to ``f``'s size where the picture's shape changed between them, as
    :class:`~data_curation.frame_summary.Reducer` does within one decode."""
    index = np.concatenate((f.index, g.index))
    order = np.argsort(index, kind="stable")
    order = order[np.r_[True, np.diff(index[order]) > 0]]
    size = f.thumb.shape[1]
    thumbs = (f.thumb, np.asarray(fit_thumbs(list(g.thumb), size), np.float32).reshape(len(g.index), size))
    return Features(index[order], np.concatenate(thumbs)[order], np.concatenate((f.hist, g.hist))[order],
                    f.fps, f.num_frames if num_frames is None else num_frames, f.black)


def _frame_numbers(scan: _Scan, first_pts, pts) -> np.ndarray:
    """Frame numbers from timestamps, counted from the earliest of ``first_pts``."""
    t0 = min(first_pts) if len(first_pts) else 0
    return np.rint((np.asarray(pts, np.float64) - t0) * scan.time_base * scan.fps).astype(np.int64)
