"""Reading still images: a path, PIL image or array as upright RGB, and fitting one to a size.

The image input of img2vid, edit masks and training pictures all come through here, so EXIF
orientation and 16-bit greys are handled once.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from video.media.errors import MediaError
from video.media.read import special_file

if TYPE_CHECKING:
    import torch

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_IMAGE = ASSETS / "astronaut.jpg"


def load_image(source) -> Image.Image:
    """A path, PIL image, or HxWx3 array -> RGB PIL image (EXIF rotation applied). Arrays: uint8
    as they are; float with every value <= 1 read in [0, 1] (diffusers' convention), other float
    in 0..255 (as ``video.edit.mask`` reads float frames); anything else a MediaError (a float
    array used to be cast as it was, so [0, 1] became a black picture, and uint16 wrapped)."""
    if isinstance(source, Image.Image):
        return on_white(source).convert("RGB")
    if isinstance(source, np.ndarray):
        if source.ndim != 3 or source.shape[2] not in (3, 4):
            raise MediaError(f"image array must be HxWx3, got shape {source.shape}")
        if source.shape[2] == 4 and source.dtype == np.uint8:
            return on_white(Image.fromarray(source, "RGBA")).convert("RGB")
        a = source[..., :3]
        if a.dtype.kind == "f":
            if a.size and (not np.isfinite(a).all() or a.min() < 0 or a.max() > 255):
                raise MediaError(f"a float image array must hold values in [0, 1] or 0..255, got "
                                 f"[{a.min():.3g}, {a.max():.3g}]")
            a = np.round(a * (255.0 if a.size and a.max() <= 1 else 1.0))
        elif a.dtype != np.uint8:
            raise MediaError(f"image array must be uint8, or float in [0, 1] or 0..255; got {a.dtype}")
        return Image.fromarray(a.astype(np.uint8))
    return file_rgb(on_white(open_image(source)))


def on_white(im: Image.Image) -> Image.Image:
    """An image with transparent pixels laid on white, with a warning; others as they are.
    Dropping the alpha channel showed whatever colour lay under the transparent pixels, often
    black, where the user saw a cut-out on a light page; white is A1111's img2img default."""
    if im.mode not in ("RGBA", "LA", "PA", "La", "RGBa") and "transparency" not in im.info:
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # convert("RGBA") clips 16-bit grey to white
        alpha = (np.asarray(im) != im.info["transparency"]).astype(np.uint8) * 255
        rgba = Image.fromarray(np.dstack([np.asarray(file_rgb(im)), alpha]), "RGBA")
    else:
        rgba = im.convert("RGBA")
    if rgba.getextrema()[3][0] == 255:  # an alpha channel, but every pixel opaque
        return im
    warnings.warn("the image has transparent pixels: they are laid on white (as A1111's img2img does); "
                  "flatten it yourself for another background", stacklevel=3)
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def open_image(path) -> Image.Image:
    """An image file, decoded and turned as its EXIF orientation says, in its own mode, its
    colours in sRGB (:func:`to_srgb`: a Display P3 or Adobe RGB photo was read as sRGB, duller);
    a missing, unreadable or oversized file is one MediaError line; a folder or a video given as
    the image says it is one. Shared by :func:`load_image` and the mask reader (which keeps the
    alpha channel). A file of several frames (an animated GIF, WebP or PNG) is read as its
    first frame with a one-line warning: it was cut to that frame without a word."""
    path = Path(path)
    if path.is_dir():
        raise MediaError(f"image {path} is a folder; give one image file")
    if (why := special_file(path)) is not None:  # a FIFO hung here, /dev/null and a link loop were "not found"
        raise MediaError(f"image {path} is {why}")
    if not path.is_file():
        raise MediaError(f"image {path} not found")
    try:
        with Image.open(path) as f:
            frames = getattr(f, "n_frames", 1)
            im = ImageOps.exif_transpose(f)
            im.load()
            im = to_srgb(im, path)
    except Image.DecompressionBombError as e:  # not an OSError: it escaped as a traceback
        raise MediaError(f"{path} is too large to read safely: {e}") from None
    except (UnidentifiedImageError, OSError) as e:
        raise MediaError(unreadable_image(path, e)) from None
    if frames > 1:
        warnings.warn(f"{path.name} has {frames} frames (an animated image): only its first frame is read",
                      stacklevel=3)
    return im


_WARNED: set[str] = set()  # the colour-profile problems already warned about (each once a run)


def _warn_once(key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message + " (said once)", stacklevel=4)


def to_srgb(im: Image.Image, name: str | Path = "the image") -> Image.Image:
    """An RGB(A) or palette image with an embedded ICC profile other than sRGB converted to sRGB,
    the colours every later step (and the models) take pixels to be in; others as they are. A
    Display P3 pixel stored (40, 180, 60), as iPhones save photos, is sRGB (0, 185, 23): read
    as sRGB it came out duller. Relative colorimetric intent: colours inside sRGB stay exactly
    what they are and only those outside are clipped to its edge, as browsers show such a file
    on an sRGB screen; perceptual would shift every colour to squeeze the rest in, and the
    matrix profiles of cameras and phones (P3, Adobe RGB) define no perceptual table anyway
    (LittleCMS falls back to colorimetric). Greyscale and CMYK files are left as read (a grey
    mask's levels are data). Without PIL's ImageCms, or with a broken profile, one warning
    (once a run) and the pixels as stored."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "P", "PA"):
        return im
    try:
        from PIL import ImageCms
    except ImportError:
        _warn_once("no ImageCms", f"{Path(name).name} has a colour profile, but PIL was built without "
                                  f"LittleCMS (ImageCms): colours are read as sRGB, possibly duller")
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = ImageCms.getProfileDescription(src).strip()
        if "srgb" in desc.lower() or src.profile.xcolor_space.strip() != "RGB":
            return im
        if im.mode in ("P", "PA"):
            im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
        out = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode=im.mode,
                                        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as e:
        _warn_once("broken profile", f"{Path(name).name}: its colour profile cannot be read ({e}): colours "
                                     f"are read as sRGB")
        return im
    out.info = {k: v for k, v in im.info.items() if k != "icc_profile"}
    return out


def unreadable_image(path: Path, error: Exception) -> str:
    """Why ``path`` did not open as an image: a video file (an MP4 or WebM given as the image,
    by its first bytes) says so, as "not an image we can read (UnidentifiedImageError)" left
    the user guessing; anything else names PIL's error."""
    from video.models.detect import media_format  # heavy, and only on this error's path

    found = media_format(path)
    if found is not None and found[0] == "video":
        return f"{path} is a video ({found[1]}), not an image; give one image file (e.g. a frame saved as .png)"
    return f"{path} is not an image we can read ({error.__class__.__name__})"


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
    """Scale to cover (height, width) keeping the aspect ratio, then crop the centre. Done on
    the source's centre region only (PIL's ``box``), so no pixel outside the crop is made: the
    whole scaled image was 100000 x 100000 pixels for an 8 x 100000 crop and ran out of
    memory. The pixels stay those of scaling everything and cropping, within a level or two of
    rounding (:func:`_lanczos_region`)."""
    w, h = image.size
    if (w, h) == (width, height):
        return image
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))  # the whole image, scaled
    left, top = (nw - width) // 2, (nh - height) // 2  # the crop in it, mapped back to the source below
    return _lanczos_region(image, (left * w / nw, top * h / nh, (left + width) * w / nw, (top + height) * h / nh),
                           width, height)


def _lanczos_region(image: Image.Image, box: tuple[float, float, float, float], width: int,
                    height: int) -> Image.Image:
    """The source region ``box`` (fractional pixels) resampled to ``width`` x ``height`` with
    LANCZOS, one axis per call: across, then down, PIL's classic order for a whole resize. One
    ``resize(box=)`` call may pick the other order for the smaller problem, and with the
    filter's overshoot clipped between the passes that moved edge pixels by up to a dozen
    levels. The across pass reads only the rows the down pass needs (the filter's reach, 3
    source pixels times any reduction, beyond the box), so memory stays near the output's."""
    import math

    w, h = image.size
    x0, y0, x1, y1 = box
    reach = 3 * max(1.0, (y1 - y0) / height) + 1
    r0, r1 = max(0, math.floor(y0 - reach)), min(h, math.ceil(y1 + reach))
    rows = image.crop((0, r0, w, r1))
    across = rows.resize((width, r1 - r0), Image.Resampling.LANCZOS, box=(x0, 0, x1, r1 - r0))
    return across.resize((width, height), Image.Resampling.LANCZOS, box=(0, y0 - r0, width, y1 - r0))


def image_to_tensor(source, height: int, width: int) -> torch.Tensor:
    """Any image source -> float32 (1, 3, height, width) in [0, 1]. A (1,) 3xHxW float tensor of
    another size is scaled and cropped as the other forms are (it was a MediaError), through 8
    bits like them; one of the size is used as it is. torch loads here, not with the module:
    probing, ``curate`` and every ``--help`` read media without it."""
    import torch

    if isinstance(source, torch.Tensor):
        if source.ndim == 3:
            source = source.unsqueeze(0)
        if source.ndim != 4 or tuple(source.shape[:2]) != (1, 3):
            raise MediaError(f"a tensor image must be 3xHxW or 1x3xHxW; got shape {tuple(source.shape)}")
        if source.shape[-2:] == (height, width):
            return source.float()
        levels = (source[0].float().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0)
        source = Image.fromarray(levels.cpu().numpy())
    im = resize_center_crop(load_image(source), height, width)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()
