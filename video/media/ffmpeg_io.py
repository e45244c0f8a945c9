"""Talking to FFmpeg: file names it reads as files, frames fed to the ffmpeg binary as they
are made, and its error output cut down to the line that names the cause.

Shared by the readers (PyAV) and writers (the ffmpeg command) of :mod:`video.media`, and by
other packages that hand paths to either (:func:`media_path`).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from video.media.errors import MediaError

TIME_BASE = 90000  # ticks per second of the timestamps handed to ffmpeg (MPEG's clock)


def ffmpeg_exe() -> str:
    """The ffmpeg binary of imageio-ffmpeg (bundled, so every machine runs the same one)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def media_path(path: str | Path) -> str:
    """``path`` as FFmpeg (PyAV's ``av.open`` and the ffmpeg command alike) must be given a
    file: absolute. FFmpeg reads ``NAME:rest`` as protocol ``NAME`` whenever NAME is letters,
    digits, ``+-.``: ``take:1.mp4`` and ``2024-05-01T10:30:00.mp4`` were "protocol not found",
    and an output named ``-x.mp4`` an option. An absolute path starts with ``/`` (or a drive
    letter, which FFmpeg knows on Windows only), so it is always a file; ``..`` and symlinks
    are left for the system to resolve, as for the relative name. (A ``file:`` prefix works
    for both as well; an absolute path also reads plainly in ffmpeg's own messages.)"""
    return str(Path(path).absolute())


# ffmpeg's wrap-up lines after a failure: they say that something failed, never what
_GENERIC = re.compile(r"Error while opening encoder|Error sending frames|Task finished with error|"
                      r"Terminating thread|Nothing was written into output|Could not open encoder before EOF|"
                      r"Conversion failed|Error while filtering|Error opening output files?:|"
                      r"Error closing|Error submitting|Error while processing the decoded")
_CAUSE = re.compile(r"error|invalid|\bnot\b|failed|unsupported|out of range|no such|denied|cannot|can't|"
                    r"unable|too (large|big|small)", re.IGNORECASE)
_ADDRESS = re.compile(r"\[([^\]\[@]+?) @ 0x[0-9a-fA-F]+\] ")  # "[libx264 @ 0x55d...] " -> "libx264: "


def ffmpeg_error(stderr: str) -> str:
    """One line of ffmpeg's error output that names the cause: the first line saying an error,
    "invalid", "not", "failed" and the like that is not one of ffmpeg's generic wrap-up lines
    ("Error while opening encoder", "Task finished with error code", ...), with an "Additional
    information" line after it (libvpx gives its reason there); else the last non-empty line.
    The whole output's last 300 characters lost the cause (``libx264: invalid width x height
    (2x17000)`` comes first, eight wrap-up lines after it)."""
    lines = [_ADDRESS.sub(r"\1: ", ln).strip() for ln in stderr.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        return "no error message"
    if any("No space left on device" in ln for ln in lines):  # said after "Error muxing a packet" mid-stream
        return "No space left on device"
    for i, ln in enumerate(lines):
        if _CAUSE.search(ln) and not _GENERIC.search(ln):
            more = lines[i + 1] if i + 1 < len(lines) and "Additional information" in lines[i + 1] else ""
            return f"{ln} ({more.split('Additional information:', 1)[-1].strip()})" if more else ln
    return lines[-1]


def run_ffmpeg(args: list[str], chunks: Iterable[bytes | memoryview | np.ndarray], what: str) -> None:
    """Run the ffmpeg command ``args`` (reading ``-i -``) with ``chunks`` written to its stdin
    one at a time, as they are made: a whole clip joined into one bytes object first held it
    twice (three times for a cropped clip). ffmpeg closing its input early (it has what
    ``-t`` asks for) ends the feeding; a failure is a MediaError naming ``what`` and the cause
    (:func:`ffmpeg_error`). Its stderr goes to a temporary file, so a chatty ffmpeg can never
    block on a full pipe while we block on its stdin."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        try:
            try:
                for chunk in chunks:
                    proc.stdin.write(chunk)
                proc.stdin.close()
            except BrokenPipeError:  # ffmpeg stopped reading: its exit status says whether that was wrong
                pass
        except BaseException:  # an interrupt, or a chunk that could not be made: ffmpeg must not linger
            proc.kill()
            proc.wait()
            raise
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        if proc.wait() != 0:
            err.seek(0)
            raise MediaError(f"ffmpeg failed writing {what}: {ffmpeg_error(err.read().decode(errors='replace'))}")


def raw_chunks(frames: np.ndarray) -> Iterator[np.ndarray]:
    """The frames as raw RGB for ``-f rawvideo``, one frame at a time (a cropped, non-contiguous
    clip is copied a frame at a time, not whole)."""
    for fr in frames:
        yield np.ascontiguousarray(fr)


class _Parts:
    """A write-only file for PyAV's muxer: what it writes is collected until taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def nut_chunks(frames: np.ndarray, seconds: np.ndarray, last: float) -> Iterator[bytes]:
    """The frames as raw RGB in a NUT stream, each with its timestamp (``seconds``), for ffmpeg
    to read from a pipe (a raw pipe has one fixed rate, NUT keeps each frame's time): the same
    bytes as muxing the whole clip into memory, handed over a frame at a time.
    ``last``: how long the last frame shows (seconds). NUT stores no packet durations: ffmpeg
    gives each frame ``1 / rate`` of the stream, and only the last one keeps it (the others
    last until the next timestamp), so the rate is ``1 / last``. PyAV's default 24 fps ended a
    variable-rate mp4/webm 1/24 s after its last frame's time (1.34 s of 1.5 s; the audio,
    cut at the intended length, ran past the picture)."""
    from fractions import Fraction

    import av

    sink = _Parts()
    tb = Fraction(1, TIME_BASE)
    with av.open(sink, "w", format="nut") as c:
        s = c.add_stream("rawvideo", rate=Fraction(TIME_BASE, max(1, round(last * TIME_BASE))))
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
        s.time_base = s.codec_context.time_base = tb
        ticks = np.round(np.asarray(seconds) * TIME_BASE).astype(np.int64)
        for fr, pts in zip(frames, ticks, strict=True):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(fr), format="rgb24")
            vf.pts, vf.time_base = int(pts), tb
            for pkt in s.encode(vf):
                c.mux(pkt)
            if sink.parts:
                yield sink.take()
        for pkt in s.encode():
            c.mux(pkt)
    yield sink.take()


__all__ = ["TIME_BASE", "ffmpeg_error", "ffmpeg_exe", "media_path", "nut_chunks", "raw_chunks", "run_ffmpeg"]
