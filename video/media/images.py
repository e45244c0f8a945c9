"""Reading still images: a path, PIL image or array as upright RGB, and fitting one to a size.

The image input of img2vid, edit masks and training pictures all come through here, so EXIF
orientation and 16-bit greys are handled once.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from video.media.errors import MediaError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_IMAGE = ASSETS / "astronaut.jpg"


def load_image(source) -> Image.Image:
    """A path, PIL image, or HxWx3 array -> RGB PIL image (EXIF rotation applied). Arrays: uint8
    as they are; float with every value <= 1 read in [0, 1] (diffusers' convention), other float
    in 0..255 (as ``video.edit.mask`` reads float frames); anything else a MediaError (a float
    array used to be cast as it was, so [0, 1] became a black picture, and uint16 wrapped)."""
    if isinstance(source, Image.Image):
        return source.convert("RGB")
    if isinstance(source, np.ndarray):
        if source.ndim != 3 or source.shape[2] not in (3, 4):
            raise MediaError(f"image array must be HxWx3, got shape {source.shape}")
        a = source[..., :3]
        if a.dtype.kind == "f":
            if a.size and (not np.isfinite(a).all() or a.min() < 0 or a.max() > 255):
                raise MediaError(f"a float image array must hold values in [0, 1] or 0..255, got "
                                 f"[{a.min():.3g}, {a.max():.3g}]")
            a = np.round(a * (255.0 if a.size and a.max() <= 1 else 1.0))
        elif a.dtype != np.uint8:
            raise MediaError(f"image array must be uint8, or float in [0, 1] or 0..255; got {a.dtype}")
        return Image.fromarray(a.astype(np.uint8))
    return file_rgb(open_image(source))


def open_image(path) -> Image.Image:
    """An image file, decoded and turned as its EXIF orientation says, in its own mode; a
    missing, unreadable or oversized file is one MediaError line. Shared by :func:`load_image`
    and the mask reader (which keeps the alpha channel)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"image {path} not found")
    try:
        with Image.open(path) as f:
            im = ImageOps.exif_transpose(f)
            im.load()
            return im
    except Image.DecompressionBombError as e:  # not an OSError: it escaped as a traceback
        raise MediaError(f"{path} is too large to read safely: {e}") from None
    except (UnidentifiedImageError, OSError) as e:
        raise MediaError(f"{path} is not an image we can read ({e.__class__.__name__})") from None


def file_rgb(im: Image.Image) -> Image.Image:
    """A decoded image file as RGB; 16-bit grey scaled to 8 bits (``convert("RGB")`` clips it
    to white)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        a = a / 257.0 if a.max() > 255 or im.mode.startswith("I;16") else a
        return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8)).convert("RGB")
    return im.convert("RGB")


def natural_key(name: str) -> list:
    """Sort key comparing the digit runs of a name as numbers: ``2.png`` before ``10.png``, as
    exporters that do not zero-pad frame numbers mean (plain order gives 1, 10, 11, 2, ...)."""
    return [(0, int(t), t) if t.isdecimal() else (1, 0, t) for t in re.split(r"(\d+)", name)]


def resize_center_crop(image: Image.Image, height: int, width: int) -> Image.Image:
    """Scale to cover (height, width) keeping the aspect ratio, then crop the centre."""
    w, h = image.size
    if (w, h) == (width, height):
        return image
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    image = image.resize((nw, nh), Image.Resampling.LANCZOS)
    left, top = (nw - width) // 2, (nh - height) // 2
    return image.crop((left, top, left + width, top + height))


def image_to_tensor(source, height: int, width: int) -> torch.Tensor:
    """Any image source -> float32 (1, 3, height, width) in [0, 1]."""
    if isinstance(source, torch.Tensor):
        if source.ndim == 3:
            source = source.unsqueeze(0)
        if source.shape[-2:] != (height, width):
            raise MediaError(f"tensor image is {tuple(source.shape[-2:])}, expected {(height, width)}")
        return source.float()
    im = resize_center_crop(load_image(source), height, width)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()
