"""What the cut detector keeps of each decoded frame (:class:`Features`): a 32-px luma
thumbnail, a luma histogram at a normal exposure (:mod:`data_curation.luma`) and a soft joint
U-V histogram (:func:`chroma_hist`), reduced from the decoder's own planes as frames come
(:class:`Reducer`). How frames are decoded is :mod:`data_curation.cut_features`'s."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from data_curation.luma import VIDEO_BLACK, black_level, exposed_luma_hist, exposure_gain

THUMB_W = 32
C_BINS = 16  # chroma bins along U and along V: C_BINS ** 2 in the joint histogram (luma: data_curation.luma.Y_BINS)
CHROMA_GREY = 128  # the U/V level of no colour, in either range


@dataclass
class Features:
    """Per decoded frame: its index, a float thumbnail and normalised histograms, of luma (at a
    normal exposure: :func:`exposed_luma_hist`) and of U and V together (:func:`chroma_hist`)."""

    index: np.ndarray  # (n,) int frame index
    thumb: np.ndarray  # (n, t) float32 in 0..1, as decoded
    hist: np.ndarray  # (n, Y_BINS + C_BINS ** 2) float32: luma, then U-V (row U, column V); each sums to 1
    fps: float
    num_frames: int
    black: float = VIDEO_BLACK / 255  # the luma of black on the thumbnails' 0..1 scale (full range: 0)

    @cached_property
    def gain(self) -> np.ndarray:
        """(n,) each frame's :func:`exposure_gain`, from its thumbnail's mean: the stretch about
        :attr:`black` that compares a dim frame as if it were exposed normally."""
        return exposure_gain((self.thumb.mean(1) - self.black) * 255.0).astype(np.float32)


def _plane(frame, i: int, step: int) -> np.ndarray:
    """Every ``step``-th row and column of plane ``i``, at the plane's own size (chroma is half
    the height in 4:2:0, full height in 4:2:2, full size in 4:4:4)."""
    p = frame.planes[i]
    return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:p.height:step, :p.width:step]


class Reducer:
    """Reduces every decoded frame, as it comes, to a thumbnail and luma and U-V histograms,
    reading every few rows and columns of the decoder's own planes (a strided view, copied small).
    OpenCV's histogram counts the same as ``bincount(plane >> shift)`` in about a tenth of the
    time (14 against 116 us a 720p frame, batched), which is 3-4% of reference-frame decoding;
    the soft U-V histogram (:func:`chroma_hist`, numpy) adds ~40 us, under 2% of decoding 720p."""

    def __init__(self) -> None:
        self.index: list[int] = []
        self.thumbs: list[np.ndarray] = []
        self.hists: list[np.ndarray] = []
        self.black = VIDEO_BLACK  # the decoded frames' black level (:func:`~data_curation.luma.black_level`)
        self.damaged = False  # decoding stopped early on data the decoder could not read

    def add(self, frame, index: int) -> None:
        import cv2

        if frame.format.name not in PLANAR_YUV:
            frame = frame.reformat(format="yuv420p")
        step = max(1, frame.width // 128)
        y = np.ascontiguousarray(_plane(frame, 0, step))
        th = max(1, round(THUMB_W * y.shape[0] / max(1, y.shape[1])))
        thumb = cv2.resize(y, (THUMB_W, th), interpolation=cv2.INTER_AREA).ravel()
        self.thumbs.append(thumb)
        self.black = black_level(frame)
        levels = cv2.calcHist([y], [0], None, [256], [0, 256]).ravel().astype(np.float64)
        gain = exposure_gain(cv2.mean(thumb)[0] - self.black)
        uv = chroma_hist(_plane(frame, 1, step), _plane(frame, 2, step), gain)
        self.hists.append(np.concatenate((exposed_luma_hist(levels, gain, self.black) / y.size, uv)))
        self.index.append(index)

    def __len__(self) -> int:
        return len(self.index)

    def features(self, fps: float, num_frames: int, thumb_size: int | None = None) -> Features:
        """``thumb_size``: the pixels every thumbnail is brought to (default: the first frame's)."""
        index = np.asarray(self.index, np.int64)
        order = np.argsort(index, kind="stable")
        # a variable-rate source can put two frames on one slot of the nominal grid: the first stands
        order = order[np.r_[True, np.diff(index[order]) > 0]]
        size = thumb_size or (self.thumbs[0].size if self.thumbs else THUMB_W)
        thumbs = np.asarray(fit_thumbs([t.astype(np.float32) / 255.0 for t in self.thumbs], size), np.float32)
        return Features(index[order], thumbs.reshape(len(index), size)[order],
                        np.stack(self.hists)[order].astype(np.float32), fps, num_frames, self.black / 255.0)


def fit_thumbs(thumbs, size: int) -> list[np.ndarray]:
    """Raveled float thumbnails (``THUMB_W`` wide) brought to ``size`` pixels, the first frame's, where
    the picture's shape changed mid-stream (a concatenation of 4:3 and 16:9, a broadcast's switch):
    stretched, the frames keep their brightness and layout, so a fade and a cut are still seen. Zero
    thumbnails, as before, made every frame look black, and such a file one fade with no shots."""
    import cv2

    return [t if t.size == size else
            cv2.resize(t.reshape(-1, THUMB_W), (THUMB_W, size // THUMB_W), interpolation=cv2.INTER_AREA).ravel()
            for t in thumbs]


def _soft_lut(gain: float) -> tuple[np.ndarray, np.ndarray]:
    """For each U/V level, stretched about grey by ``gain``: the lower of its two nearest bin
    centres (0..C_BINS-2) and its share of the way to the upper one (beyond the end centres: all
    to the end bin)."""
    at = np.clip((CHROMA_GREY + (np.arange(256) + 0.5 - CHROMA_GREY) * gain) / (256 / C_BINS) - 0.5, 0, C_BINS - 1)
    lo = np.minimum(at.astype(np.int64), C_BINS - 2)
    return lo, at - lo


_PLAIN_LUT = _soft_lut(1.0)


def chroma_hist(u: np.ndarray, v: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """Normalised ``C_BINS x C_BINS`` histogram of the (U, V) pairs of two same-sized chroma
    planes, raveled, each pair shared among its four nearest bin centres by closeness (bilinear
    soft bins), its colour first stretched about grey by the frame's exposure ``gain``.

    Why joint: a slow hue sweep (a sunset, a grade, stage lights) turns every colour about grey,
    and the U and V histograms apart are its shadows on two axes: two colours' shadows cross and
    part, so 7 frames of a test card's sweep at 1 rad/s moved 1.6 of 2 of each while the 7
    frames either side moved 0.2-0.7, a false dissolve; turning the colours together moves the
    joint histogram about alike over equal spans. Why soft: a flat area of one colour crossed a
    hard bin edge all at once (1.2 of 2 in one frame), a false cut; soft, a colour that moves a
    little moves a little mass. Why stretched: a dim frame's colours are as much nearer grey as
    its luma is nearer black, so a dim shot whose light changes keeps its histogram, as its luma
    one does (:func:`~data_curation.luma.exposed_luma_hist`)."""
    lo, share = _PLAIN_LUT if gain == 1.0 else _soft_lut(gain)
    u, v = u.ravel(), v.ravel()
    iu, iv, fu, fv = lo[u], lo[v], share[u], share[v]
    at = iu * C_BINS + iv
    w = np.concatenate(((1 - fu) * (1 - fv), (1 - fu) * fv, fu * (1 - fv), fu * fv))
    counts = np.bincount(np.concatenate((at, at + 1, at + C_BINS, at + C_BINS + 1)), w, C_BINS * C_BINS)
    return counts / max(u.size, 1)


PLANAR_YUV = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p")
