"""Frame metrics with closed forms: PSNR and SSIM. Pure functions of two images (or two equal
stacks of frames); the learned metrics (FVD, CLIP-SIM, LPIPS) live in their own modules."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from video.models.image_encoder import gaussian_kernel1d

SSIM_SIGMA = 1.5
SSIM_WINDOW = 2 * int(3.5 * SSIM_SIGMA + 0.5) + 1  # 11: the Gaussian truncated at 3.5 sigma, as scikit-image does


INTEGER_RANGES = {"uint8": 255.0, "uint16": 65535.0}  # the ranges inferred when data_range is not given

CHUNK_BYTES = 128 * 2**20  # the working set PSNR and SSIM keep to, whatever the clip's length
PSNR_BYTES_PER_VALUE = 32  # two float64 copies, their difference and its square
SSIM_BYTES_PER_VALUE = 80  # _ssim_chunk's measured peak, 74 B: float64 input, float32 moments, float64 terms


def _f64(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float64)


def _stack(x):
    """``x`` as an array or tensor with a shape, its dtype kept: no float copy of a whole clip,
    which the metrics convert a few frames at a time (:func:`frames_per_chunk`)."""
    return x if isinstance(x, torch.Tensor) else np.asarray(x)


def frames_per_chunk(frame_values: int, bytes_per_value: int, budget: int | None = None) -> int:
    """How many frames of ``frame_values`` values (H * W * C) a metric takes at once so that its
    working set (``bytes_per_value`` for each value) stays within ``budget`` (default
    :data:`CHUNK_BYTES`); at least one. Whole clips at once needed 166 B a value for SSIM: 37 GB
    for 81 frames of 720p."""
    budget = CHUNK_BYTES if budget is None else budget
    return max(1, budget // max(1, frame_values * bytes_per_value))


def _dtype_name(x) -> str:
    dtype = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    return str(dtype).removeprefix("torch.")


def infer_data_range(a, b, data_range: float | None, metric: str) -> float:
    """``data_range`` when given; else the full range of an unsigned 8- or 16-bit dtype shared by
    both inputs. Floats (and other dtypes) must say their range: [0, 1] read as [0, 255] would
    add 20 log10(255) = 48.13 dB to PSNR. scikit-image's SSIM refuses floats the same way."""
    if data_range is not None:
        if not data_range > 0:
            raise ValueError(f"{metric}: data_range must be positive, got {data_range}")
        return float(data_range)
    da, db = _dtype_name(a), _dtype_name(b)
    if da == db and da in INTEGER_RANGES:
        return INTEGER_RANGES[da]
    raise ValueError(f"{metric}: give data_range for {da}/{db} input (inferred only for uint8 and uint16: "
                     "255 and 65535)")


def psnr(a, b, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB over all of ``a`` and ``b`` at once: 10 log10(range^2 /
    MSE); inf for identical inputs. For a video's headline PSNR (the mean of per-frame values, as
    papers report it) see :func:`psnr_frames`. ``data_range``: see :func:`infer_data_range`.
    The squared error is summed a few frames (rows of an image) at a time, so a long clip needs
    no float64 copy of itself; integer inputs give the same sum, exactly, in any order."""
    data_range = infer_data_range(a, b, data_range, "psnr")
    a, b = _stack(a), _stack(b)
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"psnr needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.ndim == 0:
        a, b = a.reshape(1), b.reshape(1)
    values = math.prod(a.shape)
    step = frames_per_chunk(values // max(1, len(a)), PSNR_BYTES_PER_VALUE)
    sse = sum(torch.sum((_f64(a[i : i + step]) - _f64(b[i : i + step])) ** 2).item()
              for i in range(0, len(a), step))
    mse = sse / values if values else math.nan
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def psnr_frames(a, b, data_range: float | None = None) -> np.ndarray:
    """Per-frame PSNR (dB) of two equal (F, ...) stacks: inf where a frame equals its reference."""
    data_range = infer_data_range(a, b, data_range, "psnr")
    a, b = _stack(a), _stack(b)  # a list of frames has no shape to name in the error
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"psnr needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    return np.array([psnr(x, y, data_range) for x, y in zip(a, b, strict=True)], dtype=np.float64)


def mean_finite(values: np.ndarray) -> tuple[float, int]:
    """(mean of the finite values, how many were inf): a video's PSNR is the mean over its
    frames, and a frame identical to its reference (inf) cannot enter a mean without making it
    inf; it is counted instead, as the aggregate counts inf videos. inf when none is finite."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    return (float(finite.mean()) if len(finite) else math.inf), int(len(v) - len(finite))


def ssim_frames(a, b, data_range: float | None = None, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Per-frame SSIM of two (F, H, W, C) stacks, or (F, H, W) stacks of grey frames (Wang et al.
    2004, eq. 13). The first axis is frames, as :func:`psnr_frames` reads it: a 3-D stack was
    taken for one (H, W, C) image, so grey frames scored as one image of W channels. One image
    goes through :func:`ssim`.

    Gaussian window (sigma 1.5, 11 taps: truncated at 3.5 sigma as scikit-image does), population
    covariances, K1 = 0.01, K2 = 0.03, averaged over channels and over the pixels whose window
    lies inside the image: the numbers of ``skimage.metrics.structural_similarity(...,
    gaussian_weights=True, use_sample_covariance=False)``. The five local moments come from one
    depthwise float32 convolution (float64 convolutions are several times slower on CPUs); each
    image is first centred on its mean and scaled to unit range, so E[x^2] - E[x]^2 keeps its
    digits in float32. ``data_range``: see :func:`infer_data_range`. Frames are scored a few
    at a time (:data:`CHUNK_BYTES` of working set), so memory does not grow with the clip.
    """
    data_range = infer_data_range(a, b, data_range, "ssim")
    a, b = _stack(a), _stack(b)
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"ssim needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.ndim == 3:  # grey frames
        a, b = a[..., None], b[..., None]
    if a.ndim != 4:
        raise ValueError(f"ssim_frames expects (F, H, W, C) or grey (F, H, W) frames, got {tuple(a.shape)}")
    n, h, w, c = a.shape
    size = 2 * int(3.5 * sigma + 0.5) + 1
    if min(h, w) < size:
        raise ValueError(f"ssim needs frames of at least {size}x{size} px, got {h}x{w}")
    if n == 0:
        raise ValueError("ssim needs at least one frame, got 0")
    step = frames_per_chunk(h * w * c, SSIM_BYTES_PER_VALUE)
    parts = [_ssim_chunk(a[i : i + step], b[i : i + step], data_range, sigma) for i in range(0, n, step)]
    return np.concatenate(parts)


def _ssim_chunk(a, b, data_range: float, sigma: float) -> np.ndarray:
    """SSIM of each frame of two equal (N, H, W, C) chunks; every frame is scored on its own, so
    a chunk gives the numbers the whole clip at once gives. Intermediates are dropped as soon as
    they are used: the peak is SSIM_BYTES_PER_VALUE a value."""
    n, c = a.shape[0], a.shape[3]
    size = 2 * int(3.5 * sigma + 0.5) + 1
    x = _f64(a).permute(0, 3, 1, 2) / data_range  # (N, C, H, W)
    y = _f64(b).permute(0, 3, 1, 2) / data_range
    centre = (x.mean(dim=(2, 3), keepdim=True) + y.mean(dim=(2, 3), keepdim=True)) / 2
    x, y = (x - centre).float(), (y - centre).float()
    moments = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # (N, 5C, H, W)
    del x, y
    k = gaussian_kernel1d(size, sigma, dtype=torch.float32)
    groups = moments.shape[1]
    m = F.conv2d(moments, k.view(1, 1, -1, 1).expand(groups, 1, size, 1).contiguous(), groups=groups)
    del moments
    m = F.conv2d(m, k.view(1, 1, 1, -1).expand(groups, 1, 1, size).contiguous(), groups=groups)
    mx, my, sxx, syy, sxy = m.double().split(c, dim=1)
    del m
    vx, vy, cxy = sxx - mx * mx, syy - my * my, sxy - mx * my
    del sxx, syy, sxy
    mx, my = mx + centre, my + centre  # back to absolute means for the luminance term
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.reshape(n, -1).mean(dim=1).numpy()


IMAGE_CHANNELS = 4  # the most channels a 3-D input to ssim() may have to read as one (H, W, C) image


def ssim(a, b, data_range: float | None = None) -> float:
    """Mean SSIM of two equal images or stacks (1.0 for identical inputs): (H, W) grey or
    (H, W, C) with C <= 4 is one image; (F, H, W, C) frames, and a 3-D input whose last axis is
    longer (grey (F, H, W) frames, as :func:`ssim_frames` reads them: grey frames at most 4 px
    wide are below SSIM's 11 px window, so the two readings never meet)."""
    a, b = _stack(a), _stack(b)
    if a.ndim == 2 or (a.ndim == 3 and a.shape[-1] <= IMAGE_CHANNELS):
        a, b = a[None], b[None]
    return float(ssim_frames(a, b, data_range).mean())
