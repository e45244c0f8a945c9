"""Writing videos and images: mp4 (H.264), webm (VP9), gif, one image, or a folder of PNGs.

Writing goes through the ffmpeg binary of imageio-ffmpeg (arguments as a list, never a shell
string), with an input's audio muxed in where asked (:func:`audio_to_keep`). Every output is
written under a temporary name in the destination folder and renamed when complete, so an
interrupted run never leaves a truncated file where a finished one is expected.
"""

from __future__ import annotations

import numbers
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from video.atomic import atomic_file, atomic_folder
from video.media.errors import MediaError
from video.media.ffmpeg_io import TIME_BASE, ffmpeg_exe, media_path, nut_chunks, raw_chunks, run_ffmpeg
from video.media.read import ATTACHED_PIC

VIDEO_FORMATS = ("mp4", "webm", "gif", "png")  # "png": a folder of PNG frames
# an output named with one of these is one image file: a one-frame result (``--frames 1``, an upscaled photo)
IMAGE_OUTPUTS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def plural(n: int, noun: str) -> str:
    """``1 frame``, ``2 frames``: the count in the "wrote ..." lines."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _format_of(path: str | Path, fmt: str | None) -> str:
    """``fmt``, else PNG frames for a name without a suffix, an existing folder (``out.d``:
    judged by its suffix alone it was refused as an unknown video format) or a name given with a
    trailing separator (``frames_v1.5/``, which ``Path`` drops: it was refused as a ``.5``
    video), "image" for an image suffix (:data:`IMAGE_OUTPUTS`: one image file, where ``x.png``
    used to become a folder), else the suffix. Callers pass the path as the user gave it."""
    if fmt:
        return fmt
    if isinstance(path, str) and path.endswith(("/", os.sep)):
        return "png"
    path = Path(path)
    if path.suffix == "" or path.is_dir():
        return "png"
    if path.suffix.lower() in IMAGE_OUTPUTS:
        return "image"
    ext = path.suffix.lower().lstrip(".")
    if ext not in VIDEO_FORMATS:
        raise MediaError(f"cannot write {path.name}: use .mp4, .webm, .gif, .png/.jpg/.webp for one frame, or a "
                         f"folder name for PNG frames ({path.name}/ with the slash)")
    return ext


def _one_image_only(path: Path, num_frames: int) -> None:
    """An image file holds one frame: more is one line naming what to write instead."""
    if num_frames > 1:
        raise MediaError(f"cannot write {plural(num_frames, 'frame')} to the image {path.name}: name a folder "
                         f"({path.with_suffix('').name}) for PNG frames, or {path.with_suffix('.mp4').name}")


# the largest frame side each video format's encoder takes (tried with the bundled ffmpeg:
# libx264 refuses 2x16386, "invalid width x height"; libvpx-vp9 takes up to 65536; GIF stores 16 bits)
MAX_SIDE = {"mp4": 16384, "webm": 65536, "gif": 65535}
CODEC_NAMES = {"mp4": "H.264 (mp4)", "webm": "VP9 (webm)", "gif": "GIF"}


def _check_size(path: Path, fmt: str, width: int, height: int) -> None:
    """A one-line MediaError for a frame size ``fmt`` cannot hold: under 2x2 for mp4/webm
    (4:2:0), or a side over :data:`MAX_SIDE` (after :func:`write_video` drops an odd last
    row/column), where ffmpeg failed only once the whole clip was rendered."""
    if fmt in ("mp4", "webm"):
        if width < 2 or height < 2:
            raise MediaError(f"cannot write {path.name}: {fmt} needs frames at least 2x2, got {width}x{height}")
        width, height = width // 2 * 2, height // 2 * 2
    most = MAX_SIDE.get(fmt)
    if most is not None and max(width, height) > most:
        other = "" if fmt != "mp4" else f" (.webm takes up to {MAX_SIDE['webm']}, a folder of PNGs any size)"
        raise MediaError(f"cannot write {path.name}: {CODEC_NAMES[fmt]} frames are at most {most} pixels on a "
                         f"side, got {width}x{height}{other}")


def _same_place(out: Path, source: Path) -> bool:
    """Whether ``out`` and ``source`` name one file or folder: :func:`os.path.samefile` where both
    exist (a symlink, a hard link, ``./x`` and ``x``), else their resolved paths."""
    if out.exists() and source.exists():
        try:
            return os.path.samefile(out, source)
        except OSError:
            pass
    return os.path.realpath(out) == os.path.realpath(source)


def check_not_an_input(path: str | Path, inputs: dict[str, object], fmt: str | None = None) -> None:
    """A one-line MediaError when the output ``path`` is one of ``inputs`` ({flag: a path, a list
    of paths, or empty/None: not given}; the flag ``""`` is a command's positional input), or,
    for a PNG-folder output, holds one: writing it replaces (or, for a folder, deletes) what the
    command reads, as ``video upscale clip.mp4 --output clip.mp4`` did without a word. Said
    before any model loads, as ffmpeg refuses an output that is its input."""
    folder = _format_of(path, fmt) == "png"
    out = Path(path)
    for flag, given in inputs.items():
        for source in given if isinstance(given, (list, tuple)) else [given]:
            if not isinstance(source, (str, Path)) or not str(source) or not os.path.lexists(source):
                continue  # not given, or not there: the input's own check says so
            what = f"the input {flag}" if flag else "the input"
            if _same_place(out, Path(source)):
                kind = "folder" if out.is_dir() else "file"
                raise MediaError(f"output {path} is the same {kind} as {what}; choose another --output")
            inside = os.path.realpath(source).startswith(os.path.join(os.path.realpath(out), ""))
            if folder and inside:
                raise MediaError(f"output {path} holds {what} ({source}), which writing it would delete; "
                                 "choose another --output")


def check_output(path: str | Path, fmt: str | None = None, num_frames: int | None = None,
                 size: tuple[int, int] | None = None, inputs: dict[str, object] | None = None) -> None:
    """Fail now, before minutes of rendering, on an output :func:`write_video` would refuse: an
    unknown suffix, a folder that holds files this tool did not write, a file where a folder of
    PNGs goes, a folder where a file goes, or a place no folder can be made or written in (the
    nearest existing parent is a file, or not writable). ``num_frames``, where the caller knows
    it already: more than one frame to an image name (``x.png``) is refused too. ``size``,
    (width, height) of the frames to be written, where the caller knows it: a size the format's
    encoder refuses (:func:`_check_size`: H.264 takes at most 16384 pixels a side) too.
    ``inputs``: the command's input files ({flag: path}), which the output must not be
    (:func:`check_not_an_input`); an existing output that is no input is replaced."""
    from video.atomic import check_replaceable

    if inputs:
        check_not_an_input(path, inputs, fmt)
    fmt = _format_of(path, fmt)
    path = Path(path)
    if path.name in ("", ".", ".."):
        path = path.resolve()
    if fmt == "image" and num_frames is not None:
        _one_image_only(path, num_frames)
    if size is not None:
        _check_size(path, fmt, int(size[0]), int(size[1]))
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
        with av.open(media_path(path)) as c:
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
        with av.open(media_path(path)) as c:
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
    fmt = _format_of(output, None)
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
    stays in sync with the source's audio; evenly spaced ones change nothing. A gif keeps them
    too (a GIF's own frame delays), rounded to its centiseconds (:func:`gif_stamps`).
    A gif's frames are at least 2/100 s apart (:data:`GIF_MAX_FPS`: browsers play a shorter
    delay as 1/10 s): one faster than that is written at 50 fps timing, with one warning line.
    ``sar``: the pixels' shape, "num:den" (a source's anamorphic 32:27), tagged on mp4/webm so
    the output displays at the source's shape; None or "1:1" for square pixels. A gif, PNG or
    image cannot carry it: their frames are resampled to square pixels, as a player shows them
    (:func:`square_pixels`, one warning line).
    The frames go to ffmpeg one at a time (:func:`video.media.ffmpeg_io.run_ffmpeg`), never as
    a second copy of the clip."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise MediaError(f"frames must be uint8 (F, H, W, 3), got {frames.dtype} {frames.shape}")
    fmt = _format_of(path, fmt)
    path = Path(path)
    if len(frames) == 0:  # ffmpeg would write a file without a video stream, and succeed
        raise MediaError(f"cannot write {path.name}: no frames")
    no_sar = fmt in ("gif", "png", "image")  # formats without a pixel shape: written square (square_pixels)
    width = square_width(frames.shape[2], sar) if no_sar else frames.shape[2]
    check_output(path, fmt, num_frames=len(frames), size=(width, frames.shape[1]))
    if no_sar:
        frames = square_pixels(frames, sar, path, fmt)
    if fmt in ("mp4", "webm"):
        check_crf(crf, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        return _write_png_folder(frames, path)
    if fmt == "image":
        return _write_image(frames[0], path)
    if fmt in ("mp4", "webm"):  # 4:2:0 needs even sizes: drop the odd last row/column
        h, w = frames.shape[1:3]
        if h % 2 or w % 2:
            warnings.warn(f"{path.name}: {fmt} (4:2:0) needs even sizes; writing {w // 2 * 2}x{h // 2 * 2} "
                          f"from {w}x{h} frames (last column/row dropped)", stacklevel=2)
            frames = frames[:, : h // 2 * 2, : w // 2 * 2]
    if fmt == "mp4" and crf == 0:
        warnings.warn(f"{path.name}: --crf 0 is lossless H.264, which only the High 4:4:4 Predictive profile "
                      f"holds; browsers and many players cannot play it (--crf 1 plays everywhere)", stacklevel=2)
    f, h, w, _ = frames.shape
    stamps = None
    if times is not None and fmt in ("mp4", "webm", "gif"):
        times = np.asarray(times, dtype=np.float64)[:f]
        ticks = np.round((times - times[0]) * TIME_BASE) if len(times) else times
        # only times that rise frame after frame (a stream without timestamps, or with a reset,
        # can repeat or go back): others are written at the average rate, as before
        if len(times) == f and uneven_times(times, fps) and bool(np.all(np.diff(ticks) > 0)):
            stamps = times - times[0]
    if fmt == "gif":
        stamps, fps = _gif_timing(path, stamps, fps, f)
    if stamps is None:
        data = raw_chunks(frames)
        args = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                "-s", f"{w}x{h}", "-r", str(fps), "-i", "-"]
        seconds = f / float(fps)
    else:  # the frames with their own timestamps (NUT carries them), passed through as they are
        last = last_frame_length(stamps, fps)
        data = nut_chunks(frames, stamps, last)
        args = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "nut", "-i", "-"]
        seconds = float(stamps[-1]) + last
    sound = audio_stream_info(audio) if audio is not None and fmt in AUDIO_ENCODE else None
    if sound is not None:
        codec, _start = sound
        shift = audio_shift(audio)
        args += (["-itsoffset", f"{shift:.6f}"] if abs(shift) > 1e-3 else []) + ["-i", media_path(audio),
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
        if stamps is not None:  # the last frame's delay, as the mp4's last frame lasts (centiseconds)
            args += ["-final_delay", str(min(GIF_MAX_DELAY, max(GIF_MIN_DELAY, round(last * 100))))]
    with atomic_file(path) as tmp:
        run_ffmpeg(args + ["-f", fmt, media_path(tmp)], data, path.name)
    return path


def last_frame_length(stamps: np.ndarray, fps: float) -> float:
    """How long the last of frames at ``stamps`` (seconds, rising) shows: as long as the gap
    before it, the rate the clip ends at. The median gap shortened a clip that ends slower than
    it mostly runs (30 fps for 1 s, then 10 fps: 1.95 s written of 2.0 s, its audio cut with
    it). One frame: ``1 / fps``."""
    return float(stamps[-1] - stamps[-2]) if len(stamps) > 1 else 1.0 / float(fps)


def square_width(width: int, sar: str | None) -> int:
    """The width at which a player shows ``width`` pixels of shape ``sar`` ("num:den"; the
    height stays): ``round(width * num / den)``, at least 1; ``width`` for square, untagged or
    unreadable ``sar``."""
    try:
        num, den = (int(v) for v in str(sar).split(":"))
    except ValueError:
        return width
    return max(1, round(width * num / den)) if num > 0 and den > 0 else width


def square_pixels(frames: np.ndarray, sar: str | None, path: Path, fmt: str) -> np.ndarray:
    """Frames of pixel shape ``sar`` ("num:den") resampled to square pixels at the width a player
    shows them (:func:`square_width`, the height kept, LANCZOS), with one warning line, for a
    format that stores no pixel shape (gif, PNG, an image): such an output of an anamorphic
    source was its stored, squeezed frames. Square or untagged: as they are."""
    f, h, w, _ = frames.shape
    width = square_width(w, sar)
    if width == w:
        return frames
    kind = {"gif": "a GIF", "png": "PNG frames", "image": "an image"}[fmt]
    warnings.warn(f"{path.name}: {kind} cannot store the source's pixel shape (SAR {sar}); frames resampled "
                  f"from {w}x{h} to {width}x{h} square pixels, as a player shows them", stacklevel=3)
    out = np.empty((f, h, width, 3), np.uint8)
    for i, fr in enumerate(frames):
        out[i] = np.asarray(Image.fromarray(fr).resize((width, h), Image.Resampling.LANCZOS))
    return out


GIF_MIN_DELAY = 2  # centiseconds: browsers play a GIF delay of 0 or 1 (<= 10 ms) as 10 (100 ms)
GIF_MAX_FPS = 100 / GIF_MIN_DELAY  # 50: the fastest rate a GIF plays at everywhere
GIF_MAX_DELAY = 65535  # centiseconds: a GIF delay is 16 bits (655.35 s); ffmpeg refuses a longer final delay


def gif_stamps(seconds: np.ndarray) -> tuple[np.ndarray, bool]:
    """Frame times (seconds from the first, rising) on a GIF's clock: each rounded to its
    centisecond from the start, not each delay on its own, so the delays sum to the source's
    length (1/30 s frames: 3, 4, 3 cs, not 3 cs each); a frame closer than
    :data:`GIF_MIN_DELAY` to the one before is moved to that distance, and the ones after catch
    up where they can. Returns (times in seconds, whether some frame was moved)."""
    cs = np.round(np.asarray(seconds, dtype=np.float64) * 100).astype(np.int64)
    step = GIF_MIN_DELAY * np.arange(len(cs))
    kept = np.maximum.accumulate(cs - step) + step  # kept[i] = max(cs[i], kept[i - 1] + GIF_MIN_DELAY)
    return kept / 100.0, bool(np.any(kept != cs))


def _gif_timing(path: Path, stamps: np.ndarray | None, fps: float, frames: int) -> tuple[np.ndarray | None, float]:
    """(stamps, fps) for a gif: its own frame times on the GIF clock (:func:`gif_stamps`), or
    above :data:`GIF_MAX_FPS` 50 fps timing; one warning line where frames come out slower,
    since a browser would play them at 10 fps (the one home of this rule: the ComfyUI node and
    every command write through here)."""
    if stamps is not None:
        stamps, moved = gif_stamps(stamps)
        if moved:
            warnings.warn(f"{path.name}: GIF frames closer than {GIF_MIN_DELAY}/100 s play at 10 fps in browsers; "
                          f"written at least {GIF_MIN_DELAY}/100 s apart (write .mp4 or .webm to keep the timing)",
                          stacklevel=3)
        return stamps, fps
    if float(fps) > GIF_MAX_FPS and frames > 1:  # a still has no playback rate to lose
        warnings.warn(f"{path.name}: a GIF at {float(fps):g} fps plays at 10 fps in browsers (delays under "
                      f"{GIF_MIN_DELAY}/100 s); written at {GIF_MAX_FPS:g} fps timing, all frames kept, "
                      f"{float(fps) / GIF_MAX_FPS:.2g}x slower (write .mp4 or .webm to keep {float(fps):g} fps)",
                      stacklevel=3)
        return None, GIF_MAX_FPS
    return None, fps


def uneven_times(times: np.ndarray, fps: float) -> bool:
    """Whether frame times (seconds) stray from the even grid ``times[0] + i / fps`` by more
    than half a frame somewhere: then writing the frames at ``fps`` moves some of them away
    from the source's audio (a clip at 24 then 30 fps, written at its 26.9 fps average, was
    215 ms out of sync mid-clip)."""
    t = np.asarray(times, dtype=np.float64)
    if len(t) < 2 or not fps:
        return False
    return bool(np.abs(t - t[0] - np.arange(len(t)) / float(fps)).max() > 0.5 / float(fps))


@contextmanager
def _write_errors(path: Path) -> Iterator[None]:
    """A failed write of an image or PNG frames (a full disk, a file-size limit, an I/O error)
    as one MediaError line, as ffmpeg's failures of a video are (PIL raised the bare OSError
    from its close, a traceback). The temporary is gone already (:mod:`video.atomic`); a
    folder found there meanwhile (FileExistsError) says its own line."""
    try:
        yield
    except OSError as e:
        if isinstance(e, FileExistsError) or not e.strerror:
            raise
        raise MediaError(f"cannot write {path}: {e.strerror}") from None


def _write_image(frame: np.ndarray, path: Path) -> Path:
    """One frame as the image file ``path`` (its suffix picks the format; PNG lossless, JPEG and
    WebP at quality 95), under a temporary name renamed when complete as every output is."""
    kind = IMAGE_OUTPUTS[path.suffix.lower()]
    with _write_errors(path), atomic_file(path) as tmp:
        Image.fromarray(frame).save(tmp, format=kind, **({} if kind == "PNG" else {"quality": 95}))
    return path


def _write_png_folder(frames: np.ndarray, path: Path) -> Path:
    with _write_errors(path), atomic_folder(path) as tmp:
        for i, fr in enumerate(frames):
            Image.fromarray(fr).save(tmp / f"{i:05d}.png")
    return path
