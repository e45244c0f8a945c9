"""Temporal consistency without weights: frame difference, flicker, flow warping error and
motion magnitude. Every function takes uint8 (F, H, W, 3) frames and returns plain floats;
a score a clip is too short to have (one frame: no step; two: no second difference) is None,
"not applicable", so an aggregate leaves it out instead of counting it as perfect.

Optical flow is OpenCV's Farneback, as in curation; the motion magnitude *is* curation's motion
scorer (``data_curation.scorers.motion``), fed the same 2 fps, 64 px full-scale grey frames
(curation stretches a video-range file's luma to 0..255; grey from RGB is full scale already),
so a generated clip's number reads on the same scale as the training data's ``motion_mean``.

Frame difference, flicker and warping error are per frame step, not per second: they depend on
the frame rate. The same footage at 8 fps moves about three times as far per step as at 24 fps
and scores about 2-3x higher on each (bikes.mp4: frame_diff 0.069 against 0.031, warp_error
0.038 against 0.016). Compare them between clips of one frame rate only. Motion is per 0.5 s at
any rate: it samples by time as curation does (:func:`motion_sample_indices`, frame i at i / fps)
and brings each pair's flow to 0.5 s by the pair's time apart. Taking every round(fps / 2)-th
frame instead scored one pan 4% low at 25 fps (a 0.48 s step), 7% high at 15 and 20% low at 5.
Without a frame rate (PNG frames) the step in seconds is unknown: ``video eval`` leaves motion
out for such clips (None, with a note) instead of reading every frame as a 0.5 s step.
"""

from __future__ import annotations

import numpy as np

FLOW_SHORT_SIDE = 128  # warping error: flow on frames with this short side (speed, less noise)
MOTION_SAMPLE_FPS, MOTION_SHORT_SIDE = 2.0, 64  # curation's read_clip defaults


def _check(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be (F, H, W, 3), got shape {frames.shape}")
    return frames


def _resize(frames: np.ndarray, short_side: int) -> np.ndarray:
    import cv2

    h, w = frames.shape[1:3]
    s = short_side / min(h, w)
    if s >= 1:
        return frames
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])


def _grey(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float luma in [0, 1] (BT.601 weights)."""
    return frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0


def frame_diff(frames: np.ndarray) -> np.ndarray:
    """Mean |F_t+1 - F_t| per step on luma in [0, 1]: how much changes between frames, (F-1,)."""
    y = _grey(_check(frames))
    return np.abs(np.diff(y, axis=0)).mean(axis=(1, 2))


def flicker(frames: np.ndarray) -> float | None:
    """Mean |F_t+1 - 2 F_t + F_t-1| on luma in [0, 1]: the second temporal difference, taken
    pixel by pixel (VBench-style temporal flicker, meant for clips with little motion).

    No motion compensation: only a change linear in time at each pixel cancels out (a linear
    fade, to uint8 rounding: under half a level). Camera or object motion raises it: a pixel that
    content slides across sees the image's texture go by, which is no linear change. A
    window slid across a still photograph (astronaut, 128x192) scores 0.031 at 1 px/frame and
    0.10 at 4, where brightness alternating by +-1 level on the still photo scores 0.015 (4 / 255)
    and by +-4 levels 0.061: a steady pan reads as real flicker. Compare it only between clips of
    similar motion; for moving clips read ``warp_error`` (flow-compensated: the same pans stay
    below what +-1-level flicker adds to it). Brightness that goes up and down from frame to
    frame, and frames out of order, score high. None for fewer than 3 frames.
    """
    y = _grey(_check(frames))
    if len(y) < 3:
        return None
    return float(np.abs(y[2:] - 2 * y[1:-1] + y[:-2]).mean())


def _flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def _warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``img`` at x + flow(x) (bilinear, borders replicated)."""
    import cv2

    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warping_errors(frames: np.ndarray, short_side: int = FLOW_SHORT_SIDE) -> np.ndarray:
    """Per step, mean |warp(F_t) - F_t+1| over non-occluded pixels and over the R, G, B
    channels, values in [0, 1] (F-1,).

    F_t is warped onto F_t+1 with the backward flow (Farneback, on frames shrunk to
    ``short_side`` px, INTER_AREA, for speed and less noise); pixels failing the forward-backward
    check (Sundaram et al. 2010: |b + f(x + b)|^2 < 0.01 (|b|^2 + |f|^2) + 0.5) are occluded and
    left out. Content that moves consistently warps well; flicker, popping objects and shuffled
    frames do not. A uniform brightness change of d (in [0, 1]) on a still scene scores d.

    Not Lai et al. 2018's E_warp, and not on its scale: theirs is the squared L2 distance over
    RGB summed per pixel, on full-resolution FlowNet2 flow, with motion boundaries masked as well
    as occlusions (the same change d scores 3 d^2 there). Compare these numbers with each other,
    not with published E_warp values.
    """
    import cv2

    frames = _resize(_check(frames), short_side)
    rgb = frames.astype(np.float32) / 255.0
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    out = []
    for t in range(len(frames) - 1):
        back = _flow(grey[t + 1], grey[t])  # for each pixel of F_t+1, where it was in F_t
        fwd = _flow(grey[t], grey[t + 1])
        fwd_at = _warp(fwd, back)
        err2 = ((back + fwd_at) ** 2).sum(-1)
        ok = err2 < 0.01 * ((back**2).sum(-1) + (fwd_at**2).sum(-1)) + 0.5
        diff = np.abs(_warp(rgb[t], back) - rgb[t + 1]).mean(-1)
        out.append(float(diff[ok].mean()) if ok.any() else float(diff.mean()))
    return np.asarray(out)


def motion_sample_indices(n: int, fps: float, sample_fps: float = MOTION_SAMPLE_FPS) -> list[int]:
    """Which of ``n`` frames (frame i at i / fps) curation's ``read_clip`` samples at
    ``sample_fps``, so a generated clip's motion is measured as the training data's was: its own
    rule (:class:`data_curation.clip_frames.SampleSlots`: fractional slots, the nearest frame, a
    tie to the earlier; a slot past the last frame but before ``n`` takes the last), not a copy."""
    from data_curation.clip_frames import sample_positions

    if fps <= 0 or sample_fps <= 0:
        raise ValueError(f"fps and sample_fps must be positive, got {fps} and {sample_fps}")
    return sample_positions(range(n), fps / sample_fps, 0, n)


def motion_samples(frames: np.ndarray, fps: float | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey uint8 frames at 64 px short side sampled by time as curation samples 2 fps
    (:func:`motion_sample_indices`), and their times in seconds (i / fps), which the motion
    scorer uses to bring each pair's flow to 0.5 s. ``fps`` None: ``frames`` are taken to be those
    samples already, exactly 0.5 s apart (times None); a caller with frames of unknown rate must
    not pass them so (the runner gives them no motion)."""
    import cv2

    frames = _check(frames)
    idx = motion_sample_indices(len(frames), fps) if fps else list(range(len(frames)))
    h, w = frames.shape[1:3]
    s = MOTION_SHORT_SIDE / min(h, w)  # enlarged too, as curation's samples: px of a 64 px frame at any size
    size = (max(1, round(w * s)), max(1, round(h * s)))
    small = np.zeros((len(idx), size[1], size[0]), np.uint8)
    for j, i in enumerate(idx):
        small[j] = cv2.resize(cv2.cvtColor(frames[i], cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
    return small, (np.asarray(idx, np.float64) / fps if fps else None)


def motion_magnitude(frames: np.ndarray, fps: float | None = None) -> float | None:
    """Curation's ``motion_mean`` (mean Farneback flow magnitude, px of the 64 px frame per 0.5 s,
    on :func:`motion_samples`); None when fewer than two samples remain."""
    from types import SimpleNamespace

    from data_curation.scorers.motion import Scorer

    sampled, times = motion_samples(frames, fps)
    clip = SimpleNamespace(sampled=sampled, sample_times=times, sample_fps=MOTION_SAMPLE_FPS)
    return Scorer().score(clip)["motion_mean"]


def temporal_metrics(frames: np.ndarray, fps: float | None = None, motion: bool = True) -> tuple[dict, dict]:
    """All weight-free temporal scores of one video: (scalars, per-step curves); a scalar the
    clip is too short for is None (see the module docstring). ``motion`` False: motion is None,
    not measured (the runner's clips of unknown frame rate: their step in seconds is unknown);
    with ``fps`` None and ``motion`` True the frames are read as 2 fps samples already."""
    fd = frame_diff(frames)
    we = warping_errors(frames)
    scalars = {
        "frame_diff": float(fd.mean()) if len(fd) else None,  # one frame: no step to score
        "flicker": flicker(frames),
        "warp_error": float(we.mean()) if len(we) else None,
        "motion": motion_magnitude(frames, fps) if motion else None,
    }
    return scalars, {"frame_diff": fd.tolist(), "warp_error": we.tolist()}
