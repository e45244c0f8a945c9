"""The editing scenarios, each a thin recipe over one :class:`~video.edit.editor.Editor` call
(masked regeneration) or a pixel operation plus an optional light regeneration.

- :func:`inpaint`: regenerate a masked region (local redraw) from the prompt;
- :func:`outpaint`: pad the canvas (sides in pixels, or to an aspect ratio), initialise the
  padding by edge replication plus noise, regenerate the padding only;
- :func:`background`: regenerate all but the subject (subject mask from a file), or composite
  the subject over a given background clip, optionally harmonised by a low-strength pass;
- :func:`recolour`: hue / saturation shift inside the mask, exact outside, optionally
  harmonised by a low-strength regeneration of the mask;
- :func:`restyle`: SDEdit over the whole frame (strength 0.3-0.7 keeps the layout).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from video.edit.mask import (
    aspect_differs,
    composite_alpha,
    load_frames,
    load_frames_timed,
    load_mask,
    on_screen_shape,
    pixel_aspect,
    read_timed_through,
    video_fps,
    video_sar,
)
from video.edit.timing import ends_before, frame_times, nearest_frames, plays_until
from video.media import resize_center_crop
from video.runtime.errors import InputError


def inpaint(editor, video, mask, prompt: str = "", strength: float = 1.0, **kw) -> np.ndarray:
    """Regenerate ``mask`` (1 = redraw) from ``prompt``; strength < 1 keeps some of the old content."""
    if mask is None:
        raise InputError("inpaint needs a mask (a file, a folder of images, or a box x0,y0,x1,y1)")
    return editor(video, mask=mask, prompt=prompt, strength=strength, **kw)


def restyle(editor, video, prompt: str = "", strength: float = 0.5, **kw) -> np.ndarray:
    """SDEdit: the whole frame noised to ``strength`` and solved back with ``prompt``. Whole
    frame by design: to restyle a region, :func:`inpaint` it at a strength below 1."""
    if kw.pop("mask", None) is not None or kw.pop("invert", False):
        raise InputError("restyle changes the whole frame; to restyle a region, inpaint it with strength < 1")
    return editor(video, mask=None, prompt=prompt, strength=strength, **kw)


# --- outpaint --------------------------------------------------------------------------------

def parse_aspect(aspect: str | float) -> float:
    """``"16:9"``, ``"1.78"`` or 1.78 -> width / height."""
    try:
        if isinstance(aspect, str) and ":" in aspect:
            a, b = aspect.split(":")
            value = float(a) / float(b)
        else:
            value = float(aspect)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"aspect {aspect!r}: write W:H (16:9) or a number (1.78)") from None
    if not 0.1 <= value <= 10:
        raise InputError(f"aspect {aspect!r} is not between 1:10 and 10:1")
    return value


def parse_pad(pad) -> tuple[int, int, int, int]:
    """CSS order: N (all sides), (vertical, horizontal), or (top, right, bottom, left); a
    string "a,b,..." too."""
    if isinstance(pad, str):
        try:
            pad = [int(v) for v in pad.split(",")]
        except ValueError:
            raise InputError(f"pad {pad!r}: write N, V,H or T,R,B,L in pixels") from None
    vals = [int(pad)] if np.isscalar(pad) else [int(v) for v in pad]
    if len(vals) == 1:
        vals = vals * 4
    elif len(vals) == 2:
        vals = [vals[0], vals[1], vals[0], vals[1]]
    if len(vals) != 4 or min(vals) < 0:
        raise InputError(f"pad {pad!r}: give 1, 2 or 4 non-negative pixel counts")
    return tuple(vals)


ASPECT_GROWTH = 1.5  # an aspect canvas may be up to this much larger (area) than the exact-ratio one


def aspect_canvas(height: int, width: int, target: float, multiple: int = 1) -> tuple[int, int]:
    """The canvas (H, W) for outpainting to the aspect ``target`` (W / H): both sides multiples
    of ``multiple`` and at least the input's, the ratio nearest ``target`` (in log ratio; the
    smaller canvas on a tie), among canvases up to ``ASPECT_GROWTH`` times the area of the
    exact-ratio canvas that just holds the input. So the ratio is exact whenever such a canvas
    exists (192x128 at 16:9, multiple 16: 256x144; 512x512, multiple 64: 1024x576), else the
    nearest near the input's size (96x64, multiple 16: 112x64, 1.75, where 256x144 would be
    six times the input). Rounding only the padded side up to the multiple missed the ratio
    (96x64 gave 128x64, 2.0; 192x128 gave 240x128, 1.875)."""
    m = multiple
    ideal_h = max(height, width / target)
    limit = ASPECT_GROWTH * ideal_h * ideal_h * target
    h0, w0 = -(-height // m) * m, -(-width // m) * m
    best, H = None, h0
    while best is None or H * w0 <= limit:  # taller canvases, while the narrowest one fits
        for W in sorted({max(w0, math.floor(H * target / m) * m), max(w0, math.ceil(H * target / m) * m)}):
            if H * W > limit and best is not None:
                continue
            key = (round(abs(math.log(W / H / target)), 9), H * W)
            if best is None or key < best[0]:
                best = (key, H, W)
        H += m
    return best[1], best[2]


def outpaint_padding(height: int, width: int, pad=None, aspect=None, multiple: int = 1,
                     sar: str | float | None = None) -> tuple[int, int, int, int]:
    """(top, right, bottom, left) pixels: ``pad`` exactly as given (the editor pads the canvas
    to its size step and crops back, as for any size: growing the pad to the step made a 58x102
    clip with ``pad 8`` 80x128, not 74x118); or, for ``aspect``, the padding to the
    canvas of :func:`aspect_canvas` (sides multiples of ``multiple``), centred. ``aspect`` is
    the shape on screen: with ``sar`` (the pixels' shape, :func:`pixel_aspect`, which the
    output keeps) the stored canvas is ``aspect / sar`` (a 320x240 clip of 32:27 pixels at 16:9
    is 360x240; taking 16:9 in stored pixels made it 2.11:1 on screen)."""
    if pad is None and aspect is None:
        raise InputError("outpaint needs pad (pixels per side) or aspect (W:H)")
    if pad is not None and aspect is not None:
        raise InputError("outpaint takes pad or aspect, not both")
    if pad is None:
        hh, ww = aspect_canvas(height, width, parse_aspect(aspect) / pixel_aspect(sar), multiple)
        eh, ew = hh - height, ww - width
        return eh // 2, ew - ew // 2, eh - eh // 2, ew // 2
    return parse_pad(pad)


def check_pad(pad) -> tuple[int, int, int, int]:
    """:func:`parse_pad`, refusing a pad of 0 on every side in one line (it adds nothing to fill)."""
    sides = parse_pad(pad)
    if not any(sides):
        raise InputError(f"--pad {pad} adds no pixels: nothing to outpaint (give the pixels to add per side)")
    return sides


def _frame_words(height: int, width: int, sar) -> str:
    """"320x240", and for pixels that are not square " with 32:27 pixels"."""
    return f"{width}x{height}" + (f" with {sar} pixels" if pixel_aspect(sar) != 1.0 else "")


def check_outpaint(height: int, width: int, pad=None, aspect=None, sar: str | float | None = None) -> None:
    """One-line InputError for an outpaint that adds nothing, checked before any model loads:
    a pad of 0 on every side, or an ``aspect`` the (height, width) video already has on screen
    (its pixels' shape ``sar`` counted: HDV's 1440x1080 of 4:3 pixels is 16:9) to within a
    pixel (:func:`video.edit.mask.aspect_differs`; only the model's size step would pad it).
    Either loaded the model and wrote an unchanged copy without a word."""
    if pad is not None:
        check_pad(pad)
    if aspect is not None:
        target = parse_aspect(aspect) / pixel_aspect(sar)
        if not aspect_differs((height, width), (1000, 1000 * target)):
            screen = " on screen" if pixel_aspect(sar) != 1.0 else ""
            raise InputError(f"the video is {_frame_words(height, width, sar)}, already {aspect}{screen} (to within a "
                             f"pixel): nothing to outpaint (give another --aspect, or --pad for a border)")


def outpaint(editor, video, prompt: str = "", pad=None, aspect=None, strength: float = 0.95, noise: float = 24.0,
             generator: torch.Generator | None = None, sar: str | float | None = None, **kw) -> np.ndarray:
    """Grow the canvas by ``pad`` pixels exactly (or to ``aspect`` on screen: ``sar``, the
    pixels' shape, default a video file's own, :func:`outpaint_padding`) and fill the new
    border. The padding starts as the edge pixels replicated plus Gaussian noise of ``noise``
    grey levels (so the start carries the edge colours, not streaks), and is the mask; the
    original pixels come back unchanged. A canvas the model does not take is padded to its size
    step by the editor and cropped back."""
    if strength <= 0:  # the canvas as it starts: edge pixels and noise where the border should be
        raise InputError("outpaint at strength 0 keeps the starting canvas (edge pixels and noise in the new "
                         "border): the border must be generated, give a strength above 0 (default 0.95)")
    frames = load_frames(video)
    f, h, w = frames.shape[:3]
    sar = video_sar(video) if sar is None else sar
    check_outpaint(h, w, pad, aspect, sar)
    t, r, b, left = outpaint_padding(h, w, pad, aspect, editor.multiple, sar)
    if t + r + b + left == 0:  # the model's canvas is the input's (its step): no border to fill
        raise InputError(f"the video is {_frame_words(h, w, sar)}, already the nearest {aspect} this model's size "
                         f"step allows: nothing to outpaint (give another --aspect, or --pad for a border)")
    canvas = np.pad(frames, ((0, 0), (t, b), (left, r), (0, 0)), mode="edge").astype(np.float32)
    mask = np.ones(canvas.shape[:3], dtype=np.float32)
    mask[:, t:t + h, left:left + w] = 0.0
    if noise > 0:
        z = torch.randn(canvas.shape, generator=generator).numpy() * noise
        canvas += z * mask[..., None]
    canvas = np.clip(np.round(canvas), 0, 255).astype(np.uint8)
    return editor(canvas, mask=mask, prompt=prompt, strength=strength, generator=generator, **kw)


# --- background ------------------------------------------------------------------------------

def fit_clip(source, num_frames: int, height: int, width: int, fps: float | None = None,
             times: np.ndarray | None = None, sar: str | float | None = None) -> np.ndarray:
    """A background clip (or image) as ``num_frames`` frames at the video's (height, width).

    A video file under a video with a frame rate (``fps``; ``times``: its frames' own times,
    a variable-rate video's) is matched by time, the clip frame nearest each video frame's
    time, by the clip's own frame times (:func:`video.edit.timing.nearest_frames`, as a mask
    video): used frame by frame, a 10 fps clip under a 25 fps video played 2.5x fast. Image
    folders and arrays, which have no timing, go frame by frame. A clip shorter than the video
    is looped (a background keeps moving; holding its last frame would freeze it), with one
    warning naming both lengths; one image is a still background. A clip of another aspect
    ratio is scaled to cover the video and its middle cropped, with one warning naming both
    sizes, as for a mask; one of the shape the video shows on screen (its pixels' shape
    ``sar``: :func:`video.edit.mask.on_screen_shape`) is squeezed onto its stored pixels."""
    import warnings

    rate = video_fps(source) if fps else None
    if rate:
        want = frame_times(num_frames, fps, times)
        frames, clip_times, whole = read_timed_through(source, float(want[-1]), rate)
        end = plays_until(clip_times, rate)
        if ends_before(float(want[-1]), clip_times, rate, whole):
            warnings.warn(f"the background clip lasts {end:.2f} s and the video {float(want[-1]) + 1.0 / fps:.2f} s: "
                          f"the clip is looped", stacklevel=2)
            want = np.mod(want, end)
        idx = nearest_frames(want, clip_times)
    else:
        frames = load_frames(source)
        if 1 < len(frames) < num_frames:
            warnings.warn(f"the background clip has {len(frames)} frames and the video {num_frames}: the clip is "
                          f"looped", stacklevel=2)
        idx = np.arange(num_frames) % len(frames)
    used, order = np.unique(idx, return_inverse=True)
    frames = frames[used]
    if on_screen_shape(frames.shape[1:3], (height, width), sar):
        frames = np.stack([np.asarray(Image.fromarray(x).resize((width, height), Image.LANCZOS)) for x in frames])
    elif frames.shape[1:3] != (height, width):
        if aspect_differs(frames.shape[1:3], (height, width)):
            warnings.warn(f"the background is {frames.shape[2]}x{frames.shape[1]} and the video {width}x{height}, "
                          f"another aspect ratio: the background is scaled to cover the video and its middle "
                          f"cropped", stacklevel=2)
        frames = np.stack([np.asarray(resize_center_crop(Image.fromarray(x), height, width)) for x in frames])
    return frames[order.reshape(-1)]


def background(editor, video, subject, prompt: str = "", strength: float = 1.0, background=None,
               harmonise: float = 0.0, feather_px: int | None = None, invert: bool = False, soft: bool = False,
               **kw) -> np.ndarray:
    """Replace everything but the subject (``subject``: its mask, 1 = subject; with ``invert``
    the mask marks the background instead; ``soft`` keeps its grey levels, as per-pixel
    strength of the background, else it is thresholded at 0.5).

    Without ``background``: regenerate the inverse of the subject mask from ``prompt`` (edge
    feathered over ``feather_px`` pixels, default the editor's latent cell). With a
    ``background`` clip or image (:func:`fit_clip`: by time, looped when shorter, cover-cropped,
    each said): composite the subject over it with the editors' weights
    (:func:`video.edit.mask.composite_alpha`: a ``feather_px`` ramp inside the subject, default
    2, at most a quarter of its local depth, so a thin subject is kept whole), then, if ``harmonise`` > 0,
    regenerate the background at that strength so lighting can settle."""
    if subject is None:
        raise InputError("background needs the subject's mask (a file, a folder of images, or a box)")
    if background is None:
        if feather_px is not None:
            kw["feather_px"] = feather_px
        return editor(video, mask=subject, invert=not invert, soft=soft, prompt=prompt, strength=strength, **kw)
    frames, times = load_frames_timed(video)
    f, h, w = frames.shape[:3]
    fps, sar = video_fps(video), video_sar(video)
    sub = load_mask(subject, f, h, w, invert=invert, soft=soft, fps=fps, allow_empty=False, times=times, sar=sar)
    alpha = composite_alpha(sub, 2 if feather_px is None else feather_px).numpy()[..., None]
    bg = fit_clip(background, f, h, w, fps, times, sar).astype(np.float32)
    out = np.clip(np.round(bg + alpha * (frames.astype(np.float32) - bg)), 0, 255).astype(np.uint8)
    if harmonise > 0:
        if editor is None:
            raise InputError("harmonising needs a model")
        out = editor(out, mask=sub.numpy(), invert=True, soft=soft, prompt=prompt, strength=harmonise, **kw)
    return out


# --- recolour --------------------------------------------------------------------------------

def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB in [0, 1] -> (..., 3) HSV, hue in [0, 1); in the input's float type."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    mx, mn = rgb.max(-1), rgb.min(-1)
    d = mx - mn
    safe = np.where(d > 0, d, 1.0)
    h = np.where(mx == r, ((g - b) / safe) % 6.0, np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    h = np.where(d > 0, h / 6.0, 0.0)
    s = np.where(mx > 0, d / np.where(mx > 0, mx, 1.0), 0.0)
    return np.stack([h % 1.0, s, mx], -1)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_hsv`: each channel ``v - v s clip(min(k, 4 - k), 0, 1)`` with
    ``k = (n + 6 h) mod 6``, n = 5, 3, 1 for R, G, B (the six hue sectors in one formula; a
    ``np.select`` over six stacked candidates held seven copies of the frames)."""
    h6, s, v = hsv[..., 0] * 6.0, hsv[..., 1], hsv[..., 2]
    vs = v * s
    out = np.empty_like(hsv)
    for c, n in enumerate((5.0, 3.0, 1.0)):
        k = (h6 + n) % 6.0
        out[..., c] = v - vs * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return out


HSV_BLOCK = 1 << 16  # pixels converted at a time: the float32 temporaries stay near a megabyte each


def shift_colour(frames: np.ndarray, hue: float = 0.0, saturation: float = 1.0) -> np.ndarray:
    """uint8 (..., 3) pixels with hue rotated by ``hue`` degrees and saturation scaled by
    ``saturation`` (clipped to 1); float32 result in 0..255. In float32, :data:`HSV_BLOCK`
    pixels at a time: the whole clip in float64 took 5 GB for 60 VGA frames."""
    flat = np.ascontiguousarray(frames).reshape(-1, 3)
    out = np.empty(flat.shape, np.float32)
    turn = np.float32(hue / 360.0)
    for i in range(0, len(flat), HSV_BLOCK):
        hsv = rgb_to_hsv(flat[i:i + HSV_BLOCK].astype(np.float32) / np.float32(255.0))
        hsv[..., 0] = (hsv[..., 0] + turn) % np.float32(1.0)
        hsv[..., 1] = np.clip(hsv[..., 1] * np.float32(saturation), 0.0, 1.0)
        out[i:i + HSV_BLOCK] = hsv_to_rgb(hsv) * np.float32(255.0)
    return out.reshape(np.shape(frames))


def blend_shifted(frames: np.ndarray, alpha: np.ndarray, hue: float = 0.0, saturation: float = 1.0) -> np.ndarray:
    """uint8 (F, H, W, 3) frames with :func:`shift_colour` blended in by ``alpha`` (F, H, W) in
    [0, 1]; pixels where alpha is 0 are returned exactly. Frame by frame, each converted only
    inside the bounding box of its alpha > 0, so a small box costs a small box."""
    out = frames.copy()
    for i, a in enumerate(alpha):
        on = a > 0
        rows, cols = np.flatnonzero(on.any(1)), np.flatnonzero(on.any(0))
        if not len(rows):
            continue
        win = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        box, al = frames[i][win], a[win][..., None]
        base = box.astype(np.float32)
        mixed = np.where(al > 0, base + al * (shift_colour(box, hue, saturation) - base), base)
        out[i][win] = np.clip(np.round(mixed), 0, 255)
    return out


def recolour(editor, video, mask, hue: float = 0.0, saturation: float = 1.0, harmonise: float = 0.0,
             invert: bool = False, feather_px: int = 2, prompt: str = "", soft: bool = False, **kw) -> np.ndarray:
    """Rotate the hue (degrees) and scale the saturation inside ``mask``, blended with the
    editors' weights (:func:`video.edit.mask.composite_alpha`: a ``feather_px`` ramp at its
    edge, at most a quarter of the mask's local depth, so a thin stroke gets the whole shift; a
    plain 2-pixel feather gave a 2-pixel stroke half of it); pixels outside the mask are
    returned exactly (:func:`blend_shifted`). ``soft``
    keeps the mask's grey levels as per-pixel amounts (else thresholded at 0.5). With
    ``harmonise`` > 0, the mask is then regenerated at that strength (``editor`` needed)."""
    if mask is None:
        raise InputError("recolour needs a mask (a file, a folder of images, or a box)")
    if not saturation >= 0:  # shift_colour clips a negative product to 0: -1 looked like 0, without a word
        raise InputError(f"saturation must be >= 0 (0: grey); got {saturation:g}")
    frames, times = load_frames_timed(video)
    f, h, w = frames.shape[:3]
    m = load_mask(mask, f, h, w, invert=invert, soft=soft, fps=video_fps(video), allow_empty=False, times=times,
                  sar=video_sar(video))
    out = blend_shifted(frames, composite_alpha(m, feather_px).numpy(), hue, saturation)
    if harmonise > 0:
        if editor is None:
            raise InputError("harmonising needs a model")
        out = editor(out, mask=m.numpy(), soft=soft, prompt=prompt, strength=harmonise, **kw)
    return out


RECIPES = {"inpaint": inpaint, "outpaint": outpaint, "background": background, "recolour": recolour,
           "restyle": restyle}

__all__ = ["RECIPES", "aspect_canvas", "background", "blend_shifted", "check_outpaint", "check_pad", "fit_clip",
           "hsv_to_rgb", "inpaint", "outpaint", "outpaint_padding", "parse_aspect", "parse_pad", "pixel_aspect",
           "recolour", "restyle", "rgb_to_hsv", "shift_colour"]
