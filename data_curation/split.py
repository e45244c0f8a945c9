"""Shots -> clips: short shots dropped, long ones split, clip files written only on request.

By default a clip is only a reference (source path + frame range): no bytes are copied. With
``extract`` a clip file is written with ffmpeg, by stream copy when the clip starts on a
keyframe (no quality loss, ~free) and by re-encoding otherwise (frame-exact).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from video.media import MediaError, ffmpeg_exe, video_stream


def plan_clips(shots: list[list[int]], fps: float, min_s: float, max_s: float, trim_s: float = 0.0) -> list[tuple[int, int]]:
    """Clip frame ranges ``[start, end)``: each shot trimmed by ``trim_s`` at both ends, dropped if
    shorter than ``min_s``, cut into consecutive pieces of ``max_s`` (a last piece shorter than
    ``min_s`` is dropped)."""
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

    with av.open(str(path)) as c:
        s = video_stream(c, path)
        rate = s.average_rate or s.guessed_rate
        fps, tb, t0 = float(rate), float(s.time_base), s.start_time or 0
        return sorted(round((p.pts - t0) * tb * fps) for p in c.demux(s) if p.is_keyframe and p.pts is not None)


def extract_clip(src: str | Path, start: int, end: int, fps: float, dest: str | Path,
                 keyframe_set: set[int] | None = None) -> tuple[Path, str]:
    """Write frames ``[start, end)`` of ``src`` to ``dest`` (mp4, temp name then rename).
    Returns the path and the method used: ``copy`` or ``encode``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.partial.mp4")
    copy = keyframe_set is not None and start in keyframe_set
    args = [ffmpeg_exe(), "-y", "-loglevel", "error", "-ss", f"{start / fps:.6f}", "-i", str(src),
            "-frames:v", str(end - start), "-an"]
    if copy:
        args += ["-c:v", "copy", "-avoid_negative_ts", "make_zero"]
    else:
        args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"]
    args += ["-movflags", "+faststart", "-f", "mp4", str(tmp)]
    try:
        proc = subprocess.run(args, capture_output=True)
        if proc.returncode != 0:
            raise MediaError(f"ffmpeg failed extracting {dest.name}: {proc.stderr.decode(errors='replace').strip()[-200:]}")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest, "copy" if copy else "encode"
