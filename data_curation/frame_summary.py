"""What the cut detector keeps of each decoded frame (:class:`Features`): a 32-px luma
thumbnail and Y/U/V histograms, the luma one at a normal exposure (:mod:`data_curation.luma`),
reduced from the decoder's own planes as frames come (:class:`Reducer`). How frames are
decoded is :mod:`data_curation.cut_features`'s."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from data_curation.luma import VIDEO_BLACK, black_level, exposed_luma_hist, exposure_gain

THUMB_W = 32
C_BINS = 16  # bins of each chroma histogram (the luma one: data_curation.luma.Y_BINS)


@dataclass
class Features:
    """Per decoded frame: its index, a float thumbnail and normalised Y/U/V histograms (luma at a
    normal exposure: :func:`exposed_luma_hist`)."""

    index: np.ndarray  # (n,) int frame index
    thumb: np.ndarray  # (n, t) float32 in 0..1, as decoded
    hist: np.ndarray  # (n, Y_BINS + 2 * C_BINS) float32, each channel sums to 1
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
    """Reduces every decoded frame, as it comes, to a thumbnail and Y/U/V histograms, reading
    every few rows and columns of the decoder's own planes (a strided view, copied small).
    OpenCV's histogram counts the same as ``bincount(plane >> shift)`` in about a tenth of the
    time (14 against 116 us a 720p frame, batched), which is 3-4% of reference-frame decoding."""

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
        parts = [exposed_luma_hist(levels, gain, self.black) / y.size]
        for c in (1, 2):
            a = np.ascontiguousarray(_plane(frame, c, step))
            counts = cv2.calcHist([a], [0], None, [C_BINS], [0, 256]).ravel()  # bin = value * C_BINS // 256
            parts.append(counts.astype(np.float64) / a.size)
        self.hists.append(np.concatenate(parts))
        self.index.append(index)

    def __len__(self) -> int:
        return len(self.index)

    def features(self, fps: float, num_frames: int) -> Features:
        index = np.asarray(self.index, np.int64)
        order = np.argsort(index, kind="stable")
        # a variable-rate source can put two frames on one slot of the nominal grid: the first stands
        order = order[np.r_[True, np.diff(index[order]) > 0]]
        thumbs = self.thumbs
        if len({t.size for t in thumbs}) > 1:  # a resolution change mid-stream: compare histograms only
            thumbs = [np.zeros(1, np.uint8)] * len(thumbs)
        return Features(index[order], np.stack(thumbs)[order].astype(np.float32) / 255.0,
                        np.stack(self.hists)[order].astype(np.float32), fps, num_frames, self.black / 255.0)


PLANAR_YUV = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p")
