"""One decode per clip, shared by every scorer: the scorers never open the video themselves.

Inside a Ray task the clip's frame range is decoded here (frames never travel through Ray
blocks) and reduced to what the scorers need: per-frame luma statistics for every frame,
each frame's change from the frame :data:`STILL_LAG_S` earlier, small grey frames at
``sample_fps`` for optical flow, and first/middle/last RGB key frames, turned upright as a
player shows them (a phone's portrait video is stored landscape plus a rotation).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from video.media import MediaError, grid_frames, upright

KEY_MAX_SIDE = 512
# "Has the picture changed?" is asked of frames a fixed time apart, not of neighbours: one frame
# of a slow pan moves a fraction of a pixel (at 60 fps as at 24), and 10 fps footage in a 30 fps
# file repeats each picture three times, yet neither is a still. Over half a second a 5 px/s pan
# moves 2.5 px, well above compression noise at a 64 px short side.
STILL_LAG_S, STILL_SHORT_SIDE = 0.5, 64
# Sharpness is measured at one working size, reached in one resampling from the decoded frame:
# the Laplacian's variance falls with the square of a plain resize, so at native size a 1080p
# copy of a scene scored a sixth of its 320x180 copy.
SHARP_SHORT_SIDE = 180


@dataclass
class ClipFrames:
    luma_mean: np.ndarray  # (n,) every frame's mean luma, 0..1
    luma_std: np.ndarray  # (n,)
    still_diff: np.ndarray  # (n - lag,) mean |Y_t - Y_{t-lag}|, 0..1, lag = STILL_LAG_S (>= 1 frame), 64 px short side
    sampled: np.ndarray  # (s, h, w) uint8 grey frames at sample_fps, short side = sample_short_side
    sample_step: int  # frames between samples
    keys: list[np.ndarray]  # first, middle, last frame, RGB uint8, upright, longest side <= KEY_MAX_SIDE
    key_luma: list[np.ndarray]  # the same frames' luma, uint8, short side SHARP_SHORT_SIDE (as coded, not turned)
    fps: float


def _small(y: np.ndarray, short_side: int) -> np.ndarray:
    import cv2

    h, w = y.shape
    s = short_side / min(h, w)
    return cv2.resize(y, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def to_short_side(y: np.ndarray, short_side: int) -> np.ndarray:
    """``y`` resized so that its short side is ``short_side``: area-averaged when shrinking,
    bicubic when enlarging (area would repeat pixels)."""
    import cv2

    h, w = y.shape[:2]
    s = short_side / min(h, w)
    if s == 1:
        return y
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(y, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def luma8(frame) -> np.ndarray:
    """A decoded PyAV frame's luma as uint8 (H, W). Planar 8-bit YUV is read straight from its
    plane; deeper YUV (10/12/16-bit, stored as 16-bit words) is scaled to 8 bits, as a 10-bit
    encode of 8-bit content gives it back; anything else is converted by libswscale."""
    fmt = frame.format
    if fmt.name.startswith("yuv") and fmt.is_planar and not fmt.is_bit_stream:
        bits, p = fmt.components[0].bits, frame.planes[0]
        if bits == 8:
            return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[: frame.height, : frame.width]
        if 8 < bits <= 16:
            words = np.frombuffer(p, ">u2" if fmt.is_big_endian else "<u2").reshape(-1, p.line_size // 2)
            return scale_to_8bit(words[: frame.height, : frame.width], bits)
    return frame.to_ndarray(format="gray")


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 frames, on the 0..1 scale."""
    return float(np.abs(a.astype(np.float32) - b).mean() / 255.0)


def scale_to_8bit(words: np.ndarray, bits: int) -> np.ndarray:
    """``bits``-deep integer samples to uint8, rounded: ``v / 2**(bits - 8)``."""
    shift = bits - 8
    return np.minimum((words.astype(np.uint32) + (1 << (shift - 1))) >> shift, 255).astype(np.uint8)


def read_clip(path: str, start: int, end: int, fps: float, sample_fps: float = 2.0,
              sample_short_side: int = 64) -> ClipFrames:
    """Decode frames ``[start, end)`` of ``path`` (:func:`grid_frames`) and reduce them for the scorers."""
    import av
    import cv2

    if end <= start:
        raise MediaError(f"{path}: empty frame range [{start}, {end})")
    step = max(1, round(fps / sample_fps))
    lag = max(1, round(STILL_LAG_S * fps))
    key_at = {start, (start + end - 1) // 2, end - 1}
    means, stds, still, sampled, keys, key_luma = [], [], [], [], {}, {}
    recent: deque[np.ndarray] = deque(maxlen=lag)  # the last ``lag`` frames at STILL_SHORT_SIDE
    try:
        for i, frame in grid_frames(path, start, end, fps):
            y = luma8(frame)
            tiny = _small(y, 32).astype(np.float32) / 255.0
            means.append(tiny.mean())
            stds.append(tiny.std())
            sm = _small(y, STILL_SHORT_SIDE)
            if recent and sm.shape != recent[0].shape:
                raise MediaError(f"{path}: frame size changes inside clip [{start}, {end})")
            if len(recent) == lag:
                still.append(mean_abs_diff(sm, recent[0]))
            recent.append(sm)
            if (i - start) % step == 0:
                sampled.append(_small(y, sample_short_side))
            if i in key_at:
                key_luma[i] = to_short_side(y, SHARP_SHORT_SIDE)
                rgb = upright(frame)
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
    if not still and len(recent) > 1:  # a clip shorter than the lag: its last frame against its first
        still.append(mean_abs_diff(recent[-1], recent[0]))
    key_list = [keys[k] for k in sorted(keys)] or [np.zeros((8, 8, 3), np.uint8)]
    luma_list = [key_luma[k] for k in sorted(key_luma)] or [np.zeros((8, 8), np.uint8)]
    while len(key_list) < 3:
        key_list.append(key_list[-1])
        luma_list.append(luma_list[-1])
    return ClipFrames(np.asarray(means), np.asarray(stds), np.asarray(still, np.float64), np.stack(sampled), step,
                      key_list, luma_list, fps)
