"""Reading videos with PyAV: probing, whole clips with their frame times, and frames by index
on the source's nominal grid (the numbering of cut detection and curation manifests).

Every frame comes back upright (:func:`video.media.display.upright`).
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from video.media.display import (
    apply_ops,
    display_matrix,
    display_ops,
    hdr_transfer,
    rotation_of,
    sar_of,
    upright,
)
from video.media.errors import MediaError
from video.media.ffmpeg_io import media_path

ATTACHED_PIC = 1024  # AV_DISPOSITION_ATTACHED_PIC: cover art stored as a one-frame video stream


def special_file(path: str | Path) -> str | None:
    """What ``path`` is when it exists but is no file to open as media: "not a regular file
    (a FIFO)" (a device, a socket), or "a symlink loop"; None for a regular
    file, a folder and a path that does not exist (its caller says "not found"). Checked before
    opening what a user names: FFmpeg and PIL wait forever on a FIFO nobody writes to (and read
    a device until it ends), and a symlink loop was called "not found"."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        return "a symlink loop" if e.errno == errno.ELOOP else None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"not a regular file ({kind})"


def check_regular(path: str | Path) -> None:
    """A one-line MediaError "PATH: not a regular file (a FIFO)" where :func:`special_file`
    finds one, before anything opens it (and hangs). ``PATH: `` first, as curate's error rows
    name their source (a run's summary counts one cause of many files once)."""
    if (why := special_file(path)) is not None:
        raise MediaError(f"{path}: {why}")


def check_media_file(path: Path) -> None:
    """:func:`check_regular`, and a one-line MediaError for an empty file: FFmpeg's
    InvalidDataError (or OSError) for it said nothing of why."""
    check_regular(path)
    if path.is_file() and path.stat().st_size == 0:
        raise MediaError(f"{path}: not a readable video: empty file (0 bytes)")


def unreadable(path: str | Path, e: Exception) -> MediaError:
    """The MediaError of FFmpeg failing on ``path``: a missing file and a folder in the words the
    video commands use ("file not found"; "is a folder, not a video file": it was "not a
    readable video (FileNotFoundError)"), else "not a readable video (ErrorClass)". Raised in
    the handler of ``e`` (``raise unreadable(path, e) from None``), it keeps ``e`` as its
    context, which curate's error rows record (:func:`data_curation.reruns.error_text`): a
    missing file is still a ``FileNotFoundError`` row, the machine's, that a rerun tries again."""
    if isinstance(e, FileNotFoundError):
        return MediaError(f"{path}: file not found")
    if isinstance(e, IsADirectoryError):
        return MediaError(f"{path}: is a folder, not a video file")
    return MediaError(f"{path}: not a readable video ({e.__class__.__name__})")


def video_stream(container, path: str | Path | None = None):
    """A PyAV container's first video stream that is not an attached picture (an MP4 or MKV may
    carry cover art as a video stream, even before the video). MediaError if there is none."""
    for s in container.streams.video:
        if not int(s.disposition) & ATTACHED_PIC:
            return s
    raise MediaError(f"{path or container.name}: no video stream")


def decoder_threads(stream, threads: int = 0) -> None:
    """Set a PyAV stream's decoder threads before its first packet: ``threads`` 0 leaves the
    count to FFmpeg (about one per core, up to 16), 1 decodes in the calling thread, more sets
    that many. A Ray task holds one CPU: FFmpeg's own choice there put ~17 decoder threads in
    every worker of a big machine, each one a core's share of work the task may not take."""
    stream.thread_type = "NONE" if threads == 1 else "AUTO"
    if threads > 1:
        stream.thread_count = threads


def grid_frames(path: str | Path, start: int, end: int, fps: float,
                hold: bool = False, threads: int = 0) -> Iterator[tuple[int, object]]:
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
    is a gap, not the end of the file. ``threads``: the decoder's (:func:`decoder_threads`)."""
    import av

    for back in (0.0, 10.0, None):
        with av.open(media_path(path)) as c:
            s = video_stream(c, path)
            decoder_threads(s, threads)
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
    check_media_file(path)
    try:
        with av.open(media_path(path)) as c:
            s = video_stream(c, path)
            rate = s.average_rate or s.guessed_rate
            fps = float(rate) if rate else None
            if s.frames:
                return int(s.frames), fps
            seconds = float(s.duration * s.time_base) if s.duration and s.time_base else (
                c.duration / 1_000_000 if c.duration else None)
            return (round(seconds * fps) if seconds and fps else 0), fps
    except av.error.FFmpegError as e:
        raise unreadable(path, e) from None


def probe_video(path: str | Path, count: bool = True) -> dict:
    """Container, codec, coded size, frame count, fps, duration, display rotation (degrees
    counterclockwise, from the first frame: phones store portrait video as landscape plus a
    rotation) and pixel aspect ratio (``sar``, :func:`sar_of`) of a video, read with PyAV.

    WebM and Matroska store no frame count: the whole file is decoded to count it, as long as
    the rest of a curation run takes for some files. ``count=False`` decodes only the first
    frame instead, and ``num_frames`` is then None for such a file ("not counted"; 0 when not
    even a first frame decodes), for a caller that counts them anyway (``curate run``: its
    cut detector decodes every frame)."""
    import av

    path = Path(path)
    check_media_file(path)
    try:
        with av.open(media_path(path)) as c:
            s = video_stream(c, path)
            frames, turn = s.frames, 0
            if frames or not count:  # one frame decoded: frame threads would decode one each to give it
                decoder_threads(s, 1)
            if frames:
                try:
                    first = next(iter(c.decode(s)), None)
                    turn = rotation_of(first) if first is not None else 0
                except av.error.FFmpegError:
                    pass  # the header's count stands; damage shows where the frames are read
            elif not count:  # a first frame's error is the file's, as it is when counting
                first = next(iter(c.decode(s)), None)
                frames, turn = (None, rotation_of(first)) if first is not None else (0, 0)
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
                "num_frames": None if frames is None else int(frames),
                "fps": float(rate) if rate else None,
                "duration": float(c.duration / 1_000_000) if c.duration else None,
                "rotation": turn,
                "sar": sar_of(s, turned=turn in (90, 270)),
            }
    except av.error.FFmpegError as e:
        raise unreadable(path, e) from None


def read_video(path: str | Path, max_frames: int | None = None) -> np.ndarray:
    """The frames of a video as uint8 (F, H, W, 3), upright (:func:`upright`: turned and
    mirrored by the display matrix phones store portrait video with, as a player shows it and
    as :func:`read_grid_frames` reads; for a 90 or 270 degree rotation H and W are
    :func:`probe_video`'s coded ``width`` and ``height``); ``max_frames``: only the first ones,
    decoding no further (``--frames 2`` of a long clip used to hold all of it). A missing or
    unreadable file is a MediaError; HDR is one warning line (:func:`read_video_timed`)."""
    return read_video_timed(path, max_frames)[0]


def read_video_timed(path: str | Path, max_frames: int | None = None,
                     keep_alpha: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`read_video`'s frames and each one's time in seconds from the video's start
    (its presentation timestamp; frames without one are placed after the last at the stream's
    average rate), so a writer can keep a variable-rate source's timing
    (:func:`write_video`'s ``times``). HDR input (PQ or HLG) is read as its code values, with
    no tone mapping to SDR: one warning line says so, as the output looks washed out.
    A file cut short (a half-copied download) gives the frames that decode, as ffmpeg plays
    them, with one warning line "truncated: decoding stopped at frame N of M"
    (:func:`_check_complete`); an empty file, one where no frame decodes, and one whose frame
    size changes midway (two clips joined with ``cat``) are one MediaError line each.
    Transparency (:func:`has_alpha`: a GIF's, APNG's, ProRes 4444's; a WebM's VP9 alpha,
    :func:`alpha_decoder`) is laid on white with one warning, as a still's is (its hidden colour
    showed); ``keep_alpha``: (F, H, W, 4) frames with their alpha, for a mask, whose level it is."""
    import av

    path = Path(path)
    check_media_file(path)
    if not path.is_file():
        raise MediaError(f"video {path} not found")
    frames, times, stopped, held = [], [], None, None
    try:
        with av.open(media_path(path)) as c:
            s = video_stream(c, path)
            tb = float(s.time_base) if s.time_base else 0.0
            rate = float(s.average_rate or s.guessed_rate or 0) or 25.0
            length = stream_seconds(c, s)
            t0, laid = None, False
            try:
                for f in _decoded(c, s, alpha_decoder(s, path)):
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
                    if has_alpha(f):
                        rgb = apply_ops(f.to_ndarray(format="rgba"), display_ops(display_matrix(f)))
                        if not keep_alpha:
                            rgb, laid = _on_white(path, rgb, laid)
                    else:
                        rgb = upright(f)
                    frames.append(_same_size(path, rgb, frames))
                    held = f.duration * tb if getattr(f, "duration", None) and tb else None
            except av.error.FFmpegError as e:  # a packet cut short: what decoded before it stands
                stopped = e.__class__.__name__
                if not frames:
                    raise
    except av.error.FFmpegError as e:
        raise unreadable(path, e) from None
    if not frames:
        raise MediaError(f"{path}: no video frames")
    if max_frames is None or len(frames) < max_frames:
        _check_complete(path, times, rate, length, stopped, held)
    return np.stack(frames), np.asarray(times, dtype=np.float64)


ALPHA_DECODERS = {"vp9": "libvpx-vp9", "vp8": "libvpx"}  # a WebM's alpha is side data FFmpeg's own decoders skip


def has_alpha(frame) -> bool:
    """Whether a decoded PyAV frame can hold transparency: its pixel format has an alpha channel
    (a GIF's bgra, APNG's rgba, ProRes 4444's yuva: four components, or grey and alpha) or a
    palette (whose entries may be transparent)."""
    fmt = frame.format
    return fmt.has_palette or len(fmt.components) in (2, 4)


def alpha_decoder(stream, path: str | Path) -> str | None:
    """The libvpx decoder's name for a WebM stream whose VP8/VP9 alpha is stored beside the
    picture (``alpha_mode`` 1): FFmpeg's own decoder never sees it, libvpx's gives yuva frames.
    None for any other stream, and where PyAV lacks that decoder: then one warning says the
    alpha is not read, the frames being their colours alone."""
    import av

    ctx = stream.codec_context
    if (stream.metadata or {}).get("alpha_mode") != "1" or ctx.name not in ALPHA_DECODERS:
        return None
    if (name := ALPHA_DECODERS[ctx.name]) in av.codecs_available:
        return name
    warnings.warn(f"{Path(path).name}: its {ctx.name.upper()} alpha channel cannot be read (this PyAV has no {name} "
                  f"decoder): it is read by its colours alone", stacklevel=4)
    return None


def _decoded(container, stream, decoder: str | None):
    """The stream's frames, through the named decoder (:func:`alpha_decoder`) where one is named."""
    if decoder is None:
        yield from container.decode(stream)
        return
    import av

    ctx = av.CodecContext.create(decoder, "r")
    for packet in container.demux(stream):
        yield from ctx.decode(packet if packet.size else None)


def _on_white(path: Path, rgba: np.ndarray, warned: bool) -> tuple[np.ndarray, bool]:
    """An (H, W, 4) frame laid on white (as :func:`video.media.images.on_white` lays a still),
    with one warning for the file (``warned``: said already)."""
    if rgba[..., 3].min() == 255:
        return rgba[..., :3], warned
    a = rgba[..., 3:].astype(np.float32) / 255.0
    if not warned:
        warned = True
        warnings.warn(f"{path.name} has transparent pixels: they are laid on white (as A1111's img2img does); "
                      f"flatten it yourself for another background", stacklevel=4)
    return np.round(rgba[..., :3] * a + 255.0 * (1.0 - a)).astype(np.uint8), warned


def _same_size(path: Path, rgb: np.ndarray, frames: list[np.ndarray]) -> np.ndarray:
    """``rgb``, if it has the size of the frames before it; else a one-line MediaError naming
    the frame and both sizes (a stream whose resolution changes midway, as two MPEG-TS files
    joined with ``cat``, failed as "(ValueError)" when the frames were stacked)."""
    if frames and rgb.shape != frames[0].shape:
        (h0, w0), (h1, w1) = frames[0].shape[:2], rgb.shape[:2]
        raise MediaError(f"{path}: frame size changes at frame {len(frames)} ({w0}x{h0} -> {w1}x{h1}); "
                         f"one size is read per video (re-encode it at one size)")
    return rgb


def stream_seconds(container, stream) -> float | None:
    """A video stream's length in seconds as its header gives it: the stream's duration, else
    the DURATION tag Matroska/WebM muxers write, else the container's duration when the video
    is its only stream (with audio it is the longer of the two); None when none is known."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = (stream.metadata or {}).get("DURATION") or (stream.metadata or {}).get("duration")
    if tag:
        try:
            h, m, sec = str(tag).split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            pass
    if container.duration and len(container.streams) == 1:
        return container.duration / 1_000_000
    return None


def _check_complete(path: Path, times: list[float], rate: float, length: float | None,
                    stopped: str | None, held: float | None = None) -> None:
    """One warning line where a video's frames end early: decoding failed partway (``stopped``,
    the error's class: a half-copied MP4 whose index is at the front), or the frames cover
    less than the header's ``length`` by more than two frames and 5% (a half-copied WebM
    decodes to where it is cut, without an error). The last frame covers ``held`` seconds,
    its own duration as the container stores it (a GIF's delay, a packet's duration), so a
    complete file whose last frame is held (a GIF's 3 s closing frame) is no warning; without
    one, the gap before it. Its frame count "M" is ``length`` at the average ``rate`` (an
    MP4's stored count includes frames an edit list hides)."""
    n = len(times)
    covered = times[-1] + (held or (times[-1] - times[-2] if n > 1 else 1.0 / rate))
    short = length is not None and length - covered > max(2.0 / rate, 0.05 * length)
    if stopped is None and not short:
        return
    of = f" of {max(n + 1, round(length * rate))}" if length else ""
    why = f" ({stopped})" if stopped else ""
    warnings.warn(f"{path.name}: truncated: decoding stopped at frame {n}{of}{why}; the {n} decoded "
                  f"{'frame is' if n == 1 else 'frames are'} used, as a player plays them", stacklevel=4)


ANIMATED_IMAGE_FORMATS = ("WEBP", "PNG")  # PIL's names: animated WebP and APNG (a GIF goes through PyAV)
DEFAULT_FRAME_DELAY = 0.1  # seconds: a frame with no delay stored plays this long, as browsers play a GIF's


def animated_image(path: str | Path) -> bool:
    """Whether ``path`` is an image file of several frames (an animated WebP or APNG), to be read
    as a video (:func:`read_animated_image`), as a GIF is: read as a still, one was cut to its
    first frame without a word. False for a still, and for a file PIL does not open (the still
    reader says what is wrong with it). A multi-page TIFF stays a still: its pages have no timing."""
    from PIL import Image

    if not os.path.isfile(path) or special_file(path) is not None:  # a FIFO would hang Image.open
        return False
    try:
        with Image.open(path) as im:
            return im.format in ANIMATED_IMAGE_FORMATS and getattr(im, "n_frames", 1) > 1
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def read_animated_image(path: str | Path, max_frames: int | None = None,
                        keep_alpha: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The frames of an animated image as uint8 (F, H, W, 3), EXIF orientation applied and
    transparent pixels laid on white (as a still's, :func:`video.media.images.on_white`, one
    warning), and each frame's time in seconds from the first: the sum of the delays before it
    (:data:`DEFAULT_FRAME_DELAY` where one is 0 or missing), as :func:`read_video_timed` gives a
    GIF's. ``max_frames``: only the first ones are decoded. ``keep_alpha``: (F, H, W, 4) frames
    with their alpha (opaque where they have none), for a mask, whose transparency is its level."""
    import warnings

    from PIL import Image, ImageOps

    from video.media.images import file_rgb, on_white, to_srgb

    path = Path(path)
    frames, delays = [], []
    try:
        with Image.open(path) as im, warnings.catch_warnings(record=True) as laid_on_white:
            warnings.simplefilter("always")
            for i in range(min(im.n_frames, max_frames or im.n_frames)):
                delays.append(frame_delay(im, i))
                frame = to_srgb(ImageOps.exif_transpose(im), path)  # a copy of this frame, turned, in sRGB
                if keep_alpha:
                    frames.append(np.asarray(frame.convert("RGBA")))
                else:
                    frames.append(np.asarray(file_rgb(on_white(frame))))
    except Image.DecompressionBombError as e:
        raise MediaError(f"{path} is too large to read safely: {e}") from None
    except (OSError, ValueError, EOFError) as e:
        raise MediaError(f"{path}: frame {len(frames)} of the animation is not readable "
                         f"({e.__class__.__name__})") from None
    if laid_on_white:
        warnings.warn(str(laid_on_white[0].message), stacklevel=2)
    if len({f.shape for f in frames}) > 1:
        raise MediaError(f"{path}: the animation's frames differ in size")
    return np.stack(frames), np.concatenate([[0.0], np.cumsum(delays[:-1])])


def animated_image_fps(path: str | Path) -> float | None:
    """An animated image's average frame rate: its frame count over the sum of its delays (a GIF's,
    as ffmpeg reads it); None for a file that is not one."""
    from PIL import Image

    if not animated_image(path):
        return None
    with Image.open(path) as im:
        delays = [frame_delay(im, i) for i in range(im.n_frames)]
    return len(delays) / sum(delays)


def frame_delay(im, i: int) -> float:
    """Frame ``i`` of an open animated image, loaded, and how long it shows in seconds (PIL sets
    a WebP frame's ``duration`` only once the frame is loaded)."""
    im.seek(i)
    im.load()
    return (im.info.get("duration") or 0) / 1000 or DEFAULT_FRAME_DELAY
