"""Frame times: which frame of one video goes with each frame of another (a mask, a
background clip, animate's face and background videos), and when a video has ended. Pure
functions of times in seconds; the readers that produce the times live in
:mod:`video.edit.mask`."""

from __future__ import annotations

import numpy as np

TIME_TOLERANCE = 1e-4  # seconds: frame times from timestamps are exact to well within this


def plays_until(times: np.ndarray, rate: float | None = None) -> float:
    """When a video whose frames start at ``times`` (seconds) stops showing its last one: that
    frame's time plus one frame, at ``rate`` (the header's average rate) where given, else the
    median step, so one late frame of a variable-rate clip does not count; 0 for one frame."""
    if len(times) < 2:
        return 0.0
    step = 1.0 / rate if rate else float(np.median(np.diff(times)))
    return float(times[-1]) + step


def ends_before(time: float, times: np.ndarray, rate: float | None = None, whole: bool = True) -> bool:
    """Whether a video (frames at ``times``, :func:`plays_until`) has ended by ``time``, so a
    frame shown then has none of it to match: the one rule of a mask video, a background clip
    and animate's face, background and mask videos (each had its own step and tolerance).
    ``whole``: whether ``times`` are all of the video's frames (:func:`video.edit.mask.read_timed_through`:
    else it goes on past them); a one-frame video is a still, never ended."""
    return whole and len(times) > 1 and time >= plays_until(times, rate) - TIME_TOLERANCE


def frame_times(num_frames: int, fps: float, times: np.ndarray | None = None) -> np.ndarray:
    """The times in seconds of a video's first ``num_frames`` frames: its own (``times``, as
    :func:`load_frames_timed` reads them; a variable-rate video's frames are not evenly
    spaced) where given, else i / ``fps``."""
    if times is not None and len(times) >= num_frames:
        return np.asarray(times[:num_frames], dtype=np.float64)
    return np.arange(num_frames, dtype=np.float64) / fps


def nearest_frames(times: np.ndarray, source_times: np.ndarray) -> np.ndarray:
    """For each of ``times``, the index of the frame of ``source_times`` (increasing) nearest
    it, the later one on a tie (as rounding half up; times a float's rounding apart tie: a
    30 fps frame halfway between two 15 fps ones); a time past the last frame gets the last,
    one before the first the first."""
    src = np.asarray(source_times, dtype=np.float64)
    t = np.asarray(times, dtype=np.float64)
    if len(src) == 1:
        return np.zeros(len(t), dtype=np.int64)
    after = np.clip(np.searchsorted(src, t), 1, len(src) - 1)  # the first source time >= t (clamped)
    before = after - 1
    return np.where(t - src[before] < src[after] - t - 1e-9, before, after).astype(np.int64)


def time_indices(num_frames: int, fps: float, source_fps: float, source_frames: int | None = None) -> np.ndarray:
    """For frames ``0..num_frames-1`` at ``fps``, the frame of a ``source_fps`` video nearest
    each one's time: ``round(i * source_fps / fps)``, at most ``source_frames - 1`` where given
    (the last video frame of a source exactly as long rounds one past its end). For real frame
    times (a variable-rate video), :func:`nearest_frames`."""
    idx = np.floor(np.arange(num_frames) * (source_fps / fps) + 0.5).astype(np.int64)
    return np.minimum(idx, source_frames - 1) if source_frames else idx


__all__ = ["TIME_TOLERANCE", "ends_before", "frame_times", "nearest_frames", "plays_until", "time_indices"]
