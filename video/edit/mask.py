"""Where to edit: masks from files, folders, arrays or boxes, and their maps onto the pixel
and latent grids.

A mask is float32 (F, H, W) in [0, 1]; 1 means regenerate, 0 keep. Files are read as grey
levels (white = regenerate; a colour is the mean of R, G and B) and thresholded at 0.5 unless a
soft (per-pixel strength) mask is wanted. The rules, each a small function below:

- **levels** by type (:func:`grey_levels`): uint8 and uint16 over their range, floats clipped
  to [0, 1] (a resized or blurred mask overshoots 1 a little), bool as 0/1; an image with
  transparency (an alpha channel with any pixel below opaque: strokes painted on a transparent
  layer) is its alpha alone, whatever colour lies under it; an opaque one is its colour;
- **time**: a mask video at another frame rate than the video is resampled to the video's
  frame times (the mask frame nearest each, by both files' own frame times, so a
  variable-rate video or mask is matched where its frames really are), as a player would show
  the two side by side; it is refused only when it ends before the video's last frame begins.
  Image folders, arrays and equal rates match frame by frame;
- **folders** of images are read in natural order (``2.png`` before ``10.png``);
- **resizing** to the working size uses the video's own geometry (scale to cover, centre
  crop: :func:`video.media.resize_center_crop`), so a mask drawn on the input lines up; one
  drawn at the shape an anamorphic video shows on screen is squeezed onto its stored pixels;
- **feathering** ramps the mask *inwards*: a pixel at chessboard distance d from the nearest
  kept pixel gets min(d, r) / r, so the feathered mask is 0 wherever the mask was 0 (kept
  pixels stay exact) and rises monotonically to 1 over r pixels inside. The editors' composite
  (:func:`composite_alpha`) caps r at a quarter of the mask's local depth, so a thin stroke is
  regenerated fully instead of showing the original through;
- **latent grid**: a latent cell is masked as strongly as the *most* masked pixel it covers
  (max-pool over each s x s cell), and in time a latent frame takes the max over the pixel
  frames it encodes. For a causal video VAE with factor 4 (Wan), latent frame 0 encodes pixel
  frame 0 alone and latent frame k >= 1 pixel frames 4k-3..4k. Max, not area, so everything a
  user marked is regenerated in the latent space; the pixel composite then restores the
  unmarked pixels of a partly marked cell.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from video.edit.frames import (  # re-exported: the readers' old home
    IMAGE_SUFFIXES,
    _image_files,
    check_same_size,
    is_still,
    load_frames,
    load_frames_timed,
    read_timed_through,
    video_fps,
    video_sar,
)
from video.edit.timing import (
    ends_before,
    frame_times,
    nearest_frames,
    plays_until,
    time_indices,
)
from video.media import MediaError, file_rgb, open_image
from video.media.read import animated_image_fps, check_regular

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


def format_box(box: Box) -> str:
    """A box as the user writes it: ``x0,y0,x1,y1``, then ``@f0:f1`` only where frames were given."""
    text = f"{box.x0},{box.y0},{box.x1},{box.y1}"
    if box.f0 or box.f1 is not None:
        text += f"@{box.f0}:{'' if box.f1 is None else box.f1}"
    return text


def box_outside(box: Box, num_frames: int, height: int, width: int) -> str | None:
    """Why ``box`` selects nothing of a (num_frames, height, width) video: which of its edges lies
    outside what (the frame's width or height, the video's frames); None when it overlaps it."""
    if box.x0 >= width:
        return f"its left edge x0={box.x0} is outside the {width}x{height} frame (x runs 0..{width - 1})"
    if box.y0 >= height:
        return f"its top edge y0={box.y0} is outside the {width}x{height} frame (y runs 0..{height - 1})"
    if box.f0 >= num_frames:
        return f"its first frame {box.f0} is outside the video's {num_frames} frames (0..{num_frames - 1})"
    return None


def box_covers(box: Box, num_frames: int, height: int, width: int) -> bool:
    """Whether ``box`` covers every pixel of every frame of a (num_frames, height, width) video:
    inverted, it leaves nothing to edit."""
    return (box.x0 <= 0 and box.y0 <= 0 and box.x1 >= width and box.y1 >= height and box.f0 <= 0
            and (box.f1 is None or box.f1 >= num_frames))


def is_box(source) -> bool:
    return isinstance(source, Box) or (isinstance(source, str) and bool(_BOX.match(source)))


def box_mask(box: Box, num_frames: int, height: int, width: int) -> torch.Tensor:
    """(F, H, W): 1 inside the box on its frames (clipped to the frame), 0 elsewhere."""
    m = torch.zeros(num_frames, height, width)
    m[box.f0:box.f1, box.y0:box.y1, box.x0:box.x1] = 1.0
    return m


# --- reading ---------------------------------------------------------------------------------

def grey_levels(arr: np.ndarray) -> np.ndarray:
    """Mask levels in [0, 1] decided by the array's type, never by its values: bool as 0/1;
    uint8 and uint16 over their whole range (255, 65535); other integers (a list of Python
    ints) 0/1 when none exceeds 1, else 0..255 grey levels; floats up to 2 are levels clipped
    to [0, 1], so a resized or blurred float mask that overshoots 1 stays a mask (dividing it
    by 255 because its maximum passed 1 made it vanish), and floats beyond 2 are 0..255 grey
    levels (an image read as float), as ``video.media.load_image`` reads float pixels."""
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if arr.dtype.kind == "u" and arr.dtype.itemsize <= 2:
        return arr.astype(np.float32) / np.iinfo(arr.dtype).max
    if arr.dtype.kind in "iu":
        return np.clip(arr.astype(np.float32) / (1.0 if arr.size == 0 or arr.max() <= 1 else 255.0), 0.0, 1.0)
    arr = np.nan_to_num(arr.astype(np.float32))
    return np.clip(arr / (255.0 if arr.size and arr.max() > FLOAT_LEVELS_MAX else 1.0), 0.0, 1.0)


FLOAT_LEVELS_MAX = 2.0  # float masks above this hold 0..255 grey levels, not overshooting [0, 1] levels


def colour_levels(image: np.ndarray) -> np.ndarray:
    """One (H, W, 3 or 4) image -> (H, W) levels: with transparency (an alpha channel with a
    pixel below opaque), the alpha channel alone, whatever colour lies under it (a stroke on a
    transparent layer, of any colour); else the mean of R, G and B."""
    if image.shape[-1] == 4:
        alpha = grey_levels(image[..., 3])
        if alpha.size and alpha.min() < 1.0:
            return alpha
    return grey_levels(image[..., :3]).mean(-1)


def _mask_image(source) -> np.ndarray:
    """One image file or PIL image -> (H, W) levels (:func:`colour_levels`), EXIF rotation
    applied; the file is decoded once, its alpha channel kept."""
    im = source if isinstance(source, Image.Image) else open_image(source)
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info:
        return colour_levels(np.asarray(im.convert("RGBA")))
    return colour_levels(np.asarray(im.convert("RGB") if isinstance(source, Image.Image) else file_rgb(im)))


def _grey(source, fps: float | None = None, num_frames: int | None = None,
          times: np.ndarray | None = None) -> torch.Tensor:
    """Any mask source but a box -> float (F, H, W) in [0, 1] at its own size. ``fps``: the
    video's rate; a mask video at another rate is resampled to ``num_frames`` of the video's
    frame times (``times``, in seconds; None: i / fps), :func:`_mask_by_time`."""
    if isinstance(source, torch.Tensor):
        source = source.detach().cpu().numpy()
    if isinstance(source, np.ndarray):
        if source.ndim == 2 or (source.ndim == 3 and source.shape[-1] not in (3, 4)):
            arr = source[None] if source.ndim == 2 else source  # (H, W) or (F, H, W); (H, W, 3) is a colour image
            return torch.from_numpy(grey_levels(arr))
        arr = source[None] if source.ndim == 3 else source
        if arr.ndim != 4:
            raise MediaError(f"a mask array must be (H, W), (F, H, W) or (F, H, W, 3); got shape {source.shape}")
        return torch.from_numpy(np.stack([colour_levels(f) for f in arr]))
    if isinstance(source, (list, tuple)):
        if not source:
            raise MediaError("empty list of mask frames")
        frames = [colour_levels(np.asarray(f)) if isinstance(f, np.ndarray) else _mask_image(f) for f in source]
        check_same_size([f.shape[:2] for f in frames], source, "frames of a mask")
        return torch.from_numpy(np.stack(frames))
    if isinstance(source, Image.Image):
        return torch.from_numpy(_mask_image(source)[None])
    path = Path(source)
    check_regular(path)  # a FIFO hung the mask's header read
    if path.is_dir():
        return _grey([str(p) for p in _image_files(path)[:num_frames or None]])
    if path.is_file() and is_still(path):
        return torch.from_numpy(_mask_image(path)[None])
    rate = _mask_rate(path, fps) if fps and num_frames else None
    if rate:
        return torch.from_numpy(_mask_by_time(path, frame_times(num_frames, fps, times), fps, rate))
    # only the frames the video uses are decoded (a long 4K mask video was read whole)
    return torch.from_numpy(_video_levels(load_frames(path, num_frames or None, alpha=True)))


def _video_levels(frames: np.ndarray) -> np.ndarray:
    """uint8 (F, H, W, 3) frames of a mask video -> (F, H, W) levels: a colour is the mean of R,
    G and B. (F, H, W, 4) frames (an animated WebP or APNG, a GIF, ProRes 4444, a WebM with
    alpha: :func:`video.media.read_video_timed`'s ``keep_alpha``) are read as a still mask is
    (:func:`colour_levels`: with transparency, the alpha), not laid on white, which turned a
    transparent background into a full mask (nor by their colours, which read it as the colour
    hidden under it)."""
    if frames.shape[-1] == 4:
        return np.stack([colour_levels(f) for f in frames])
    return frames.astype(np.float32).mean(-1) / 255.0


def _mask_by_time(path: Path, want: np.ndarray, fps: float, rate: float) -> np.ndarray:
    """The levels of the mask video at ``path`` (``rate`` fps, by its header) at the video's
    frame times ``want``: for each, the mask frame whose own time is nearest
    (:func:`nearest_frames`), the last one for a video frame in the mask's last frame. Refused
    only when the mask ends before the video's last frame begins (rounding the last video
    frame's time to the nearest mask frame landed one past the end of a mask exactly as long
    as the video). A one-frame video is a still mask."""
    frames, mask_times, whole = read_timed_through(path, float(want[-1]), rate, alpha=True)
    if len(frames) == 1:
        return _video_levels(frames)
    if ends_before(float(want[-1]), mask_times, rate, whole):
        n, end = len(want), plays_until(mask_times, rate)
        raise MediaError(f"the mask video {path.name} lasts {end:.2f} s ({len(frames)} frames at {rate:g} fps); the "
                         f"video {float(want[-1]) + 1.0 / fps:.2f} s ({n} frames at {fps:g} fps)")
    return _video_levels(frames[nearest_frames(want, mask_times)])


def _mask_rate(path: Path, fps: float) -> float | None:
    """A mask video's frame rate where it differs from the video's ``fps`` (its frames are then
    matched by time), from the header alone; None at the same rate, or when the header tells
    none or the file is unreadable (:func:`load_frames` then says what is wrong)."""
    from video.media import header_frames

    try:
        rate = animated_image_fps(path) if path.suffix.lower() in IMAGE_SUFFIXES else header_frames(path)[1]
    except MediaError:
        return None
    return rate if rate and abs(rate - fps) > 1e-3 * fps else None


def resize_mask(mask: torch.Tensor, height: int, width: int, stretch: bool = False) -> torch.Tensor:
    """(F, h, w) -> (F, height, width) with :func:`video.media.resize_center_crop`'s geometry
    (scale to cover, crop the centre), bilinear with antialiasing. ``stretch``: each axis
    scaled on its own, nothing cropped (a mask drawn on screen over anamorphic pixels)."""
    f, h, w = mask.shape
    if (h, w) == (height, width):
        return mask
    scale = max(width / w, height / h)
    nw, nh = (width, height) if stretch else (max(width, round(w * scale)), max(height, round(h * scale)))
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


def aspect_differs(mask_size: tuple[int, int], video_size: tuple[int, int]) -> bool:
    """Whether a mask of (H, W) ``mask_size`` is not a video frame of ``video_size`` at another
    scale: its height is more than a pixel (at the mask's own size, its rounding) from the height
    the video's aspect gives its width, and its width likewise from its height's."""
    (mh, mw), (vh, vw) = mask_size, video_size
    return min(abs(mh - mw * vh / vw), abs(mw - mh * vw / vh)) > 1.0


def pixel_aspect(sar: str | float | None) -> float:
    """A pixel's width over its height: from a SAR "num:den" (:func:`video.edit.mask.video_sar`,
    an anamorphic file's 32:27), a number, or None (square pixels)."""
    from video.runtime.errors import InputError

    if sar is None:
        return 1.0
    try:
        num, _, den = str(sar).partition(":")
        value = float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"pixel aspect {sar!r}: write num:den (32:27) or a number") from None
    if not value > 0 or not math.isfinite(value):
        raise InputError(f"pixel aspect {sar!r} must be above 0")
    return value


def on_screen_shape(size: tuple[int, int], video_size: tuple[int, int], sar: str | float | None) -> bool:
    """Whether an (H, W) ``size`` (a mask, a background clip) has the shape a player shows a
    ``video_size`` video of ``sar`` pixels in, not its stored shape: drawn over the video on
    screen (a 379x240 mask of a 320x240 32:27 video), so it is squeezed onto the stored grid
    (every pixel where it was drawn) rather than scaled to cover and cropped."""
    vh, vw = video_size
    return (pixel_aspect(sar) != 1.0 and aspect_differs(size, video_size)
            and not aspect_differs(size, (vh, vw * pixel_aspect(sar))))


def read_levels(source, num_frames: int, height: int, width: int, fps: float | None = None,
                source_size: tuple[int, int] | None = None, times: np.ndarray | None = None,
                sar: str | float | None = None) -> torch.Tensor:
    """A mask file, folder or array (not a box) as its levels before any threshold, resized to
    (height, width): (1, H, W) for a single image, else (num_frames, H, W) (the first ones;
    a mask video at another frame rate than ``fps`` matched by time: by the video's frame
    ``times`` where given, a variable-rate video's own). Checks what
    :func:`load_mask` checks about the source, so a caller can read and check it once (before
    loading a model) and pass the result on as an array. A mask of another aspect ratio than
    the video (``source_size``, default (height, width)) is scaled to cover and centre-cropped
    like the video, with one warning naming both sizes: a portrait mask on a landscape video is
    usually a mistake, and it was cropped silently. One of the shape the video shows on screen
    (its pixels' shape ``sar``, :func:`on_screen_shape`) is squeezed onto the stored grid
    first, without a word: it was drawn over the video as a player shows it."""
    import warnings

    m = _grey(source, fps, num_frames, times)
    if len(m) > 1 and len(m) < num_frames:
        raise MediaError(f"the mask has {len(m)} frames, the video {num_frames}: give one frame or at least "
                         f"as many as the video")
    vh, vw = source_size or (height, width)
    if on_screen_shape(tuple(m.shape[1:]), (vh, vw), sar):
        m = resize_mask(m[:num_frames].contiguous(), vh, vw, stretch=True)
    elif aspect_differs(tuple(m.shape[1:]), (vh, vw)):
        warnings.warn(f"the mask is {m.shape[2]}x{m.shape[1]} and the video {vw}x{vh}, another aspect ratio: the mask "
                      f"is scaled to cover the video and its middle cropped", stacklevel=2)
    return resize_mask(m[:num_frames].contiguous(), height, width)


def load_mask(source, num_frames: int, height: int, width: int, invert: bool = False, soft: bool = False,
              source_size: tuple[int, int] | None = None, fps: float | None = None,
              allow_empty: bool = True, times: np.ndarray | None = None,
              sar: str | float | None = None) -> torch.Tensor:
    """The mask for a (num_frames, height, width) working video, float32 (F, H, W).

    ``source``: None (the whole video), a :class:`Box` or box string (in pixels of the input,
    ``source_size`` = its (H, W), default the working size), an array or tensor ((H, W),
    (F, H, W), (F, H, W, 3 or 4); levels by type, :func:`grey_levels`), a list of images, an
    image file, a folder of images or a video file. One frame applies to every frame; otherwise
    the mask needs at least ``num_frames`` frames (extra ones are dropped). ``fps``: the
    video's frame rate and ``times`` its frames' times in seconds (None: i / fps); a mask video
    at another rate is matched by time (module docstring). ``sar``: the video's pixel shape; a
    mask file of the shape it shows on screen is squeezed onto it (:func:`read_levels`).
    Thresholded at 0.5 unless ``soft``; ``invert`` then swaps regenerate and keep.
    ``allow_empty=False``: a mask that leaves nothing to edit is a one-line MediaError naming
    the threshold and the mask's highest level (an editor would otherwise return its input and
    report success).
    """
    src_h, src_w = source_size or (height, width)
    if source is None:
        m = torch.ones(num_frames, height, width)
    elif is_box(source):
        box = source if isinstance(source, Box) else parse_box(source)
        why = box_outside(box, num_frames, src_h, src_w)
        if why:
            raise MediaError(f"box {format_box(box)}: {why}")
        m = box_mask(_box_to_working(box, (src_h, src_w), (height, width)), num_frames, height, width)
    else:
        m = read_levels(source, num_frames, height, width, fps, (src_h, src_w), times, sar).expand(num_frames, -1, -1)
    if not allow_empty and not invert:
        check_not_empty(m, soft)
    if not soft:
        m = (m >= 0.5).float()
    if invert:  # an empty mask inverted is "edit everything"; a full one inverted leaves nothing
        m = 1.0 - m
        if not allow_empty and not bool((m > 0).any()):
            raise MediaError("the inverted mask is empty: the mask covers every pixel, so nothing is left to edit")
    return m.contiguous()


def check_not_empty(levels: torch.Tensor, soft: bool) -> None:
    """One-line MediaError for a mask (levels before thresholding) that selects nothing."""
    top = float(levels.max()) if levels.numel() else 0.0
    if soft and top <= 0.0:
        raise MediaError("the mask is empty (every level is 0): nothing to edit")
    if not soft and top < 0.5:
        raise MediaError(f"the mask is empty after thresholding at 0.5; its highest level is {top:.2f} (a colour "
                         f"counts as the mean of R, G and B): paint the region to edit white, or pass --soft to use "
                         f"grey levels as strength")


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
        if not bool(m.any()):  # eroded away: the rest adds nothing (a huge radius cost its length)
            break
        acc += m
        m = erode(m)
    return acc / radius


DEPTH_FRACTION = 4  # the composite's ramp spans at most 1/4 of the mask's local depth


def _line_distance(m: torch.Tensor, dim: int) -> torch.Tensor:
    """For a bool tensor, each element's distance along ``dim`` to the nearest False one (0 on
    False, 1 on a True next to a False); about 2**30 on a line without False: the frame border
    is not an edge (as :func:`erode`'s replicate padding). O(N) through cumulative max/min."""
    n = m.shape[dim]
    shape = [1] * m.ndim
    shape[dim] = n
    idx = torch.arange(n, dtype=torch.int32).view(shape).expand(m.shape)
    big = torch.tensor(1 << 30, dtype=torch.int32)
    left = torch.where(m, -big, idx).cummax(dim).values  # the last False at or before
    right = torch.where(m, big, idx).flip(dim).cummin(dim).values.flip(dim)  # the first at or after
    return torch.minimum(idx - left, right - idx)


def _depths(mask: torch.Tensor, radius: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For a bool (F, H, W) mask: ``d``, the chessboard depth (1 on a masked pixel next to a
    kept one; capped at ``radius``), and ``r``, the ramp radius min(radius, max(1, T // 4)), T
    the depth of the largest square inside the mask that covers the pixel (its local depth,
    so a thin stroke of a large mask gets a short ramp). Square erosions and dilations are
    separable: rows, then columns."""
    rows = _line_distance(mask, -1)

    def eroded(k: int) -> torch.Tensor:  # erosion by a (2k-1) square: depth >= k
        return _line_distance(rows >= k, -2) >= k

    d, last = mask.to(torch.int32), mask
    for k in range(2, radius + 1):
        now = eroded(k)
        if torch.equal(now, last):  # E(k+1) = erode(E(k)): unchanged once (empty, or nothing kept),
            d += now.to(torch.int32) * (radius - k + 1)  # unchanged to k = radius: added at once, as
            break  # ``radius`` more erosions made a --feather of 50000 take 15 s on a shallow mask
        d += now
        last = now
    r = torch.ones_like(d)
    for j in range(2, radius + 1):
        k = DEPTH_FRACTION * j
        core = eroded(k)
        whole = core.flatten(1)
        if bool((whole.all(1) | ~whole.any(1)).all()):  # each frame empty or whole: so are later cores,
            r += core.to(torch.int32) * (radius - j + 1)  # and their openings, up to j = radius
            break
        opened = _line_distance(~(_line_distance(~core, -1) <= k - 1), -2) <= k - 1  # dilated back by k - 1
        r += opened
    return d, r


def composite_alpha(mask: torch.Tensor, radius: int, edited_from: float = 0.0) -> torch.Tensor:
    """The editors' composite weight for a (F, H, W) mask in [0, 1] (1 = take the generated
    pixel): the mask's level times an inward ramp over the pixels the edit changes (level > 0
    and >= ``edited_from``, the faintest level a soft edit regenerates; fainter ones stay
    exact), the ramp min(d, r) / r with d the pixel's chessboard depth and r = ``radius``
    capped at a quarter of the mask's local depth (:func:`_depths`). A region at least
    4 ``radius`` deep ramps over ``radius`` pixels as :func:`feather` does; a 16-pixel stroke
    over 2, a stroke up to 8 pixels wide not at all, so every pixel of a thin mask is
    regenerated (a fixed 8-pixel ramp let a 4-pixel stroke keep 3/4 of the original).
    Identical frames (a box, a still mask) are computed once; the ramp, 0 off the support, is
    scaled in place (no further clip-sized copies)."""
    support = (mask > 0) & (mask >= edited_from)
    if radius <= 0:
        return torch.where(support, mask.float(), torch.zeros_like(mask, dtype=torch.float32))
    frames, inverse = torch.unique(support.flatten(1), dim=0, return_inverse=True)
    d, r = _depths(frames.view(-1, *support.shape[1:]), radius)
    return (torch.minimum(d, r).float() / r.float())[inverse].mul_(mask)


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


__all__ = ["Box", "aspect_differs", "box_covers", "box_mask", "box_outside", "check_not_empty", "check_same_size",
           "colour_levels", "composite_alpha", "ends_before", "erode", "feather", "format_box", "frame_times",
           "grey_levels", "is_box", "latent_mask", "load_frames", "load_frames_timed", "load_mask", "nearest_frames",
           "on_screen_shape", "parse_box", "pixel_aspect", "plays_until", "read_levels", "read_timed_through",
           "resize_mask", "temporal_groups", "time_indices", "video_fps", "video_sar"]
