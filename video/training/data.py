"""Training data: a procedural moving-shapes set (offline, deterministic per index), image
folders with ``.txt`` captions (stage 1), and curation manifests (stages 2 and 3).

Every dataset returns ``{"video": (F, 3, H, W) float in [-1, 1], "caption": str, "fps": float,
"motion": float}``; an image is a one-frame video.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 80, 220), "yellow": (230, 210, 40),
           "white": (235, 235, 235)}
SHAPES = ("square", "circle")
DIRECTIONS = {"right": (1, 0), "left": (-1, 0), "down": (0, 1), "up": (0, -1)}


class MovingShapes(torch.utils.data.Dataset):
    """A coloured shape moving over a dark background, captioned with what it is and where it
    goes ("a red circle moving left"). Item ``i`` is the same on every machine."""

    def __init__(self, size: int = 512, frames: int = 9, height: int = 64, width: int = 64, fps: float = 8.0,
                 seed: int = 0):
        self.size, self.frames, self.height, self.width, self.fps, self.seed = size, frames, height, width, fps, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng((self.seed, i))
        colour = list(COLOURS)[rng.integers(len(COLOURS))]
        shape = SHAPES[rng.integers(len(SHAPES))]
        direction = list(DIRECTIONS)[rng.integers(len(DIRECTIONS))]
        dx, dy = DIRECTIONS[direction]
        h, w = self.height, self.width
        r = rng.uniform(0.12, 0.2) * min(h, w)
        speed = rng.uniform(0.02, 0.05) * min(h, w)
        x0 = rng.uniform(r, w - r) - dx * speed * self.frames / 2
        y0 = rng.uniform(r, h - r) - dy * speed * self.frames / 2
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        bg = np.array([20, 20, 30], np.float32) + rng.uniform(0, 20)
        out = np.empty((self.frames, h, w, 3), np.float32)
        for f in range(self.frames):
            cx, cy = x0 + dx * speed * f, y0 + dy * speed * f
            if shape == "circle":
                inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
            else:
                inside = (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r)
            out[f] = np.where(inside[..., None], np.array(COLOURS[colour], np.float32), bg)
        video = torch.from_numpy(out).permute(0, 3, 1, 2) / 127.5 - 1.0
        caption = f"a {colour} {shape} moving {direction}" if self.frames > 1 else f"a {colour} {shape}"
        return {"video": video, "caption": caption, "fps": self.fps, "motion": float(speed)}


class ImageFolder(torch.utils.data.Dataset):
    """Images under a folder (recursively), each with an optional ``.txt`` caption beside it."""

    SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}

    def __init__(self, root: str | Path, height: int, width: int):
        from video.media import MediaError

        self.paths = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in self.SUFFIXES)
        if not self.paths:
            raise MediaError(f"no images under {root}")
        self.height, self.width = height, width

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict:
        from video.media import image_to_tensor

        p = self.paths[i]
        cap = p.with_suffix(".txt")
        x = image_to_tensor(p, self.height, self.width)[0] * 2 - 1
        return {"video": x[None], "caption": cap.read_text().strip() if cap.is_file() else "", "fps": 0.0,
                "motion": 0.0}


class ManifestClips(torch.utils.data.Dataset):
    """Kept clips of a ``curate`` manifest, ``frames`` frames sampled at ``fps`` from each clip's
    [start_frame, end_frame) with random access (decord when installed, else PyAV)."""

    def __init__(self, manifest: str | Path, frames: int, height: int, width: int, fps: float = 8.0,
                 where: str | None = None):
        import pyarrow.parquet as pq

        table = pq.read_table(manifest).to_pandas()
        table = table[table["keep"].astype(bool) & table["error"].isna()]
        if where:
            table = table.query(where)
        if table.empty:
            raise ValueError(f"{manifest}: no kept clips{' matching ' + where if where else ''}")
        self.rows = table.reset_index(drop=True)
        self.frames, self.height, self.width, self.fps = frames, height, width, fps
        self.root = Path(manifest).parent

    def __len__(self) -> int:
        return len(self.rows)

    def frame_indices(self, start: int, end: int, src_fps: float) -> list[int]:
        step = max(1.0, src_fps / self.fps)
        idx = [start + int(round(k * step)) for k in range(self.frames)]
        return [min(i, end - 1) for i in idx]

    def __getitem__(self, i: int) -> dict:
        row = self.rows.iloc[i]
        path = row.get("clip_path") or row["source"]
        start, end = (0, int(row["num_frames"])) if row.get("clip_path") else (int(row["start_frame"]), int(row["end_frame"]))
        idx = self.frame_indices(start, end, float(row["fps"]))
        frames = read_frames(Path(path) if Path(path).is_absolute() else Path(path), idx)
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
        x = torch.nn.functional.interpolate(x, size=(self.height, self.width), mode="bilinear", antialias=True,
                                            align_corners=False)
        motion = row.get("motion_mean", 0.0)
        return {"video": x * 2 - 1, "caption": row.get("caption") or "", "fps": self.fps,
                "motion": 0.0 if motion is None or (isinstance(motion, float) and math.isnan(motion)) else float(motion)}


def read_frames(path: Path, indices: list[int]) -> np.ndarray:
    """uint8 (len(indices), H, W, 3) by frame index."""
    try:
        import decord

        vr = decord.VideoReader(str(path))
        return vr.get_batch(indices).asnumpy()
    except ImportError:
        from video.media import read_video

        frames = read_video(path)
        return frames[np.clip(indices, 0, len(frames) - 1)]


def collate(items: list[dict]) -> dict:
    """Tensors stacked, numbers to a tensor, strings to a list, key by key."""
    out = {}
    for k, v in items[0].items():
        vals = [it[k] for it in items]
        out[k] = torch.stack(vals) if isinstance(v, torch.Tensor) else vals if isinstance(v, str) else torch.tensor(vals)
    return out
