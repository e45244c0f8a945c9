"""Shot-boundary detection: hard cuts and gradual transitions (dissolves, fades through black).

Why our own detector: PySceneDetect's content detectors compare neighbouring frames only, so a
dissolve or a fade spread over many frames never crosses their threshold (SVD cascaded several
detectors at several frame rates for that reason; FIELD-NOTES "Data curation"). Here one rule
runs at several temporal scales instead:

    across = d(f[b-k], f[b+k-1])          the two frames 2k-1 apart, straddling boundary b
    within = max(d(f[b-k-m], f[b-k]), d(f[b+k-1], f[b+k-1+m]))   the same span inside each side

A boundary at scale k is where ``across`` is large and several times larger than ``within``.
``d`` is a metric (colour-histogram distance plus thumbnail difference), so steady motion
cannot pass the test (the triangle inequality bounds ``across`` by about twice ``within``), and
a one-frame flash cannot either (the flash frame sits on both sides). Scale 1 finds hard cuts;
scales 2..16 find transitions up to ~30 frames long, then each is narrowed to the frames that
belong to neither shot.

Speed: decoding is nearly all the cost (PySceneDetect pays it too, plus a full-size BGR
conversion), so the detector decodes less. Frames are decoded once with PyAV (frame threads, no
loop filter) and reduced straight from strided views of the Y/U/V planes to a 32-px thumbnail
and three histograms: no colour conversion, no full-size resize (libswscale's own downscale
to a small grey frame costs ~3x more than this). By default (``decode="auto"``) B-frames are
not decoded when that is provably exact for the file (:func:`frame_features`), else only the
non-reference ones; the frames between two decoded frames across a cut go to neither shot.
``decode="all"`` gives frame-exact boundaries.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from video.media import MediaError

THUMB_W = 32
Y_BINS, C_BINS = 32, 16
SCALES = (1, 2, 4, 8, 16)
DECODE_MODES = ("auto", "ref", "all")
CHECK_FRAMES = 48  # frames decoded twice by ``auto`` to check that skipping B-frames is exact
MAX_SKIPPED = 4  # a sparse decode may leave out at most this many frames in a row


@dataclass
class CutParams:
    """Thresholds of the detector. ``min_across`` is on the 0..1 distance; ``ratio`` is
    across/within at scale 1 (hard cuts) and ``gradual_ratio`` at the larger scales."""

    min_across: float = 0.12
    ratio: float = 3.0
    gradual_ratio: float = 2.5
    min_within: float = 0.01
    scales: tuple[int, ...] = SCALES
    decode: str = "auto"  # "all" frames (frame-exact), "ref" or "auto": skip B-frames (see frame_features)


@dataclass
class Shots:
    """Shots as half-open frame ranges, and the transitions between them (frames in neither)."""

    fps: float
    num_frames: int
    shots: list[list[int]] = field(default_factory=list)
    transitions: list[list[int]] = field(default_factory=list)


@dataclass
class Features:
    """Per decoded frame: its index, a float thumbnail and normalised Y/U/V histograms."""

    index: np.ndarray  # (n,) int frame index
    thumb: np.ndarray  # (n, t) float32 in 0..1
    hist: np.ndarray  # (n, Y_BINS + 2 * C_BINS) float32, each channel sums to 1
    fps: float
    num_frames: int


def _plane(frame, i: int, step: int) -> np.ndarray:
    p = frame.planes[i]
    h = frame.height if i == 0 else (frame.height + 1) // 2
    w = frame.width if i == 0 else (frame.width + 1) // 2
    return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:h:step, :w:step]


class _Reducer:
    """Collects every decoded frame's subsampled Y/U/V planes (a strided view of the decoder's own
    buffer, copied small) and turns them into thumbnails and histograms a batch at a time: one
    ``bincount`` per batch instead of three per frame."""

    BATCH = 256

    def __init__(self) -> None:
        self.index: list[int] = []
        self.thumbs: list[np.ndarray] = []
        self.hists: list[np.ndarray] = []
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, frame, index: int) -> None:
        if frame.format.name not in _PLANAR_YUV:
            frame = frame.reformat(format="yuv420p")
        step = max(1, frame.width // 128)
        self._pending.append((np.ascontiguousarray(_plane(frame, 0, step)),
                              np.ascontiguousarray(_plane(frame, 1, step)),
                              np.ascontiguousarray(_plane(frame, 2, step))))
        self.index.append(index)
        if len(self._pending) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        import cv2

        if not self._pending:
            return
        for y, _, _ in self._pending:
            th = max(1, round(THUMB_W * y.shape[0] / max(1, y.shape[1])))
            self.thumbs.append(cv2.resize(y, (THUMB_W, th), interpolation=cv2.INTER_AREA).ravel())
        n, parts = len(self._pending), []
        for c, shift, bins in ((0, 3, Y_BINS), (1, 4, C_BINS), (2, 4, C_BINS)):
            planes = [q[c] for q in self._pending]
            if len({a.shape for a in planes}) == 1:  # one bincount for the whole batch
                a = (np.stack(planes).reshape(n, -1) >> shift).astype(np.int64) + (np.arange(n) * bins)[:, None]
                parts.append(np.bincount(a.ravel(), minlength=bins * n).reshape(n, bins) / a.shape[1])
            else:  # a resolution change inside the batch
                parts.append(np.stack([np.bincount(a.ravel() >> shift, minlength=bins) / a.size for a in planes]))
        self.hists.extend(np.concatenate(parts, 1))
        self._pending = []

    def __len__(self) -> int:
        return len(self.index)

    def features(self, fps: float, num_frames: int) -> Features:
        self._flush()
        index = np.asarray(self.index, np.int64)
        order = np.argsort(index, kind="stable")
        thumbs = self.thumbs
        if len({t.size for t in thumbs}) > 1:  # a resolution change mid-stream: compare histograms only
            thumbs = [np.zeros(1, np.uint8)] * len(thumbs)
        return Features(index[order], np.stack(thumbs)[order].astype(np.float32) / 255.0,
                        np.stack(self.hists)[order].astype(np.float32), fps, num_frames)


_PLANAR_YUV = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p")


def _open(path: str | Path, skip: str):
    """A container and its first video stream, set up for fast decoding: frame threads, no
    deblocking (the loop filter smooths block edges, which the 32-px thumbnails cannot see), and
    ``skip`` (an FFmpeg ``skip_frame`` level: DEFAULT, NONREF or BIDIR)."""
    import av

    c = av.open(str(path))
    if not c.streams.video:
        c.close()
        raise MediaError(f"{path}: no video stream")
    s = c.streams.video[0]
    s.thread_type = "AUTO"
    s.codec_context.options = {"skip_loop_filter": "all"}
    s.codec_context.skip_frame = skip
    return c, s


def _luma_crc(frame) -> int:
    """Checksum of the visible luma plane: two decodes of a frame agree bit for bit or not at all."""
    p = frame.planes[0]
    y = np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:frame.height, :frame.width]
    return zlib.crc32(np.ascontiguousarray(y))


def _max_skipped(idx: list[int]) -> int:
    """The longest run of frames a sparse decode left out between two decoded ones."""
    return int(np.diff(sorted(idx)).max()) - 1 if len(idx) > 1 else 0


def frame_features(path: str | Path, decode: str = "auto") -> Features:
    """Decode ``path`` once and reduce each decoded frame to the detector's features.

    ``decode``: ``all`` decodes every frame (frame-exact boundaries). ``ref`` skips frames no
    other frame references (non-reference B-frames): always bit-exact, about a third less work.
    ``auto`` also skips the B-frames that are references, which is only safe when no P-frame
    predicts from them (x264's ``ref=1`` presets and strict pyramids; not its default ``medium``):
    it decodes the opening frames both ways and keeps the sparser decode only if every frame they
    share is bit-identical and no more than :data:`MAX_SKIPPED` frames in a row are left out;
    otherwise it goes on as ``ref``. In the sparse modes a cut lies somewhere between two decoded
    frames, and the frames in between are given to neither shot.
    """
    import av

    if decode not in DECODE_MODES:
        raise ValueError(f"decode must be one of {', '.join(DECODE_MODES)}, got {decode!r}")
    red = _Reducer()
    containers = []
    try:
        c, s = _open(path, "DEFAULT" if decode == "all" else "NONREF")
        containers.append(c)
        rate = s.average_rate or s.guessed_rate
        fps = float(rate) if rate else 25.0
        tb = float(s.time_base) if s.time_base else 1.0 / fps
        total = s.frames or 0
        t0: list[int] = []

        def at(frame) -> int:
            if decode == "all" or frame.pts is None:
                return len(red)
            t0[:] = t0 or [frame.pts]
            return round((frame.pts - t0[0]) * tb * fps)

        frames = c.decode(s)
        if decode != "all":
            crcs: dict[int, int] = {}
            for frame in frames:
                if frame.pts is None:  # no timestamps (a raw elementary stream): skipped frames can't be placed
                    return frame_features(path, "all")
                crcs[frame.pts] = _luma_crc(frame)
                red.add(frame, at(frame))
                if len(red) >= CHECK_FRAMES:
                    break
            if _max_skipped(red.index) > MAX_SKIPPED:  # an odd stream: decode everything from here
                s.codec_context.skip_frame = "DEFAULT"
            elif decode == "auto" and len(red) >= CHECK_FRAMES:
                frames = _sparser(path, containers, crcs, max(crcs), at, red) or frames
        for frame in frames:
            red.add(frame, at(frame))
    except av.error.FFmpegError as e:
        raise MediaError(f"{path}: not a readable video ({e.__class__.__name__})") from None
    finally:
        for c in containers:
            c.close()
    if not len(red):
        raise MediaError(f"{path}: no decodable frames")
    num_frames = max(max(red.index) + 1, total if decode != "all" else len(red))
    return red.features(fps, num_frames)


def _sparser(path, containers: list, crcs: dict[int, int], last_pts: int, at, red: _Reducer):
    """Open a second decode that skips every B-frame, check it against the first over the opening
    frames, and return an iterator over its later frames if it is exact and dense enough."""
    c, s = _open(path, "BIDIR")
    containers.append(c)
    frames = c.decode(s)
    shared: list[int] = []
    for frame in frames:
        if frame.pts is None or frame.pts > last_pts:
            if not shared or _max_skipped([*shared, at(frame)]) > MAX_SKIPPED:
                return None
            red.add(frame, at(frame))
            return frames
        if crcs.get(frame.pts) != _luma_crc(frame):
            return None
        shared.append(at(frame))
    return None


def distance(f: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Metric in 0..1 between decoded frames i and j: half histogram distance (luma weighted as
    much as both chroma planes), half thumbnail mean absolute difference (x4, capped at 1)."""
    h = np.abs(f.hist[i] - f.hist[j])
    d_hist = 0.5 * (h[:, :Y_BINS].sum(1) + 0.5 * (h[:, Y_BINS:Y_BINS + C_BINS].sum(1) + h[:, Y_BINS + C_BINS:].sum(1))) / 2
    d_px = np.minimum(1.0, 4.0 * np.abs(f.thumb[i] - f.thumb[j]).mean(1))
    return 0.5 * d_hist + 0.5 * d_px


def _candidates(f: Features, k: int, p: CutParams, found: list[tuple[int, int]]) -> list[tuple[int, float, float]]:
    """Boundaries b (a sample index: the first sample of the new side) passing the test at
    scale k, as (b, score, across), local maxima only. The ``within`` spans stop at transitions
    already found, each rescaled to the span ``across`` covers (:func:`_span_scale`)."""
    n, m = len(f.index), 2 * k - 1
    if n < 2 * k:
        return []
    b = np.arange(k, n - k + 1)
    P, Q = b - k, b + k - 1
    ends = np.array(sorted(e for _, e in found), np.int64)
    starts = np.array(sorted(s for s, _ in found), np.int64)
    prev_end = ends[np.searchsorted(ends, P, side="right") - 1] if len(ends) else np.zeros_like(P)
    prev_end = np.where(np.searchsorted(ends, P, side="right") > 0, prev_end, 0) if len(ends) else prev_end
    nxt = np.searchsorted(starts, Q, side="right")
    next_start = np.where(nxt < len(starts), starts[np.minimum(nxt, max(len(starts) - 1, 0))], n) if len(starts) else np.full_like(Q, n)
    L = np.maximum(P - m, prev_end)
    R = np.minimum(Q + m, next_start - 1)
    across = distance(f, P, Q)
    R = np.minimum(R, n - 1)
    fa = f.index[Q] - f.index[P]
    sb, sa = _span_scale(fa, f.index[P] - f.index[L]), _span_scale(fa, f.index[R] - f.index[Q])
    if k > 1:
        sb, sa = np.minimum(sb, m / np.maximum(P - L, 1)), np.minimum(sa, m / np.maximum(R - Q, 1))
    wb = np.where(P - L >= 1, distance(f, L, P) * sb, np.nan)
    wa = np.where(R - Q >= 1, distance(f, Q, R) * sa, np.nan)
    within = np.fmax(wb, wa)
    within = np.where(np.isnan(within), 0.0, np.minimum(within, 1.0))
    ratio = across / np.maximum(within, p.min_within)
    need = p.ratio if k == 1 else p.gradual_ratio
    ok = (across >= p.min_across) & (ratio >= need)
    score = np.where(ok, ratio * across, 0.0)
    out = []
    for i in np.flatnonzero(ok):
        lo, hi = max(0, i - k), min(len(b), i + k + 1)
        if score[i] >= score[lo:hi].max():
            out.append((int(b[i]), float(score[i]), float(across[i])))
    return out


def _span_scale(across_frames: np.ndarray, within_frames: np.ndarray) -> np.ndarray:
    """Factor taking a distance over ``within_frames`` to one over ``across_frames``: in a sparse
    decode neighbouring samples may be 1 or 5 frames apart. Scaling up is linear, the cautious
    side; scaling down is by the square root, as steady motion's distance grows less than
    linearly with the gap (bikes.mp4: 0.15 over one frame, 0.25 over two). At the larger scales
    :func:`_candidates` takes the smaller of this and the sample count ratio (the same thing when
    every frame is decoded): a short shot between a cut and a long fade is few samples but many
    frames, and the fade was lost counting either way alone in some encodes of the montages.
    At the hard-cut scale frames alone count (samples there gave false cuts in dissolves)."""
    r = across_frames / np.maximum(within_frames, 1)
    return np.where(r >= 1, r, np.sqrt(r))


def _narrow(f: Features, b: int, k: int, across: float) -> tuple[int, int]:
    """Samples [s, e) of a scale-k boundary at b that belong to neither shot. One step that
    carries most of the change is a hard cut; otherwise the samples that have moved more than a
    fifth of the way from the last frame before to the first frame after."""
    if k == 1:
        return b, b
    lo, hi = b - k, b + k - 1
    u = np.arange(lo, hi + 1)
    steps = distance(f, u[:-1], u[1:])
    j = int(np.argmax(steps))
    if steps[j] >= 0.6 * across:
        return int(u[j + 1]), int(u[j + 1])
    d_from = distance(f, np.full_like(u, lo), u)
    d_to = distance(f, u, np.full_like(u, hi))
    tol = 0.2 * across
    moved = np.flatnonzero(d_from > tol)
    left = np.flatnonzero(d_to > tol)
    s = int(u[moved[0]]) if len(moved) else b
    e = int(u[left[-1]]) + 1 if len(left) else b
    return (s, e) if s <= e else (b, b)


def find_transitions(f: Features, p: CutParams | None = None) -> list[tuple[int, int]]:
    """Transitions as sample ranges [s, e), smallest scale first: a larger scale keeps a
    boundary only where no smaller scale already found one within its span."""
    p = p or CutParams()
    found: list[tuple[int, int]] = []
    for k in sorted(p.scales):
        for b, _, across in sorted(_candidates(f, k, p, found), key=lambda c: -c[1]):
            lo, hi = b - k, b + k - 1
            if any(s - 1 <= hi and e >= lo for s, e in found):
                continue
            found.append(_narrow(f, b, k, across))
    return _merge(_absorb_fades(f, sorted(found)))


def _absorb_fades(f: Features, regions: list[tuple[int, int]], dark: float = 0.08,
                  ramp: float = 0.008) -> list[tuple[int, int]]:
    """A transition next to black frames is a fade: widen it over the black frames and over the
    brightness ramps on both sides, so neither shot keeps half-faded frames."""
    luma = f.thumb.mean(1)
    n, out = len(luma), []
    for s, e in regions:
        if not (luma[max(0, s - 1): min(n, e + 1)] < dark).any():
            out.append((s, e))
            continue
        while s > 0 and (luma[s - 1] < dark or (s > 1 and luma[s - 2] - luma[s - 1] > ramp)):
            s -= 1
        while e < n and (luma[e] < dark or (e + 1 < n and luma[e + 1] - luma[e] > ramp)):
            e += 1
        out.append((s, e))
    return out


def _merge(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(regions):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def to_shots(f: Features, transitions: list[tuple[int, int]]) -> Shots:
    """Sample-index transitions -> frame-range shots. Frames that were not decoded between the
    last sample of one shot and the first of the next go to neither shot."""
    idx = f.index
    regions = []
    for s, e in transitions:
        start = int(idx[s - 1]) + 1 if s > 0 else 0
        end = int(idx[e]) if e < len(idx) else f.num_frames
        regions.append([start, max(start, end)])
    shots, pos = [], 0
    for start, end in regions:
        if start > pos:
            shots.append([pos, start])
        pos = max(pos, end)
    if pos < f.num_frames:
        shots.append([pos, f.num_frames])
    return Shots(f.fps, f.num_frames, shots, regions)


def detect_shots(path: str | Path, params: CutParams | None = None) -> Shots:
    """Shots of a video as half-open frame ranges ``[start, end)``."""
    p = params or CutParams()
    f = frame_features(path, p.decode)
    return to_shots(f, find_transitions(f, p))
