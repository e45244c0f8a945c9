"""One decode per clip, shared by every scorer: the scorers never open the video themselves.

Inside a Ray task the clip's frame range is decoded here (frames never travel through Ray
blocks) and reduced to what the scorers need: per-frame luma statistics for every frame,
small grey frames at ``sample_fps`` for optical flow, and first/middle/last RGB key frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from video.media import MediaError, grid_frames

KEY_MAX_SIDE = 512


@dataclass
class ClipFrames:
    luma_mean: np.ndarray  # (n,) every frame's mean luma, 0..1
    luma_std: np.ndarray  # (n,)
    diff: np.ndarray  # (n,) mean |Y_t - Y_{t-1}| on a small frame, 0..1 (first is NaN)
    sampled: np.ndarray  # (s, h, w) uint8 grey frames at sample_fps, short side = sample_short_side
    sample_step: int  # frames between samples
    keys: list[np.ndarray]  # first, middle, last frame, RGB uint8, longest side <= KEY_MAX_SIDE
    fps: float


def _small(y: np.ndarray, short_side: int) -> np.ndarray:
    import cv2

    h, w = y.shape
    s = short_side / min(h, w)
    return cv2.resize(y, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def read_clip(path: str, start: int, end: int, fps: float, sample_fps: float = 2.0,
              sample_short_side: int = 64) -> ClipFrames:
    """Decode frames ``[start, end)`` of ``path`` (:func:`grid_frames`) and reduce them for the scorers."""
    import av
    import cv2

    if end <= start:
        raise MediaError(f"{path}: empty frame range [{start}, {end})")
    step = max(1, round(fps / sample_fps))
    key_at = {start, (start + end - 1) // 2, end - 1}
    means, stds, diffs, sampled, keys = [], [], [], [], {}
    prev = None
    try:
        for i, frame in grid_frames(path, start, end, fps):
            p = frame.planes[0] if frame.format.name.startswith("yuv") else None
            if p is not None:
                y = np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[: frame.height, : frame.width]
            else:
                y = frame.to_ndarray(format="gray")
            tiny = _small(y, 32).astype(np.float32) / 255.0
            means.append(tiny.mean())
            stds.append(tiny.std())
            diffs.append(np.nan if prev is None else float(np.abs(tiny - prev).mean()))
            prev = tiny
            if (i - start) % step == 0:
                sampled.append(_small(y, sample_short_side))
            if i in key_at:
                rgb = frame.to_ndarray(format="rgb24")
                scale = KEY_MAX_SIDE / max(rgb.shape[:2])
                if scale < 1:
                    rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                                     interpolation=cv2.INTER_AREA)
                keys[i] = rgb
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: decoding frames {start}..{end} failed ({e.__class__.__name__})") from None
    if not means:
        raise MediaError(f"{path}: no frames decoded in [{start}, {end})")
    if len({a.shape for a in sampled}) > 1:
        raise MediaError(f"{path}: frame size changes inside clip [{start}, {end})")
    key_list = [keys[k] for k in sorted(keys)] or [np.zeros((8, 8, 3), np.uint8)]
    while len(key_list) < 3:
        key_list.append(key_list[-1])
    return ClipFrames(np.asarray(means), np.asarray(stds), np.asarray(diffs), np.stack(sampled), step, key_list, fps)
