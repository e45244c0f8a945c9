"""What an evaluation reads: generated and reference videos (mp4/webm/gif files or folders of
PNG frames, matched by name) and prompts (a text file, one per video, or JSON name -> prompt)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from video.media import MediaError, probe_video, read_video

VIDEO_SUFFIXES = (".mp4", ".webm", ".gif")


class EvalError(ValueError):
    """An input the user can fix (missing folder, bad prompts file, weights path that is not there)."""


@dataclass
class Video:
    name: str  # file stem or folder name: the key that matches reference and prompt
    path: Path
    frames: np.ndarray  # uint8 (F, H, W, 3)
    fps: float | None  # None for PNG folders and containers that do not say


def _is_png_folder(p: Path) -> bool:
    return p.is_dir() and any(p.glob("*.png"))


def discover(path: str | Path) -> list[Path]:
    """One video file or PNG folder, or a folder holding several: sorted by name."""
    p = Path(path)
    if not p.exists():
        raise EvalError(f"{p} does not exist")
    if p.is_file():
        if p.suffix.lower() not in VIDEO_SUFFIXES:
            raise EvalError(f"{p.name}: not a video (use .mp4, .webm, .gif or a folder of PNG frames)")
        return [p]
    found = sorted(c for c in p.iterdir() if not c.name.startswith(".")  # .partial files of unfinished writes
                   and ((c.is_file() and c.suffix.lower() in VIDEO_SUFFIXES) or _is_png_folder(c)))
    if not found and _is_png_folder(p):
        return [p]
    if not found:
        raise EvalError(f"{p}: no videos (.mp4, .webm, .gif or folders of PNG frames) inside")
    return found


def read_frames(path: Path) -> tuple[np.ndarray, float | None]:
    """uint8 (F, H, W, 3) frames and fps (None where unknown) of a video file or PNG folder."""
    if path.is_dir():
        from PIL import Image

        pngs = sorted(path.glob("*.png"))
        frames = [np.asarray(Image.open(f).convert("RGB")) for f in pngs]
        if len({f.shape for f in frames}) > 1:
            raise MediaError(f"{path}: PNG frames differ in size")
        return np.stack(frames), None
    frames = read_video(path)
    fps = probe_video(path)["fps"] if path.suffix.lower() != ".gif" else None
    return frames, fps


def load_videos(path: str | Path) -> list[Video]:
    out = []
    for p in discover(path):
        try:
            frames, fps = read_frames(p)
        except MediaError:
            raise
        except Exception as e:  # PyAV / PIL errors on a broken file: one line naming it
            raise MediaError(f"{p}: not a readable video ({e.__class__.__name__})") from None
        name = p.name if p.is_dir() else p.stem
        out.append(Video(name, p, frames, fps))
    names = [v.name for v in out]
    if len(set(names)) != len(names):
        raise EvalError(f"{path}: two videos share a name ({sorted(n for n in names if names.count(n) > 1)[0]})")
    return out


def read_prompts(path: str | Path, names: list[str]) -> dict[str, str]:
    """Prompt per video name: JSON {name: prompt} (names may carry their suffix), or a text file
    with one prompt per line in the sorted order of the videos."""
    p = Path(path)
    if not p.is_file():
        raise EvalError(f"prompts file {p} not found")
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise EvalError(f"{p}: not valid JSON ({e.msg}, line {e.lineno})") from None
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise EvalError(f"{p}: expected a JSON object mapping video name to prompt")
        by_stem = {Path(k).stem if Path(k).suffix.lower() in VIDEO_SUFFIXES else k: v for k, v in raw.items()}
        missing = [n for n in names if n not in by_stem]
        if missing:
            raise EvalError(f"{p}: no prompt for {missing[0]} ({len(missing)} of {len(names)} videos missing)")
        return {n: by_stem[n] for n in names}
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) != len(names):
        raise EvalError(f"{p}: {len(lines)} prompts for {len(names)} videos (one line per video, in name order)")
    return dict(zip(names, lines, strict=True))


def align(gen: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Generated and reference frames made comparable: the first min(F) frames of each, the
    reference resized to the generated size. Returns (generated, reference, notes)."""
    notes = []
    if ref.shape[1:3] != gen.shape[1:3]:
        from PIL import Image

        h, w = gen.shape[1:3]
        notes.append(f"reference resized from {ref.shape[2]}x{ref.shape[1]} to {w}x{h}")
        ref = np.stack([np.asarray(Image.fromarray(f).resize((w, h), Image.Resampling.BICUBIC)) for f in ref])
    if len(ref) != len(gen):
        notes.append(f"compared the first {min(len(ref), len(gen))} frames (generated {len(gen)}, reference {len(ref)})")
    n = min(len(ref), len(gen))
    return gen[:n], ref[:n], notes
