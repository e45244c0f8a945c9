"""One decode per clip, shared by every scorer: the scorers never open the video themselves.

Inside a Ray task the clip's frame range is decoded here (frames never travel through Ray
blocks) and reduced to what the scorers need: per-frame luma statistics for every frame,
each frame's change from the frame on screen :data:`STILL_LAG_S` earlier, small grey frames
every ``1 / sample_fps`` seconds for optical flow, and first/middle/last RGB key frames, turned
upright as a player shows them (a phone's portrait video is stored landscape plus a rotation).

Time is read from the frames' timestamps (their numbers on the nominal grid, :func:`grid_frames`,
to pick them), never from counting frames: on a variable-rate source (phones, screen captures,
webcams) two frames can share a number and a number can have none, and counting made a 40 px/s
pan score 30-76% low. A sample's slot need not fall on a frame (every 12.5 frames at 25 fps), so
each sample records its frame's real time and the motion scorer brings each pair's flow to the
nominal ``1 / sample_fps`` interval: rounding the step to 12 frames scored a 25 fps pan 4% below
its 24, 30 or 60 fps copies, 15 fps 7% above and 5 fps 20% below.
Brightness, contrast, sharpness and motion are measured on full-scale luma (black 0, white 255)
whatever the file's colour range, so a full-range (JPEG) copy of a picture scores as its
video-range twin.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from data_curation.luma import VIDEO_BLACK, black_level
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
VIDEO_WHITE = 235  # the luma level of white in limited ("video") range; full range: 255


@dataclass
class ClipFrames:
    luma_mean: np.ndarray  # (n,) every frame's mean luma, 0..1 full scale (black 0, white 1)
    luma_std: np.ndarray  # (n,) on the same scale
    still_diff: np.ndarray  # |Y_t - Y_{t - STILL_LAG_S}| of frames from the lag on, 0..1 (as coded), 64 px
    sampled: np.ndarray  # (s, h, w) uint8 full-scale grey frames at sample_fps, short side = sample_short_side
    sample_times: np.ndarray  # (s,) each sample's frame's time, seconds (its timestamp; its number / fps without one)
    sample_fps: float  # the nominal rate of the samples: motion is in px per 1 / sample_fps s
    keys: list[np.ndarray]  # first, middle, last frame, RGB uint8, upright, longest side <= KEY_MAX_SIDE
    key_luma: list[np.ndarray]  # their luma, float32 0..255 full scale, SHARP_SHORT_SIDE, not turned
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


def _plane_read(fmt) -> bool:
    """Whether :func:`luma8` reads this pixel format's luma straight from its plane (as coded)."""
    return fmt.name.startswith("yuv") and fmt.is_planar and not fmt.is_bit_stream and \
        8 <= fmt.components[0].bits <= 16


def luma8(frame) -> np.ndarray:
    """A decoded PyAV frame's luma as uint8 (H, W), levels as coded (:func:`luma_black`).
    Planar 8-bit YUV is read straight from its plane; deeper YUV (10/12/16-bit, stored as 16-bit
    words) is scaled to 8 bits, as a 10-bit encode of 8-bit content gives it back; anything else
    is converted by libswscale."""
    fmt = frame.format
    if _plane_read(fmt):
        bits, p = fmt.components[0].bits, frame.planes[0]
        if bits == 8:
            return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[: frame.height, : frame.width]
        words = np.frombuffer(p, ">u2" if fmt.is_big_endian else "<u2").reshape(-1, p.line_size // 2)
        return scale_to_8bit(words[: frame.height, : frame.width], bits)
    return frame.to_ndarray(format="gray")


def luma_black(frame) -> int:
    """The level of black in :func:`luma8`'s output for ``frame``: 16 for a limited-range
    ("video", most encoders' default) plane read as coded, 0 for full range (JPEG: webcams,
    MJPEG, many phones) and for frames libswscale converts (it gives full-range grey)."""
    return black_level(frame) if _plane_read(frame.format) else 0


def full_scale(y: np.ndarray, black: int) -> np.ndarray:
    """Luma levels ``y`` with black at ``black`` (:func:`luma_black`) as float32 on the full
    0..255 scale: video range is stretched, ``(y - 16) * 255 / 219``, clipped. Read as coded, the
    same picture's Laplacian variance was (255/219)^2 = 1.36x higher in full range, so webcam
    and MJPEG sources won "sharper" near-duplicate tie-breaks."""
    y = y.astype(np.float32)
    if black == 0:
        return y
    return np.clip((y - black) * np.float32(255 / (VIDEO_WHITE - VIDEO_BLACK)), 0, 255)


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 frames, on the 0..1 scale."""
    return float(np.abs(a.astype(np.float32) - b).mean() / 255.0)


def scale_to_8bit(words: np.ndarray, bits: int) -> np.ndarray:
    """``bits``-deep integer samples to uint8, rounded: ``v / 2**(bits - 8)``."""
    shift = bits - 8
    return np.minimum((words.astype(np.uint32) + (1 << (shift - 1))) >> shift, 255).astype(np.uint8)


def _key(frame, y: np.ndarray, black: int, threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A key frame: (upright RGB, longest side <= KEY_MAX_SIDE; full-scale luma at SHARP_SHORT_SIDE)."""
    import cv2

    rgb = upright(frame, threads)
    scale = KEY_MAX_SIDE / max(rgb.shape[:2])
    if scale < 1:
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    return rgb, full_scale(to_short_side(y, SHARP_SHORT_SIDE), black)


class SampleSlots:
    """Curation's sample rule, fed frame numbers one at a time in decode order (a streaming
    decoder holds two frames, not the clip): slots every ``step`` grid frames (``fps /
    sample_fps``, fractional: 12.5 at 25 fps) from ``start``, each taking the frame whose number
    is nearest (a tie: the earlier), each frame at most once and no two closer than half a slot.
    Numbers may repeat or skip (a variable-rate source): picks are *positions* in the sequence,
    so two frames sharing a number never make a near-zero flow pair and a slot without a frame
    still gets its nearest one. One home for the rule: :func:`read_clip` and ``video eval``'s
    motion both sample by it, so generated clips are measured as the training data was."""

    def __init__(self, step: float, start: int = 0, end: int | None = None):
        if not step > 0:
            raise ValueError(f"sample step must be a positive number of frames, got {step}")
        self.step, self.start, self.end = step, start, end
        self._k, self._n = 0, 0  # the next slot (start + k * step); frames pushed
        self._prev: tuple[int, int] | None = None  # (position, number) of the frame before the next slot
        self._taken: tuple[int, int] | None = None  # the last frame picked

    def _pick(self, c: tuple[int, int]) -> list[int]:
        t = self._taken
        if t is None or (c[0] != t[0] and c[1] - t[1] >= self.step / 2):
            self._taken = c
            return [c[0]]
        return []

    def push(self, number: int) -> list[int]:
        """The next frame's grid number; returns the positions picked now, oldest first: the
        previous frame's and/or this one's (each slot is decided once a frame at or past it arrives)."""
        cur = (self._n, number)
        self._n += 1
        out = []
        while (slot := self.start + self._k * self.step) <= number:
            near = self._prev if self._prev is not None and slot - self._prev[1] <= number - slot else cur
            out += self._pick(near)
            self._k += 1
        self._prev = cur
        return out

    def finish(self) -> list[int]:
        """After the last frame: a slot past it but before ``end`` takes it (its picture is on
        screen there)."""
        if self._prev is None or self.end is None or self.start + self._k * self.step >= self.end:
            return []
        return self._pick(self._prev)


def sample_positions(numbers: Iterable[int], step: float, start: int = 0, end: int | None = None) -> list[int]:
    """Positions in ``numbers`` (frames' grid numbers in decode order, which a variable-rate
    source can repeat or skip) that :class:`SampleSlots` picks; numbers at or past ``end`` are
    past the range and end it, as in :func:`read_clip`."""
    slots, out = SampleSlots(step, start, end), []
    for i in numbers:
        if end is not None and i >= end:
            break
        out += slots.push(i)
    return out + slots.finish()


def motion_sample(y: np.ndarray, black: int, short_side: int) -> np.ndarray:
    """A motion sample: luma ``y`` (black at ``black``) at ``short_side``, on the full scale as
    uint8. Farneback is not contrast-invariant: read as coded, a video-range file's 16-235 luma
    scored one low-contrast pan 3% below its full-range copy and below ``video eval``'s reading
    of the same file (full-range grey from RGB)."""
    return np.rint(full_scale(_small(y, short_side), black)).astype(np.uint8)


def _frame_time(frame, i: int, fps: float) -> float:
    """A decoded frame's time in seconds: its timestamp, or its grid number / ``fps`` without one."""
    return float(frame.time) if frame.pts is not None and frame.time is not None else i / fps


def read_clip(path: str, start: int, end: int, fps: float, sample_fps: float = 2.0,
              sample_short_side: int = 64, threads: int = 0) -> ClipFrames:
    """Decode frames ``[start, end)`` of ``path`` (:func:`grid_frames`, a gap at ``start`` held)
    and reduce them for the scorers. Samples, key frames and the still lag go by time, not by
    frame count. Sample slots (:class:`SampleSlots`) are ``fps / sample_fps`` grid frames apart,
    fractional (12.5 at 25 fps), and each takes the frame whose number is nearest, each frame at most once and no
    two closer than half a slot (two frames sharing a slot made a near-zero flow pair, a slot
    without a frame lost its sample); the frame's real time goes with it (``sample_times``).
    A frame's change is taken from the frame on screen :data:`STILL_LAG_S` before it, by
    timestamp. ``threads``: the decoder's and the key frames' RGB conversion's, as the cut
    detector's (``cuts.threads``: one in a Ray task of one CPU;
    :func:`video.media.read.decoder_threads`)."""
    import av

    if end <= start:
        raise MediaError(f"{path}: empty frame range [{start}, {end})")
    slots = SampleSlots(fps / sample_fps, start, end)
    lag = STILL_LAG_S - 0.25 / fps  # a quarter frame of slack for timestamps rounded to the ms
    key_slots = sorted({start, (start + end - 1) // 2, end - 1})
    means, stds, still, sampled, sample_times, keys = [], [], [], [], [], []
    recent: deque[tuple[float, np.ndarray]] = deque()  # (time, frame at STILL_SHORT_SIDE) back to one lag
    prev, last = None, None  # (position, time, luma, black) of the frame before this one

    def take(positions: list[int], cur: tuple) -> None:  # the frames SampleSlots picked: prev and/or cur
        for p in positions:
            _, t, y, black = prev if prev is not None and p == prev[0] else cur
            sampled.append(motion_sample(y, black, sample_short_side))
            sample_times.append(t)

    try:
        for n, (i, frame) in enumerate(grid_frames(path, start, end, fps, hold=True, threads=threads)):
            if i >= end:
                break  # the first frame past the range (hold): the source reaches ``end``
            y, black, t = luma8(frame), luma_black(frame), _frame_time(frame, i, fps)
            tiny = full_scale(_small(y, 32), black) / 255.0
            means.append(tiny.mean())
            stds.append(tiny.std())
            sm = _small(y, STILL_SHORT_SIDE)
            if recent and sm.shape != recent[0][1].shape:
                raise MediaError(f"{path}: frame size changes inside clip [{start}, {end})")
            while len(recent) > 1 and recent[1][0] <= t - lag:
                recent.popleft()
            if recent and recent[0][0] <= t - lag:
                still.append(mean_abs_diff(sm, recent[0][1]))
            recent.append((t, sm))
            cur = (n, t, y, black)
            take(slots.push(i), cur)
            prev = cur
            if key_slots and i >= key_slots[0]:
                keys.append(_key(frame, y, black, threads))
                key_slots = [s for s in key_slots if s > i]
            last = frame
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: decoding frames {start}..{end} failed ({e.__class__.__name__})") from None
    if prev is not None:
        take(slots.finish(), prev)  # a slot after the range's last frame, still in the range
    if not means:
        raise MediaError(f"{path}: no frames decoded in [{start}, {end})")
    if len({a.shape for a in sampled}) > 1:
        raise MediaError(f"{path}: frame size changes inside clip [{start}, {end})")
    if not still and len(recent) > 1:  # a clip shorter than the lag: its last frame against its first
        still.append(mean_abs_diff(recent[-1][1], recent[0][1]))
    if key_slots:  # no frame of the range at or after the last key's slot: the range's last frame
        keys.append(_key(last, luma8(last), luma_black(last), threads))
    while len(keys) < 3:
        keys.append(keys[-1])
    return ClipFrames(np.asarray(means), np.asarray(stds), np.asarray(still, np.float64), np.stack(sampled),
                      np.asarray(sample_times, np.float64), float(sample_fps),
                      [k[0] for k in keys], [k[1] for k in keys], fps)
