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
a one-frame flash cannot either (the flash frame sits on both sides; two or three bright frames
after which the scene comes back are ruled out apart, :func:`_flash_edge`); dim frames are
compared as if exposed normally (:func:`distance`), so a dim scene whose light drifts or
flickers is one shot, and colours are compared together, in soft bins, so a scene whose hue
sweeps (a sunset, a grade) is too. Scale 1 finds hard cuts; scales 2, 4, 8, ... find
transitions up to ``CutParams.max_gradual_s`` (2 s) long at any frame rate, then each is narrowed
to the frames that belong to neither shot. A sparse decode's near miss at scale 1 gets the frames
it skipped around it decoded and is judged again (:func:`_refined`): its ``within`` was a guess
across a gap. Fades through black are found by brightness instead (a dip of the whole frame to
near black between two ramps, :func:`_fades_through_black`): near black all frames look alike,
so the scale test alone put the cut inside a ramp, or missed a fade a sparse decode skips.

Speed: decoding is nearly all the cost, so :mod:`data_curation.cut_features` decodes less
(no loop filter on unreferenced frames, B-frames skipped where that is exact, frames reduced
from strided views of the planes) and in parallel (the file cut at keyframes, one decoder per
core). ``decode="all"`` gives frame-exact boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from data_curation.cut_features import (  # noqa: F401  (CHECK_FRAMES, MAX_SKIPPED, DECODE_MODES: re-exported)
    CHECK_FRAMES,
    DECODE_MODES,
    MAX_SKIPPED,
    Features,
    frame_features,
)
from data_curation.luma import Y_BINS

SCALES = (1, 2, 4, 8, 16)
# what this module finds, as a number: raise it when the same video is cut differently, so that
# parts split before are split again (it is in the recipe's scoring key). 2: short flashes;
# 3: a flash between two different shots stays a cut; 4: dim frames' luma bins are soft, a clip
# of 2k samples has no scale-k boundary, and colour is one soft U-V histogram (a hue sweep is one shot);
# 5: reference frames deblocked, dissolves up to 2 s at any frame rate, a sparse decode's near
# misses decoded, the same shots on any number of threads
CUT_VERSION = 5


@dataclass
class CutParams:
    """Thresholds of the detector. ``min_across`` is on the 0..1 distance; ``ratio`` is
    across/within at scale 1 (hard cuts) and ``gradual_ratio`` at the larger scales.

    ``max_gradual_s``: the longest dissolve looked for, in seconds at any frame rate: the scales
    go past ``scales`` until one spans it (:func:`_scales`; 2 s is 50 frames at 25 fps, 120 at
    60). A longer one, or one out of a shot that changes fast on its own, may be missed in any
    decode mode, or found in one and not another, as they compare other frames: a 1.5 s
    dissolve out of lavfi's mandelbrot zoom into testsrc2 at 25 fps is 2.1x its zoom's change
    over as many frames with every frame decoded (2.5x needed), 2.9x in ``auto``'s frames."""

    min_across: float = 0.12
    ratio: float = 3.0
    gradual_ratio: float = 2.5
    min_within: float = 0.01
    scales: tuple[int, ...] = SCALES
    decode: str = "auto"  # "all" frames (frame-exact), "ref" or "auto": skip B-frames (see frame_features)
    threads: int = 0  # decoders at once (0: one per core; the same shots on any number: cut_features.frame_features)
    max_gradual_s: float = 2.0  # the longest dissolve looked for (see above)


@dataclass
class Shots:
    """Shots as half-open frame ranges, and the transitions between them (frames in neither)."""

    fps: float
    num_frames: int
    shots: list[list[int]] = field(default_factory=list)
    transitions: list[list[int]] = field(default_factory=list)



def distance(f: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Metric in 0..1 between decoded frames i and j: half histogram distance, half thumbnail
    mean absolute difference (x4, capped at 1).

    The histogram distance is luma's plus half the joint U-V histogram's
    (:func:`~data_curation.frame_summary.chroma_hist`, soft: a hue sweep is one shot). Half, as
    the joint histogram sees a colour's whole move where each plane saw one axis of it: a hue
    sweep fills it fast (a test card turning 0.3 rad/s: 1.77 of 2 in 31 frames), and at full
    weight that hid a dissolve in a sweeping shot (mandelbrot into the test card), while on real
    footage it is 0.5-1.4x (median) the mean of the two planes' that it replaces.

    Luma is compared at a normal exposure: a dim frame's levels stretched about black by its
    gain (``Features.gain``; its luma histogram was counted so at decoding). Raw, a night scene
    at luma ~25 of 255 lies in two or three histogram bins, and a light that drifts by a few
    levels moved most pixels across a bin edge: 1 Hz flicker gave a cut a second, while its
    thumbnail hardly changed. Stretched, a dim scene whose light changes keeps its look, and
    two dim scenes differ as much as they would in daylight. Each frame is mapped on its own,
    so ``d`` stays a metric."""
    h = np.abs(f.hist[i] - f.hist[j])
    d_hist = 0.5 * (h[:, :Y_BINS].sum(1) + 0.5 * h[:, Y_BINS:].sum(1)) / 2
    d_px = np.minimum(1.0, 4.0 * np.abs(_exposed_diff(f, np.asarray(i), np.asarray(j))).mean(1))
    return 0.5 * d_hist + 0.5 * d_px


def _exposed_diff(f: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Thumbnails i minus thumbnails j (index arrays), each stretched about black by its gain,
    in place on the copies the indexing makes; calls where every frame is at a normal exposure
    (most video) skip the stretch."""
    a, b = f.thumb[i], f.thumb[j]
    gi, gj = f.gain[i], f.gain[j]
    if (gi != 1).any() or (gj != 1).any():
        a -= f.black
        a *= gi[:, None]
        b -= f.black
        b *= gj[:, None]
    a -= b
    return a


def _candidates(f: Features, k: int, p: CutParams, found: list[tuple[int, int]],
                slack: float = 1.0) -> list[tuple[int, float, float]]:
    """Boundaries b (a sample index: the first sample of the new side) passing the test at
    scale k, as (b, score, across), local maxima only. The ``within`` spans stop at transitions
    already found, each rescaled to the span ``across`` covers (:func:`_span_scale`). ``slack``
    scales the ratio needed (:func:`_refined` asks with less)."""
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
    # a gradual boundary with no sample beyond it on either side (a clip of 2k samples: a 32-frame
    # clip, or a sparse decode's one in five of 160 frames) has nothing to compare its change with
    seen = ~np.isnan(within) | (k == 1)
    within = np.where(np.isnan(within), 0.0, np.minimum(within, 1.0))
    ratio = across / np.maximum(within, p.min_within)
    need = (p.ratio if k == 1 else p.gradual_ratio) * slack
    ok = (across >= p.min_across) & (ratio >= need) & seen
    if k == 1:
        for i in np.flatnonzero(ok):
            ok[i] = not _flash_edge(f, int(P[i]), int(Q[i]), p)
    score = np.where(ok, ratio * across, 0.0)
    out = []
    for i in np.flatnonzero(ok):
        lo, hi = max(0, i - k), min(len(b), i + k + 1)
        if score[i] >= score[lo:hi].max():
            out.append((int(b[i]), float(score[i]), float(across[i])))
    return out


FLASH_FRAMES = 3  # a flash (lightning, a camera's, a strobe) lasts at most this many frames
FLASH_RISE = 0.02  # its frames are this much brighter than the scene around it (0..1), at least
FLASH_GAIN = 0.08  # ... and this share of the scene's level above black, where that is more


def _flash_edge(f: Features, p: int, q: int, params: CutParams) -> bool:
    """Whether the hard cut between samples p and q is an edge of a flash: the scene of one side
    comes back within :data:`FLASH_FRAMES` frames on the other, after frames brighter than both.

    Why: the hard-cut test compares each side with its neighbour one frame further out, so a
    flash of two or three frames is one steady "shot" to it, between two cuts (a strobe at 60 fps
    left no clip of a 6 s shot). A one-frame flash never passed (the flash frame is on both
    sides). The flash must add light: a cut away to another shot of similar or lower brightness
    and back two or three frames later stays two cuts (its frames a shot of their own, too short for a
    clip), while a brighter one is taken for a flash and left in the shot. A white flash between
    two different shots (a common transition) is no flash: the shots differ (:func:`_cut_across`)."""
    return _flash_after(f, p, q, 1, params) or _flash_after(f, q, p, -1, params)


def _flash_after(f: Features, a: int, x: int, step: int, params: CutParams) -> bool:
    """Samples from ``x`` on (``step`` 1: later, -1: earlier) are a flash after the scene sample
    ``a``: some sample ``r`` after at most :data:`FLASH_FRAMES` frames of them is nearer ``a``
    than half its distance to ``x``, every sample from ``x`` up to ``r`` is brighter than
    ``a`` and ``r``, and ``a`` and ``r`` are no cut apart (:func:`_cut_across`). Sample
    indices, as a sparse decode leaves gaps.

    Why the last test: next to a white frame almost any frame is "nearer ``a`` than half its
    distance" (review: cellauto, two white frames, mandelbrot hid the cut after the white), so
    that test alone says only that ``r`` is not bright."""
    n, idx = len(f.index), f.index

    def lum(j: int) -> float:
        return float(f.thumb[j].mean()) - f.black

    r, lit = x + step, lum(x)
    while 0 <= r < n and abs(int(idx[r - step]) - int(idx[x])) < FLASH_FRAMES:
        floor = max(lum(a), lum(r))
        if lit >= floor + max(FLASH_RISE, FLASH_GAIN * floor):
            d = distance(f, np.array([a, x]), np.array([r, r]))
            if d[0] < 0.5 * d[1] and not _cut_across(f, a, r, params):
                return True
        lit = min(lit, lum(r))
        r += step
    return False


def _cut_across(f: Features, a: int, r: int, p: CutParams) -> bool:
    """Whether samples ``a`` and ``r``, with the flash frames between them left out, would pass
    the hard-cut test: ``across = d(a, r)`` at least ``p.min_across`` and ``p.ratio`` times
    ``within``, each side's own change over as many frames as lie between ``a`` and ``r``
    (:func:`_side_change`). Unlike :func:`_candidates`, ``within`` is the smaller side's: a flash
    brings back the scene it interrupted, so both sides move alike, while a fast scene cut to a
    calm one through white (cellauto: 0.29 across, 0.15 its own change over three frames) is a
    cut the larger side would excuse. A side with no samples beyond it counts as calm."""
    across = float(distance(f, np.array([a]), np.array([r]))[0])
    if across < p.min_across:
        return False
    away = 1 if r > a else -1  # from a towards r
    span = abs(int(f.index[r]) - int(f.index[a]))
    sides = [w for w in (_side_change(f, a, -away, span), _side_change(f, r, away, span)) if w is not None]
    return across >= p.ratio * max(min(sides, default=0.0), p.min_within)


def _side_change(f: Features, j: int, step: int, span: int) -> float | None:
    """Distance from sample ``j`` to the sample about ``span`` frames from it (``step`` 1: later,
    -1: earlier), rescaled to ``span`` frames (:func:`_span_scale`); None at the video's end."""
    idx = f.index
    target = int(idx[j]) + step * span
    k = int(np.searchsorted(idx, target, side="left")) if step > 0 else int(np.searchsorted(idx, target, side="right")) - 1
    k = min(max(k, 0), len(idx) - 1)
    if k == j:
        return None
    d = float(distance(f, np.array([j]), np.array([k]))[0])
    return min(1.0, d * float(_span_scale(np.array([span]), np.array([abs(int(idx[k]) - int(idx[j]))]))[0]))


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


def _scales(f: Features, p: CutParams) -> list[int]:
    """``p.scales``, then doubled until a scale's span (``2k - 1`` samples at their median
    spacing) reaches ``p.max_gradual_s``.

    Why: a scale counts samples, and a dissolve is found at the scale whose span about covers it.
    With scales up to 16 samples, every frame decoded reached 31 frames (1.2 s at 25 fps, 0.5 s
    at 60), while a sparse decode, one frame in two or three, reached 60-90: ``all`` missed the
    longer dissolves ``auto`` found (2 s at 50 fps, 1 s at 60), though it decodes more. Each
    scale costs ~20 ms per 1,000 samples, against seconds to decode them."""
    out = sorted(p.scales)
    gap = float(np.median(np.diff(f.index))) if len(f.index) > 1 else 1.0
    while out and (2 * out[-1] - 1) * gap < p.max_gradual_s * f.fps:
        out.append(2 * out[-1])
    return out


def find_transitions(f: Features, p: CutParams | None = None) -> list[tuple[int, int]]:
    """Transitions as sample ranges [s, e), smallest scale first: a larger scale keeps a
    boundary only where no smaller scale already found one within its span."""
    p = p or CutParams()
    found: list[tuple[int, int]] = []
    for k in _scales(f, p):
        for b, _, across in sorted(_candidates(f, k, p, found), key=lambda c: -c[1]):
            lo, hi = b - k, b + k - 1
            if any(s - 1 <= hi and e >= lo for s, e in found):
                continue
            found.append(_narrow(f, b, k, across))
    return _merge(_absorb_fades(f, sorted(found)) + _fades_through_black(f, p))


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


FADE_GROWTH = 0.01  # a ramp brightens by at least this share of its level a frame (a 3 s fade: 1.3% at the top)
FADE_MAX_S = 3.0  # seconds a ramp may last, each side


def _fades_through_black(f: Features, p: CutParams, depth: float = 0.2, dark: float = 0.1,
                         held: float = 0.02, rise: float = 0.1) -> list[tuple[int, int]]:
    """Fades out to black and in again, as sample ranges [s, e) over both ramps and the dark
    frames, as the montage counts an xfade ``fadeblack``: no shot keeps a half-faded frame.
    The scale test of :func:`_candidates` cannot place these: near black every frame looks
    alike, so its largest change lies inside a ramp (one scene's frames on the other's side),
    and a sparse decode may miss the fade altogether. Brightness places them: a fade is a dip of
    the whole frame to near black between two ramps.

    A dip counts where its level above black is at most ``dark`` and at most ``depth`` of both
    sides', in the mean and in the bright parts (90th percentile: a night scene whose lights go
    out keeps some; a fade scales every pixel), the brighter side is ``rise`` or more above
    black (a dark scene that dims is no fade), and the frames before and after differ by
    ``p.min_across``. ``depth`` and ``dark`` leave room for a sparse decode: its darkest sample
    of a 0.5 s fade may be a sixth of the way up a ramp. Dark for longer than a sparse decode
    can skip is a fade only if black (``held`` above it): a dim night shot is a shot. A dip at
    the start or end of the video is a fade in or out of one scene: its ramp goes to no shot
    either, and makes no shot of its own."""
    if len(f.thumb) == 0:
        return []
    black = min(f.black, float(f.thumb.mean(1).min()))  # the format's black, or lower where a file's is
    x = f.thumb.mean(1).astype(np.float64) - black
    n, out = len(x), []
    seen = np.zeros(n, bool)  # samples in a dark stretch or a fade already looked at
    lower = np.r_[True, x[:-1] > x[1:]] & np.r_[x[1:] >= x[:-1], True]  # local minima (first of a level run)
    dips = np.flatnonzero(lower & (x <= dark))
    for m in dips[np.argsort(x[dips], kind="stable")]:  # darkest first: a waver on its ramp comes later
        if seen[m]:
            continue
        a, b = _dark_core(x, m)
        seen[a:b + 1] = True
        if f.index[b] - f.index[a] > 2 * (MAX_SKIPPED + 1) and x[m] > held:
            continue  # dark for a while but not black: a dark shot, not a fade
        s = 0 if a == 0 else _ramp(f, x, a, -1)
        e = n if b == n - 1 else _ramp(f, x, b, 1)
        seen[s:e] = True
        sides = np.array([j for j in (s - 1, e) if 0 <= j < n], np.int64)
        if len(sides) and _is_fade(f, x, black, m, sides, p, depth, rise):
            out.append((s, e))
    return sorted(out)


def _is_fade(f: Features, x: np.ndarray, black: float, m: int, sides: np.ndarray, p: CutParams,
             depth: float, rise: float) -> bool:
    """The tests of :func:`_fades_through_black` on a dip at sample ``m`` between the scene
    frames ``sides`` (one of them at the start or end of the video)."""
    if x[sides].max() < rise or x[m] > depth * x[sides].min():
        return False
    top = np.percentile(f.thumb[np.r_[m, sides]] - black, 90, axis=1)
    if top[0] > depth * top[1:].min():
        return False
    return len(sides) == 1 or float(distance(f, sides[:1], sides[1:])[0]) >= p.min_across


def _dark_core(x: np.ndarray, m: int, tol: float = 0.02) -> tuple[int, int]:
    """The samples around the local minimum ``m`` within ``tol`` of its level: the black frames
    (a fade may hold black a while), whose brightness only wavers by encoding noise."""
    a, b = m, m
    while a > 0 and x[a - 1] <= x[m] + tol:
        a -= 1
    while b + 1 < len(x) and x[b + 1] <= x[m] + tol:
        b += 1
    return a, b


def _ramp(f: Features, x: np.ndarray, j: int, step: int, look: int = 4) -> int:
    """Walk from the dark sample ``j`` outward (``step`` -1: back, 1: on) while the samples up to
    ``look`` frames further out are brighter by :data:`FADE_GROWTH` of the level a frame (over a
    few frames, as encoding noise makes single steps waver); return the transition's bound there:
    the start of the darkening ramp (back) or the end, exclusive, of the brightening one (on).
    Where the brightening stops the frames are the scene's own: they stay in its shot. Below
    0.05 above black the growth is counted on 0.05, so noise near black cannot pass for a ramp."""
    n, idx = len(x), f.index
    start = idx[j]
    while 0 <= j + step < n and abs(idx[j + step] - start) <= FADE_MAX_S * f.fps:
        k = j + step
        while 0 <= k + step < n and abs(idx[k + step] - idx[j]) <= look:
            k += step
        if x[k] - x[j] < FADE_GROWTH * abs(idx[k] - idx[j]) * max(x[j], 0.05):
            break
        j += step
    return j + 1 if step < 0 else j


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
    """Shots of a video as half-open frame ranges ``[start, end)``. A FIFO or device is one
    MediaError line, before the decoder opens it and waits forever."""
    from video.media.read import check_regular

    check_regular(path)
    p = params or CutParams()
    f = _refined(path, frame_features(path, p.decode, p.threads), p)
    return to_shots(f, find_transitions(f, p))


# a hard cut this share of the ratio needed is worth decoding the frames around: a cut inside a
# gap of g frames, ``across`` holding the gap's motion and ``within`` scaled up to g frames, scores
# about (g + 2) / g of its frame-exact ratio over 3 (0.67 at g = 2, 0.47 at MAX_SKIPPED + 1)
NEAR = 0.5
REFINE_ROUNDS = 3


def _refined(path: str | Path, f: Features, p: CutParams) -> Features:
    """``f`` with the frames added that a sparse decode skipped around each hard cut it nearly
    took (at least :data:`NEAR` of ``p.ratio``), so that such a cut is judged on the same
    frames as with every frame decoded.

    Why: a sparse decode rescales a change over a few frames to the one frame ``across`` spans
    (:func:`_span_scale`), and in fast motion that guess can be off by the margin: bikes.mp4
    re-encoded with x264's B-pyramid lost its cut at frame 76, as the change over 73-75 (0.207,
    two frames) scaled to 0.146 against 0.409 across, where frame 74 shows 0.125. Near misses
    are rare (none or one in each clip of the tests), and each costs one decode from the
    keyframe before it (:func:`~data_curation.cut_features.frames_at`; bench/NOTES.md); a few
    rounds, as a frame added may show a cut beside it. ``all`` decodes have no gap to fill."""
    from data_curation.cut_features import frames_at, merge

    asked: set[int] = set(f.index.tolist())
    for _ in range(REFINE_ROUNDS):
        taken, want = {b for b, _, _ in _candidates(f, 1, p, [])}, set()
        for b, _, _ in _candidates(f, 1, p, [], slack=NEAR):
            if b not in taken:  # the frames from the one before P to the one after Q
                want |= set(range(int(f.index[max(b - 2, 0)]), int(f.index[min(b + 1, len(f.index) - 1)]) + 1))
        want -= asked
        asked |= want
        g = frames_at(path, sorted(want), f.thumb.shape[1]) if want else None  # a stream that changes shape too
        if g is None:
            return f
        f = merge(f, g)
    return f

