"""Reading images and videos, writing videos.

Writing goes through the ffmpeg binary of imageio-ffmpeg (arguments as a list, never a shell
string), with an input's audio muxed in where asked (:func:`audio_to_keep`); reading videos
through PyAV, upright (display rotation applied). Every output is written under a temporary name in the
destination folder and renamed when complete, so an interrupted run never leaves a truncated
file where a finished one is expected.
"""

from __future__ import annotations

import numbers
import os
import re
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from video.atomic import atomic_file, atomic_folder

ASSETS = Path(__file__).resolve().parent / "assets"
DEFAULT_IMAGE = ASSETS / "astronaut.jpg"
VIDEO_FORMATS = ("mp4", "webm", "gif", "png")  # "png": a folder of PNG frames
# an output named with one of these is one image file: a one-frame result (``--frames 1``, an upscaled photo)
IMAGE_OUTPUTS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


class MediaError(ValueError):
    """An input that is not a readable image/video, or an output we cannot write."""


def load_image(source) -> Image.Image:
    """A path, PIL image, or HxWx3 array -> RGB PIL image (EXIF rotation applied). Arrays: uint8
    as they are; float with every value <= 1 read in [0, 1] (diffusers' convention), other float
    in 0..255 (as ``video.edit.mask`` reads float frames); anything else a MediaError (a float
    array used to be cast as it was, so [0, 1] became a black picture, and uint16 wrapped)."""
    if isinstance(source, Image.Image):
        return source.convert("RGB")
    if isinstance(source, np.ndarray):
        if source.ndim != 3 or source.shape[2] not in (3, 4):
            raise MediaError(f"image array must be HxWx3, got shape {source.shape}")
        a = source[..., :3]
        if a.dtype.kind == "f":
            if a.size and (not np.isfinite(a).all() or a.min() < 0 or a.max() > 255):
                raise MediaError(f"a float image array must hold values in [0, 1] or 0..255, got "
                                 f"[{a.min():.3g}, {a.max():.3g}]")
            a = np.round(a * (255.0 if a.size and a.max() <= 1 else 1.0))
        elif a.dtype != np.uint8:
            raise MediaError(f"image array must be uint8, or float in [0, 1] or 0..255; got {a.dtype}")
        return Image.fromarray(a.astype(np.uint8))
    return file_rgb(open_image(source))


def open_image(path) -> Image.Image:
    """An image file, decoded and turned as its EXIF orientation says, in its own mode; a
    missing, unreadable or oversized file is one MediaError line. Shared by :func:`load_image`
    and the mask reader (which keeps the alpha channel)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"image {path} not found")
    try:
        with Image.open(path) as f:
            im = ImageOps.exif_transpose(f)
            im.load()
            return im
    except Image.DecompressionBombError as e:  # not an OSError: it escaped as a traceback
        raise MediaError(f"{path} is too large to read safely: {e}") from None
    except (UnidentifiedImageError, OSError) as e:
        raise MediaError(f"{path} is not an image we can read ({e.__class__.__name__})") from None


def file_rgb(im: Image.Image) -> Image.Image:
    """A decoded image file as RGB; 16-bit grey scaled to 8 bits (``convert("RGB")`` clips it
    to white)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        a = a / 257.0 if a.max() > 255 or im.mode.startswith("I;16") else a
        return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8)).convert("RGB")
    return im.convert("RGB")


def natural_key(name: str) -> list:
    """Sort key comparing the digit runs of a name as numbers: ``2.png`` before ``10.png``, as
    exporters that do not zero-pad frame numbers mean (plain order gives 1, 10, 11, 2, ...)."""
    return [(0, int(t), t) if t.isdecimal() else (1, 0, t) for t in re.split(r"(\d+)", name)]


def resize_center_crop(image: Image.Image, height: int, width: int) -> Image.Image:
    """Scale to cover (height, width) keeping the aspect ratio, then crop the centre."""
    w, h = image.size
    if (w, h) == (width, height):
        return image
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    image = image.resize((nw, nh), Image.Resampling.LANCZOS)
    left, top = (nw - width) // 2, (nh - height) // 2
    return image.crop((left, top, left + width, top + height))


def image_to_tensor(source, height: int, width: int) -> torch.Tensor:
    """Any image source -> float32 (1, 3, height, width) in [0, 1]."""
    if isinstance(source, torch.Tensor):
        if source.ndim == 3:
            source = source.unsqueeze(0)
        if source.shape[-2:] != (height, width):
            raise MediaError(f"tensor image is {tuple(source.shape[-2:])}, expected {(height, width)}")
        return source.float()
    im = resize_center_crop(load_image(source), height, width)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _format_of(path: Path, fmt: str | None) -> str:
    """``fmt``, else PNG frames for a name without a suffix or an existing folder (``out.d``:
    judged by its suffix alone it was refused as an unknown video format), "image" for an image
    suffix (:data:`IMAGE_OUTPUTS`: one image file, where ``x.png`` used to become a folder), else
    the suffix."""
    if fmt:
        return fmt
    if path.suffix == "" or path.is_dir():
        return "png"
    if path.suffix.lower() in IMAGE_OUTPUTS:
        return "image"
    ext = path.suffix.lower().lstrip(".")
    if ext not in VIDEO_FORMATS:
        raise MediaError(f"cannot write {path.name}: use .mp4, .webm, .gif, .png/.jpg/.webp for one frame, or a "
                         f"folder name for PNG frames")
    return ext


def plural(n: int, noun: str) -> str:
    """``1 frame``, ``2 frames``: the count in the "wrote ..." lines."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _one_image_only(path: Path, num_frames: int) -> None:
    """An image file holds one frame: more is one line naming what to write instead."""
    if num_frames > 1:
        raise MediaError(f"cannot write {plural(num_frames, 'frame')} to the image {path.name}: name a folder "
                         f"({path.with_suffix('').name}) for PNG frames, or {path.with_suffix('.mp4').name}")


def check_output(path: str | Path, fmt: str | None = None, num_frames: int | None = None) -> None:
    """Fail now, before minutes of rendering, on an output :func:`write_video` would refuse: an
    unknown suffix, a folder that holds files this tool did not write, a file where a folder of
    PNGs goes, a folder where a file goes, or a place no folder can be made or written in (the
    nearest existing parent is a file, or not writable). ``num_frames``, where the caller knows
    it already: more than one frame to an image name (``x.png``) is refused too."""
    from video.atomic import check_replaceable

    path = Path(path)
    if path.name in ("", ".", ".."):
        path = path.resolve()
    fmt = _format_of(path, fmt)
    if fmt == "image" and num_frames is not None:
        _one_image_only(path, num_frames)
    if fmt == "png":
        try:
            check_replaceable(path)
        except FileExistsError as e:
            raise MediaError(str(e)) from None
    elif path.is_dir():
        raise MediaError(f"{path} is a folder: name a .{fmt} file to write")
    parent = path.parent  # the writers make missing folders, then a temporary name there
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise MediaError(f"cannot write {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise MediaError(f"cannot write {path}: no permission to write in {parent}")
    try:  # os.access says yes to root everywhere, also on a read-only mount or /proc: make a file to know
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise MediaError(f"cannot write {path}: {parent} is not writable ({e.strerror or e})") from None


VP9_MAX_CRF = 63  # libvpx-vp9's worst quality; our crf is libx264's 0..51
H264_MAX_CRF = 51  # libx264's worst quality (8-bit)


def check_crf(crf: int, path: str | Path | None = None) -> None:
    """One-line MediaError for a CRF outside libx264's 0..51, the one scale ``--crf`` takes (a
    .webm maps it onto VP9's 13..63 with :func:`vp9_crf`); checked before rendering, where a
    negative CRF used to fail in ffmpeg after the render and 99 or 80 was taken silently.
    ``path``: the output, named in the message."""
    if isinstance(crf, bool) or not isinstance(crf, numbers.Integral) or not 0 <= crf <= H264_MAX_CRF:
        where = f" for {Path(path).name}" if path is not None else ""
        raise MediaError(f"--crf must be a whole number from 0 (best) to {H264_MAX_CRF} (worst){where}; got {crf} "
                         f"(x264's scale; a .webm maps it onto VP9's 13..{VP9_MAX_CRF})")


def vp9_crf(crf: int) -> int:
    """H.264's CRF (0..51) as VP9's (0..63): 13 more, about the same quality (18 -> 31, VP9's
    usual HD setting), capped at VP9's worst, where libvpx refuses anything higher."""
    return min(VP9_MAX_CRF, crf + 13)


AUDIO_COPY = {"mp4": ("aac", "mp3", "alac", "ac3", "eac3"), "webm": ("opus", "vorbis")}  # codecs copied as they are
AUDIO_ENCODE = {"mp4": ["-c:a", "aac", "-b:a", "192k"], "webm": ["-c:a", "libopus", "-b:a", "128k"]}


def audio_stream_info(path: str | Path) -> tuple[str, float] | None:
    """(codec name, start of the audio relative to the video, seconds) of a file's first audio
    stream; None when it has none (or is no media file PyAV reads)."""
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.audio:
                return None
            a = c.streams.audio[0]
            start = float(a.start_time * a.time_base) if a.start_time is not None and a.time_base else 0.0
            vs = [s for s in c.streams.video if not int(s.disposition) & ATTACHED_PIC]
            if vs and vs[0].start_time is not None and vs[0].time_base:
                start -= float(vs[0].start_time * vs[0].time_base)
            return a.codec_context.name, start
    except (av.error.FFmpegError, OSError):
        return None


def audio_shift(path: str | Path) -> float:
    """Seconds to pass as ``-itsoffset`` so that ``path``'s audio, muxed beside a video that
    starts at 0, keeps its place relative to ``path``'s own video. ffmpeg already shifts every
    input by minus the file's start (the earliest stream's), so an audio stream that starts
    after its video keeps that gap by itself; only the video's own distance from the file's
    start is left to remove (:func:`itsoffset`). 0.0 when PyAV cannot read the file."""
    import av

    try:
        with av.open(str(path)) as c:
            file_start = c.start_time / 1_000_000 if c.start_time is not None else 0.0
            vs = [s for s in c.streams.video if not int(s.disposition) & ATTACHED_PIC]
            if not vs or vs[0].start_time is None or not vs[0].time_base:
                return 0.0
            return itsoffset(file_start, float(vs[0].start_time * vs[0].time_base))
    except (av.error.FFmpegError, OSError):
        return 0.0


def itsoffset(file_start: float, video_start: float) -> float:
    """The ``-itsoffset`` that puts a file's audio where it sits relative to the file's video,
    once ffmpeg has moved the file's earliest timestamp (``file_start``) to 0: the audio then
    lies ``video_start - file_start`` after the (new, at 0) video, so that much comes off.
    (Adding the audio's own start gap again, as this code once did, delayed late audio twice.)"""
    return file_start - video_start


def source_times(times: np.ndarray | None, in_fps: float | None, out_fps: float) -> np.ndarray | None:
    """The source's frame times for :func:`write_video`'s ``times`` when output frame i is the
    source's frame i at the source's rate (no ``--fps`` of another rate): a variable-rate
    source is then written at its own times; None otherwise (a new rate is a new timing)."""
    if times is None or not in_fps or abs(out_fps - in_fps) > 1e-3 * in_fps:
        return None
    return times


def audio_to_keep(source, in_frames: int, in_fps: float | None, out_frames: int, out_fps: float,
                  output: str | Path) -> Path | None:
    """The file whose audio an output of an edit of ``source`` should carry: ``source`` when it
    is a file with an audio stream, the output keeps its frame rate and at most its frame count
    (the output is the input's first frames, as ``--frames`` takes them, so the sound stays in
    sync; :func:`write_video` ends it with the last frame) and the output format takes audio
    (mp4, webm). None otherwise; when audio is there but cannot be kept, one warning line says
    so and why."""
    if not isinstance(source, (str, Path)) or not Path(source).is_file() or audio_stream_info(source) is None:
        return None
    fmt = _format_of(Path(output), None)
    why = None
    if fmt not in AUDIO_ENCODE:
        why = f"{'a PNG folder' if fmt == 'png' else 'an image' if fmt == 'image' else 'a ' + fmt} holds no audio"
    elif out_frames > in_frames:
        why = f"the output has {out_frames} frames, the input {in_frames}"
    elif not in_fps or abs(out_fps - in_fps) > 1e-3 * in_fps:
        why = f"the output is at {out_fps:g} fps, the input at {in_fps or 0:g}"
    if why:
        warnings.warn(f"the input's audio was not kept: {why}", stacklevel=2)
        return None
    return Path(source)


def write_video(frames: np.ndarray, path: str | Path, fps: float = 7, crf: int = 18, fmt: str | None = None,
                audio: str | Path | None = None, times: np.ndarray | None = None,
                sar: str | None = None) -> Path:
    """uint8 (F, H, W, 3) -> mp4 (H.264 yuv420p, +faststart), webm (VP9), gif, a folder of PNGs
    (a path without suffix, or an existing folder), or one image file (.png, .jpg, .jpeg, .webp)
    for a single frame. Returns the path written. mp4 and webm are tagged BT.709 (primaries,
    transfer and matrix: the conversion from RGB uses BT.709, and an untagged transfer leaves
    players guessing).
    ``audio``: a media file whose first audio stream goes in beside the video (mp4, webm; see
    :func:`audio_to_keep`), at its own offset from that file's video and cut where the video
    ends (within one audio frame): copied when the container takes its codec, else re-encoded
    (AAC in mp4, Opus in webm); a file without audio adds none.
    ``times``: each frame's time in seconds from the first (a source's own frame times, where
    frame i of the output is frame i of the source); when they are not evenly spaced at ``fps``
    (:func:`uneven_times`: a variable-rate phone clip) the mp4/webm keeps them, so the picture
    stays in sync with the source's audio; evenly spaced ones change nothing.
    ``sar``: the pixels' shape, "num:den" (a source's anamorphic 32:27), tagged on mp4/webm so
    the output displays at the source's shape; None or "1:1" for square pixels."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise MediaError(f"frames must be uint8 (F, H, W, 3), got {frames.dtype} {frames.shape}")
    path = Path(path)
    if len(frames) == 0:  # ffmpeg would write a file without a video stream, and succeed
        raise MediaError(f"cannot write {path.name}: no frames")
    check_output(path, fmt, num_frames=len(frames))
    fmt = _format_of(path, fmt)
    if fmt in ("mp4", "webm"):
        check_crf(crf, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        return _write_png_folder(frames, path)
    if fmt == "image":
        return _write_image(frames[0], path)
    if fmt in ("mp4", "webm"):  # 4:2:0 needs even sizes: drop the odd last row/column
        h, w = frames.shape[1:3]
        if h < 2 or w < 2:
            raise MediaError(f"cannot write {path.name}: {fmt} needs frames at least 2x2, got {w}x{h}")
        if h % 2 or w % 2:
            warnings.warn(f"{path.name}: {fmt} (4:2:0) needs even sizes; writing {w // 2 * 2}x{h // 2 * 2} "
                          f"from {w}x{h} frames (last column/row dropped)", stacklevel=2)
            frames = frames[:, : h // 2 * 2, : w // 2 * 2]
    if fmt == "mp4" and crf == 0:
        warnings.warn(f"{path.name}: --crf 0 is lossless H.264, which only the High 4:4:4 Predictive profile "
                      f"holds; browsers and many players cannot play it (--crf 1 plays everywhere)", stacklevel=2)
    f, h, w, _ = frames.shape
    stamps = None
    if times is not None and fmt in ("mp4", "webm"):
        times = np.asarray(times, dtype=np.float64)[:f]
        ticks = np.round((times - times[0]) * TIME_BASE) if len(times) else times
        # only times that rise frame after frame (a stream without timestamps, or with a reset,
        # can repeat or go back): others are written at the average rate, as before
        if len(times) == f and uneven_times(times, fps) and bool(np.all(np.diff(ticks) > 0)):
            stamps = times - times[0]
    if stamps is None:
        data = np.ascontiguousarray(frames).tobytes()
        args = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                "-s", f"{w}x{h}", "-r", str(fps), "-i", "-"]
        seconds = f / float(fps)
    else:  # the frames with their own timestamps (NUT carries them), passed through as they are
        data = _nut_bytes(frames, stamps)
        args = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "nut", "-i", "-"]
        last = float(np.median(np.diff(stamps))) if f > 1 else 1.0 / float(fps)
        seconds = float(stamps[-1]) + last
    sound = audio_stream_info(audio) if audio is not None and fmt in AUDIO_ENCODE else None
    if sound is not None:
        codec, _start = sound
        shift = audio_shift(audio)
        args += (["-itsoffset", f"{shift:.6f}"] if abs(shift) > 1e-3 else []) + ["-i", str(audio),
                                                                                 "-map", "0:v:0", "-map", "1:a:0"]
        args += ["-c:a", "copy"] if codec in AUDIO_COPY[fmt] else AUDIO_ENCODE[fmt]
        args += ["-t", f"{seconds:.6f}"]  # the video's length: no sound past the last frame
    if fmt in ("mp4", "webm"):
        # tagged on the frames: the bundled ffmpeg ignores -color_primaries / -color_trc as output options
        vf = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709"
        if sar and sar not in ("1:1", "0:1"):
            vf += f",setsar={sar.replace(':', '/')}"
        args += ["-vf", vf]
        if stamps is not None:
            args += ["-fps_mode", "passthrough", "-enc_time_base", "demux"]
    if fmt == "mp4":
        args += ["-c:v", "libx264", "-preset", "medium", "-crf", str(crf), "-pix_fmt", "yuv420p",
                 "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
                 "-movflags", "+faststart"]
    elif fmt == "webm":
        args += ["-c:v", "libvpx-vp9", "-crf", str(vp9_crf(crf)), "-b:v", "0", "-pix_fmt", "yuv420p"]
    else:  # gif: a palette made from the clip itself
        args += ["-vf", "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse", "-loop", "0"]
    with atomic_file(path) as tmp:
        proc = subprocess.run(args + ["-f", fmt, str(tmp)], input=data, capture_output=True)
        if proc.returncode != 0:
            raise MediaError(f"ffmpeg failed writing {path.name}: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    return path


def uneven_times(times: np.ndarray, fps: float) -> bool:
    """Whether frame times (seconds) stray from the even grid ``times[0] + i / fps`` by more
    than half a frame somewhere: then writing the frames at ``fps`` moves some of them away
    from the source's audio (a clip at 24 then 30 fps, written at its 26.9 fps average, was
    215 ms out of sync mid-clip)."""
    t = np.asarray(times, dtype=np.float64)
    if len(t) < 2 or not fps:
        return False
    return bool(np.abs(t - t[0] - np.arange(len(t)) / float(fps)).max() > 0.5 / float(fps))


TIME_BASE = 90000  # ticks per second of the timestamps handed to ffmpeg (MPEG's clock)


def _nut_bytes(frames: np.ndarray, seconds: np.ndarray) -> bytes:
    """The frames as raw RGB in a NUT stream, each with its timestamp (``seconds``), for ffmpeg
    to read from a pipe: a raw pipe has one fixed rate, NUT keeps each frame's time."""
    import io
    from fractions import Fraction

    import av

    buf = io.BytesIO()
    tb = Fraction(1, TIME_BASE)
    with av.open(buf, "w", format="nut") as c:
        s = c.add_stream("rawvideo")
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
        s.time_base = s.codec_context.time_base = tb
        ticks = np.round(np.asarray(seconds) * TIME_BASE).astype(np.int64)
        for fr, pts in zip(frames, ticks, strict=True):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(fr), format="rgb24")
            vf.pts, vf.time_base = int(pts), tb
            for pkt in s.encode(vf):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return buf.getvalue()


def _write_image(frame: np.ndarray, path: Path) -> Path:
    """One frame as the image file ``path`` (its suffix picks the format; PNG lossless, JPEG and
    WebP at quality 95), under a temporary name renamed when complete as every output is."""
    kind = IMAGE_OUTPUTS[path.suffix.lower()]
    with atomic_file(path) as tmp:
        Image.fromarray(frame).save(tmp, format=kind, **({} if kind == "PNG" else {"quality": 95}))
    return path


def _write_png_folder(frames: np.ndarray, path: Path) -> Path:
    with atomic_folder(path) as tmp:
        for i, fr in enumerate(frames):
            Image.fromarray(fr).save(tmp / f"{i:05d}.png")
    return path


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


def rotation_of(frame) -> int:
    """Degrees counterclockwise (0, 90, 180, 270) by which a decoded PyAV frame's display matrix
    turns it (how phones store portrait video); 0 without one. 90 and 270 swap width and
    height; a mirror (which PyAV reports as a rotation of 180) is in :func:`display_ops`."""
    return round(getattr(frame, "rotation", 0) or 0) % 360 // 90 * 90


def display_matrix(frame) -> tuple[int, ...] | None:
    """The nine 32-bit entries of a decoded PyAV frame's display matrix side data (16.16 fixed
    point), None without one."""
    import av

    try:
        for sd in frame.side_data:
            if sd.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
                return tuple(int(v) for v in np.frombuffer(bytes(sd), dtype="=i4")[:9])
    except (AttributeError, ValueError):
        pass
    return None


def display_ops(matrix: tuple[int, ...] | None) -> list[str]:
    """What ffmpeg's autorotate does for a display matrix, as a list of "hflip", "vflip",
    "transpose" (rows become columns), "clock" and "cclock" (90 degree turns), applied in
    order; [] for none or an angle off the quarter turns (left as stored). Follows
    fftools/ffmpeg_filter.c: theta is minus ``av_display_rotation_get``, and the matrix's
    signs pick between a turn and a turn with a mirror, so a mirrored clip is mirrored (it was
    turned 180 degrees when only the rotation angle was read)."""
    if matrix is None:
        return []
    m = [v / 65536.0 for v in matrix]
    s0, s1 = np.hypot(m[0], m[3]), np.hypot(m[1], m[4])
    if s0 == 0 or s1 == 0:
        return []
    theta = -round(-np.degrees(np.arctan2(m[1] / s1, m[0] / s0)))
    theta -= 360 * np.floor(theta / 360 + 0.9 / 360)
    if abs(theta - 90) < 1:
        return ["transpose"] if matrix[3] > 0 else ["clock"]
    if abs(theta - 180) < 1:
        return (["hflip"] if matrix[0] < 0 else []) + (["vflip"] if matrix[4] < 0 else [])
    if abs(theta - 270) < 1:
        return ["clock", "vflip"] if matrix[3] < 0 else ["cclock"]
    if abs(theta) < 1:
        return ["vflip"] if matrix[4] < 0 else []
    return []


def apply_ops(rgb: np.ndarray, ops: list[str]) -> np.ndarray:
    """(H, W, C) turned and mirrored by :func:`display_ops`' list, in order."""
    for op in ops:
        rgb = {"hflip": lambda a: a[:, ::-1], "vflip": lambda a: a[::-1], "transpose": lambda a: a.transpose(1, 0, 2),
               "clock": lambda a: np.rot90(a, -1), "cclock": lambda a: np.rot90(a, 1)}[op](rgb)
    return np.ascontiguousarray(rgb)


def upright(frame) -> np.ndarray:
    """A decoded PyAV frame as uint8 (H, W, 3) RGB, turned and mirrored as its display matrix
    says (:func:`display_ops`, as ffmpeg's autorotate), so that it looks as a player shows it."""
    rgb = frame.to_ndarray(format="rgb24")
    ops = display_ops(display_matrix(frame))
    return apply_ops(rgb, ops) if ops else rgb


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


def sar_of(stream, turned: bool = False) -> str | None:
    """A PyAV video stream's sample (pixel) aspect ratio as "num:den", None for square or
    untagged pixels: an anamorphic source (DV's 32:27) keeps it in what is written from it
    (:func:`write_video`'s ``sar``). ``turned``: the frames are read turned a quarter (a
    90/270 degree display rotation), so a pixel's width and height swap."""
    r = stream.sample_aspect_ratio or getattr(stream.codec_context, "sample_aspect_ratio", None)
    if not r or r.numerator <= 0 or r.denominator <= 0 or r.numerator == r.denominator:
        return None
    return f"{r.denominator}:{r.numerator}" if turned else f"{r.numerator}:{r.denominator}"


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


HDR_TRANSFERS = {16: "HDR, PQ (smpte2084)", 18: "HDR, HLG (arib-std-b67)"}  # AVColorTransferCharacteristic
BT2020 = 9  # AVCOL_PRI_BT2020 and AVCOL_SPC_BT2020_NCL; 10: AVCOL_SPC_BT2020_CL


def hdr_transfer(frame) -> str | None:
    """What makes a decoded PyAV frame more than SDR BT.709, in words: an HDR transfer (PQ or
    HLG), else BT.2020 primaries or matrix (wide gamut; HDR files whose transfer tag was lost
    carry only this); None for SDR. Such frames are read as their code values, untouched."""
    kind = HDR_TRANSFERS.get(int(getattr(frame, "color_trc", 0) or 0))
    if kind is None and (int(getattr(frame, "color_primaries", 0) or 0) == BT2020
                         or int(getattr(frame, "colorspace", 0) or 0) in (BT2020, BT2020 + 1)):
        kind = "BT.2020 wide gamut, possibly HDR"
    return kind


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
