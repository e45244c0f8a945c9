"""Where to edit: masks from files, folders, arrays or boxes, and their maps onto the pixel
and latent grids.

A mask is float32 (F, H, W) in [0, 1]; 1 means regenerate, 0 keep. Files are read as grey
levels (white = regenerate) and thresholded at 0.5 unless a soft (per-pixel strength) mask is
wanted. The rules, each a small function below:

- **resizing** to the working size uses the video's own geometry (scale to cover, centre
  crop: :func:`video.media.resize_center_crop`), so a mask drawn on the input lines up;
- **feathering** ramps the mask *inwards*: a pixel at chessboard distance d from the nearest
  kept pixel gets min(d, r) / r, so the feathered mask is 0 wherever the mask was 0 (kept
  pixels stay exact) and rises monotonically to 1 over r pixels inside;
- **latent grid**: a latent cell is masked as strongly as the *most* masked pixel it covers
  (max-pool over each s x s cell), and in time a latent frame takes the max over the pixel
  frames it encodes. For a causal video VAE with factor 4 (Wan), latent frame 0 encodes pixel
  frame 0 alone and latent frame k >= 1 pixel frames 4k-3..4k. Max, not area, so everything a
  user marked is regenerated in the latent space; the pixel composite then restores the
  unmarked pixels of a partly marked cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from video.media import MediaError, load_image, read_video

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
_BOX = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:@\s*(\d*)\s*:\s*(\d*)\s*)?$")


@dataclass(frozen=True)
class Box:
    """A rectangle [x0, x1) x [y0, y1) in input pixels, on frames [f0, f1) (f1 None: to the end)."""

    x0: int
    y0: int
    x1: int
    y1: int
    f0: int = 0
    f1: int | None = None


def parse_box(text: str) -> Box:
    """``"x0,y0,x1,y1"`` or ``"x0,y0,x1,y1@f0:f1"`` (half-open, like Python slices; either
    frame bound may be left out)."""
    m = _BOX.match(text)
    if not m:
        raise MediaError(f"box {text!r}: write x0,y0,x1,y1 or x0,y0,x1,y1@f0:f1 (pixels, frames)")
    x0, y0, x1, y1 = (int(v) for v in m.group(1, 2, 3, 4))
    f0 = int(m.group(5)) if m.group(5) else 0
    f1 = int(m.group(6)) if m.group(6) else None
    if x1 <= x0 or y1 <= y0 or (f1 is not None and f1 <= f0):
        raise MediaError(f"box {text!r} is empty: need x0 < x1, y0 < y1, f0 < f1")
    return Box(x0, y0, x1, y1, f0, f1)


def is_box(source) -> bool:
    return isinstance(source, Box) or (isinstance(source, str) and bool(_BOX.match(source)))


def box_mask(box: Box, num_frames: int, height: int, width: int) -> torch.Tensor:
    """(F, H, W): 1 inside the box on its frames (clipped to the frame), 0 elsewhere."""
    m = torch.zeros(num_frames, height, width)
    m[box.f0:box.f1, box.y0:box.y1, box.x0:box.x1] = 1.0
    return m


# --- reading ---------------------------------------------------------------------------------

def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise MediaError(f"{folder}: no image files (.png, .jpg, ...) in this folder")
    return files


def load_frames(source) -> np.ndarray:
    """A video as uint8 (F, H, W, 3) from an array ((F, H, W, 3), or one (H, W, 3) frame), a
    list of PIL images or arrays, a video file, a folder of images (sorted by name) or one
    image file."""
    if isinstance(source, torch.Tensor):
        source = source.cpu().numpy()
    if isinstance(source, np.ndarray):
        arr = source[None] if source.ndim == 3 else source
        if arr.ndim != 4 or arr.shape[-1] not in (3, 4):
            raise MediaError(f"video array must be (F, H, W, 3), got shape {source.shape}")
        if arr.dtype != np.uint8:
            if arr.dtype.kind == "f" and arr.max() <= 1.0:
                arr = arr * 255.0
            arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(arr[..., :3])
    if isinstance(source, (list, tuple)):
        if not source:
            raise MediaError("empty list of frames")
        frames = [np.asarray(load_image(f)) for f in source]
        if len({f.shape for f in frames}) != 1:
            raise MediaError("frames of a video must all have the same size")
        return np.stack(frames)
    if isinstance(source, Image.Image):
        return np.asarray(source.convert("RGB"))[None]
    path = Path(source)
    if path.is_dir():
        return load_frames([str(p) for p in _image_files(path)])
    if not path.is_file():
        raise MediaError(f"{path} not found: give a video file, a folder of images, or an image")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return np.asarray(load_image(path))[None]
    try:
        frames = read_video(path)
    except Exception as e:  # PyAV raises its own error classes for unreadable files
        raise MediaError(f"{path}: not a readable video ({e.__class__.__name__})") from None
    if len(frames) == 0:
        raise MediaError(f"{path}: no frames")
    return frames


def _grey(source) -> torch.Tensor:
    """Any mask source but a box -> float (F, H, W) in [0, 1] at its own size."""
    if isinstance(source, torch.Tensor):
        source = source.detach().cpu().numpy()
    if isinstance(source, np.ndarray) and (source.ndim == 2 or (source.ndim == 3 and source.shape[-1] not in (3, 4))):
        arr = source[None] if source.ndim == 2 else source  # (H, W) or (F, H, W); (H, W, 3) is a colour image
    else:
        arr = load_frames(source).astype(np.float32).mean(-1)  # colour -> grey: mean of R, G, B
        return torch.from_numpy(arr / 255.0)
    if arr.dtype == np.bool_:
        return torch.from_numpy(arr.astype(np.float32))
    arr = arr.astype(np.float32)
    if arr.max() > 1.0:  # 0..255 grey levels
        arr = arr / 255.0
    return torch.from_numpy(np.clip(arr, 0.0, 1.0))


def resize_mask(mask: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(F, h, w) -> (F, height, width) with :func:`video.media.resize_center_crop`'s geometry
    (scale to cover, crop the centre), bilinear with antialiasing."""
    f, h, w = mask.shape
    if (h, w) == (height, width):
        return mask
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    m = F.interpolate(mask[:, None].float(), size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
    top, left = (nh - height) // 2, (nw - width) // 2
    return m[:, 0, top:top + height, left:left + width].clamp(0, 1)


def _box_to_working(box: Box, source_size: tuple[int, int], size: tuple[int, int]) -> Box:
    """Map a box in input pixels through the cover-scale and centre crop of :func:`resize_mask`."""
    (h, w), (height, width) = source_size, size
    if (h, w) == (height, width):
        return box
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    top, left = (nh - height) // 2, (nw - width) // 2

    def x(v: int) -> int:
        return min(max(round(v * nw / w) - left, 0), width)

    def y(v: int) -> int:
        return min(max(round(v * nh / h) - top, 0), height)

    return Box(x(box.x0), y(box.y0), x(box.x1), y(box.y1), box.f0, box.f1)


def load_mask(source, num_frames: int, height: int, width: int, invert: bool = False, soft: bool = False,
              source_size: tuple[int, int] | None = None) -> torch.Tensor:
    """The mask for a (num_frames, height, width) working video, float32 (F, H, W).

    ``source``: None (the whole video), a :class:`Box` or box string (in pixels of the input,
    ``source_size`` = its (H, W), default the working size), an array or tensor ((H, W),
    (F, H, W), (F, H, W, 3); bool, 0..1 or 0..255), a list of images, an image file, a folder
    of images or a video file. One frame applies to every frame; otherwise the mask needs at
    least ``num_frames`` frames (extra ones are dropped). Thresholded at 0.5 unless ``soft``;
    ``invert`` then swaps regenerate and keep.
    """
    src_h, src_w = source_size or (height, width)
    if source is None:
        m = torch.ones(num_frames, height, width)
    elif is_box(source):
        box = source if isinstance(source, Box) else parse_box(source)
        if box.x0 >= src_w or box.y0 >= src_h or box.f0 >= num_frames:
            raise MediaError(f"box {box} lies outside the {src_w}x{src_h} video of {num_frames} frames")
        m = box_mask(_box_to_working(box, (src_h, src_w), (height, width)), num_frames, height, width)
    else:
        m = _grey(source)
        if len(m) == 1:
            m = m.expand(num_frames, -1, -1)
        elif len(m) < num_frames:
            raise MediaError(f"the mask has {len(m)} frames, the video {num_frames}: give one frame or at least "
                             f"as many as the video")
        m = resize_mask(m[:num_frames].contiguous(), height, width)
    if not soft:
        m = (m >= 0.5).float()
    if invert:
        m = 1.0 - m
    return m.contiguous()


# --- the maps --------------------------------------------------------------------------------

def erode(mask: torch.Tensor) -> torch.Tensor:
    """One 3x3 grey-level erosion (min over the 8-neighbourhood) of (F, H, W); beyond the frame
    border the mask is continued (replicate), so a mask touching the border is not eroded there."""
    x = F.pad(mask[:, None], (1, 1, 1, 1), mode="replicate")
    return -F.max_pool2d(-x, kernel_size=3, stride=1)[:, 0]


def feather(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Ramp the mask inwards over ``radius`` pixels: the mean of its first ``radius`` erosions,
    which for a binary mask is min(d, r) / r with d the chessboard distance (in pixels, counting
    the pixel itself) to the nearest kept pixel. Zero wherever ``mask`` is zero; never above it."""
    if radius <= 0:
        return mask
    acc, m = torch.zeros_like(mask), mask
    for _ in range(radius):
        acc += m
        m = erode(m)
    return acc / radius


def temporal_groups(num_frames: int, factor: int) -> list[tuple[int, int]]:
    """[start, end) pixel frames of each latent frame of a causal VAE that compresses time by
    ``factor``: frame 0 alone, then groups of ``factor`` (pixel frames 4k-3..4k for factor 4).
    The last group is cut short if ``num_frames`` is not ``factor * k + 1``."""
    if factor == 1:
        return [(i, i + 1) for i in range(num_frames)]
    groups = [(0, 1)]
    while groups[-1][1] < num_frames:
        s = groups[-1][1]
        groups.append((s, min(s + factor, num_frames)))
    return groups


def latent_mask(mask: torch.Tensor, spatial: int, temporal: int = 1) -> torch.Tensor:
    """(F, H, W) pixel mask -> (T, H / spatial, W / spatial) latent mask: max over each
    spatial x spatial cell, then over the pixel frames of each latent frame
    (:func:`temporal_groups`)."""
    f, h, w = mask.shape
    if h % spatial or w % spatial:
        raise ValueError(f"mask size {h}x{w} is not a multiple of the latent factor {spatial}")
    cells = F.max_pool2d(mask[:, None].float(), kernel_size=spatial)[:, 0]
    return torch.stack([cells[s:e].amax(0) for s, e in temporal_groups(f, temporal)])


__all__ = ["Box", "box_mask", "erode", "feather", "is_box", "latent_mask", "load_frames", "load_mask", "parse_box",
           "resize_mask", "temporal_groups"]
