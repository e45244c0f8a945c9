"""Stable Video Diffusion image-to-video: our denoising loop around diffusers' networks.

The steps follow the published model (sgm's sampling script and diffusers'
``StableVideoDiffusionPipeline``), each quirk noted where it is applied:
1. the conditioning image, resized and centre-cropped to the target size;
2. its CLIP embedding (cross-attention) and its noise-augmented VAE latent (concatenated
   to every frame's input channels);
3. micro-conditioning on (fps - 1, motion bucket, noise-augmentation strength);
4. the EDM ODE from sigma_max to 0 with frame-wise linear CFG;
5. chunked temporal-VAE decoding with blended overlaps.

Speed and memory switches (``video.runtime.speed``, ``memory``, ``offload``, ``step_cache``):
``memory_budget_gib`` bounds the decode windows, ``offload="model"`` keeps only the part in use
on the GPU, ``compile()`` compiles the repeated blocks (optionally with CUDA graphs and a
compile cache for warm starts), and ``cache_threshold > 0`` is the inexact First-Block-Cache
fast mode. All default to the exact path.
"""

from __future__ import annotations

import numbers
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from video.diffusion import FramewiseLinearCFG, initial_noise_scale, karras_sigmas, sample, scalings
from video.diffusion.samplers import SAMPLERS, network_evaluations
from video.models.image_encoder import clip_pixel_values
from video.models.svd import SVDModels, load_svd
from video.runtime.decode import decode_latents
from video.runtime.errors import InputError
from video.runtime.memory import DEFAULT_BUDGET_GIB
from video.runtime.offload import OFFLOAD_MODES, ModelOffload, NoOffload, align_cpu_weights, svd_parts
from video.runtime.progress import StepCallback, step_reporter
from video.runtime.speed import uses_cudagraphs, with_sdpa_priority
from video.runtime.step_cache import FirstBlockCache, cached_unet_forward

OUTPUT_TYPES = ("uint8", "float", "latent")  # what ``ImageToVideo.__call__`` returns: see its docstring
IMAGE_FORMS = "one image: a path, a PIL image, an HxWx3 array (uint8, or float in [0, 1] or 0..255), or a " \
              "3xHxW / 1x3xHxW float tensor in [0, 1]"


def at_least(name: str, value, minimum) -> None:
    """One-line InputError when a set ``value`` is below ``minimum`` or is a float that is NaN
    or infinite (None: unset, the model's default). A negative fps, size, motion bucket or
    guidance is never what a user meant, and must not quietly become the default or a 16-pixel
    clip; NaN compares False with everything, so a NaN noise or guidance rendered a black clip."""
    if value is not None and not finite(value):
        raise InputError(f"{name} must be a finite number >= {minimum}, got {value}")
    if value is not None and value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")


def finite(value) -> bool:
    """Whether a number is neither NaN nor infinite: Python and numpy numbers and 0-d tensors
    alike (``math.isfinite``); an int too large for a float is finite, and something that is no
    number is left for the comparison that follows to refuse."""
    import math

    try:
        return math.isfinite(value)
    except (OverflowError, TypeError):
        return True


DEVICE_NAMES = "cpu, cuda, cuda:N, mps or auto"


def usable_device(device: str | torch.device, name: str = "device") -> torch.device:
    """``device`` as a torch.device this machine can run on (``auto``: CUDA when present, else
    the CPU), or a one-line InputError. The one check behind the CLI's ``--device`` and the
    pipelines' ``device=``: without it ``device="cuda"`` on a machine without CUDA failed only
    when the first weight moved, with torch's raw RuntimeError. ``name``: how the error names
    the setting (``--device`` on the command line, ``device`` in Python)."""
    flag = name.startswith("-")

    def said(value) -> str:
        return f"{name} {value}" if flag else f"{name}={str(value)!r}"

    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"unknown device {str(device)!r} ({DEVICE_NAMES})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"{said(device)}: this machine has no CUDA device torch can use (try {said('cpu')})")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(f"{said(device)}: only {torch.cuda.device_count()} CUDA device(s) here")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"{said(device)}: MPS is not available here (try {said('cpu')})")
    return dev


def check_speed(cache_threshold: float | None, memory_budget_gib: float | None) -> None:
    """One-line InputError for a fast-mode threshold or a memory budget that is negative or not
    finite (None: unset). NaN compared False both ways and quietly ran the exact path, inf
    skipped nearly every UNet call, and a negative budget made every decode window one frame."""
    import math

    for name, value, meaning in (("cache_threshold", cache_threshold, "0 = off, exact"),
                                 ("memory_budget_gib", memory_budget_gib, "0 = as free memory allows")):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise InputError(f"{name} must be a finite number >= 0 ({meaning}), got {value}")


def check_offload(mode: str, compile_mode: str = "") -> None:
    """One-line InputError for an unknown offload mode, or ``model`` with a compile mode that
    records CUDA graphs (they keep the weights' addresses). The CLI runs it before the weights
    load (a bad value used to wait minutes for them); ``set_offload`` and ``compile`` again."""
    if mode not in OFFLOAD_MODES:
        raise InputError(f"unknown offload mode {mode!r}; choose one of {', '.join(OFFLOAD_MODES)}")
    if mode == "model" and uses_cudagraphs(compile_mode):
        raise InputError(f"compile mode {compile_mode!r} records CUDA graphs, whose weights must stay in place on "
                         "the GPU; use offload=none, or a compile mode without graphs")


def check_request(num_frames: int | None = None, steps: int | None = None, sampler: str | None = None) -> None:
    """The checks of an image-to-video call that need no model (None: the model's default), so
    the CLI runs them before the weights load and the pipeline call runs them again: at least
    one frame and one step, a known sampler."""
    if sampler is not None and sampler not in SAMPLERS:
        raise InputError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
    for name, value in (("frames", num_frames), ("steps", steps)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            raise InputError(f"{name} must be a whole number, got {value!r}")  # 3.0 failed deep in torch
        if value is not None and value < 1:
            raise InputError(f"{name} must be at least 1, got {value}")


def conditioning_image(image):
    """The one conditioning image in a form ``video.media.image_to_tensor`` reads right, or a
    one-line InputError naming the accepted forms. Why here: a batch (a list, a (2, 3, H, W)
    tensor) or a grey tensor used to fail deep in the encoders with a shape error. Arrays go
    through ``video.media.load_image`` (uint8; float in [0, 1] or 0..255), quantised to 8 bits
    like any image that goes through the resize."""
    import numpy as np
    from PIL import Image

    if isinstance(image, (str, Path, Image.Image)):
        return image
    if isinstance(image, torch.Tensor):
        t = image[0] if image.ndim == 4 and image.shape[0] == 1 else image
        if t.ndim != 3 or t.shape[0] != 3 or not t.is_floating_point():
            raise InputError(f"got a {image.dtype} tensor of shape {tuple(image.shape)}; give {IMAGE_FORMS}")
        if t.numel() and (not torch.isfinite(t).all() or t.min() < 0 or t.max() > 1):
            raise InputError(f"tensor image values lie in [{t.min():.3g}, {t.max():.3g}]; give {IMAGE_FORMS}")
        return t
    if isinstance(image, np.ndarray):  # read by media's one rule for arrays (load_image)
        from video.media import MediaError, load_image

        try:
            return load_image(image)
        except MediaError as e:
            raise InputError(f"{e}; give {IMAGE_FORMS}") from None
    raise InputError(f"got {type(image).__name__}; give {IMAGE_FORMS}")


class NotEnoughMemory(MemoryError):
    """A render refused before any work because its traced peak passes the RAM available (a
    MemoryError, so whatever says a failed allocation says this too); ``needed`` and
    ``available`` in bytes."""

    def __init__(self, message: str, needed: int, available: int):
        super().__init__(message)
        self.needed, self.available = needed, available


def drift_warning(num_frames: int, trained: int, unstated: bool) -> str:
    """The warning for more frames than the model's ``trained`` count; ``unstated``: a single
    file that does not say its count, read as SVD (:func:`video.models.sgm.file_config`), where
    "this model was trained on 14" was a guess, false for an SVD-XT file under another name."""
    if unstated:
        return (f"{num_frames} frames is more than the {trained} of SVD, which this file was read as (it does not say "
                "which it is; with SVD's guidance too): an SVD-XT file takes --model-config svd_xt (config='svd_xt')")
    return f"{num_frames} frames is more than the {trained} this model was trained on; expect drift"


def randn(shape, generator: torch.Generator | None, device, dtype) -> torch.Tensor:
    """Draw on the generator's device, then move: the same seed gives the same noise on any
    device (diffusers' ``randn_tensor`` does the same, so seeds carry over)."""
    gen_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=gen_device, dtype=dtype).to(device)


def size_multiple(models: SVDModels) -> int:
    """Pixel sizes must divide by the VAE factor times the UNet's downsampling."""
    vae_factor = 2 ** (len(models.vae.config.block_out_channels) - 1)
    return vae_factor * 2 ** (len(models.unet.config.block_out_channels) - 1)


@dataclass
class Timings:
    encode: float = 0.0
    denoise: float = 0.0
    decode: float = 0.0
    evaluations: int = 0  # UNet evaluations the sampler asked for
    skipped: int = 0  # of which the step cache answered without running the rest of the UNet
    decode_chunk: int = 0  # frames per decode window used
    step_cache: bool = False  # the fast mode ran: the skip count is reported, 0 included
    frames: int = 0  # frames decoded: windows smaller than the clip are said (they change the frames)

    def __str__(self) -> str:
        s = f"encode {self.encode:.2f}s, denoise {self.denoise:.2f}s"
        if self.skipped or self.step_cache:  # the denoise's report: the decode never skips
            s += f" (step cache skipped {self.skipped}/{self.evaluations} UNet evaluations)"
        s += f", decode {self.decode:.2f}s"
        if 0 < self.decode_chunk < self.frames:
            s += f" (windows of {self.decode_chunk} frame{'s' if self.decode_chunk != 1 else ''})"
        return s


class ImageToVideo:
    """``ImageToVideo.from_pretrained(path | "tiny")(image) -> uint8 (F, H, W, 3)``."""

    def __init__(self, models: SVDModels, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 offload: str = "none", memory_budget_gib: float = DEFAULT_BUDGET_GIB, cache_threshold: float = 0.0,
                 split_guidance: bool | None = None):
        """``device``: cpu, cuda, cuda:N, mps or auto (:func:`usable_device`: one this machine
        lacks is a one-line InputError here, not torch's error at the first weight moved)."""
        check_speed(cache_threshold, memory_budget_gib)
        self.models = models
        self.device = usable_device(device)
        self.dtype = dtype
        self.memory_budget_gib = memory_budget_gib  # decode windows within this (0: free memory)
        self.cache_threshold = cache_threshold  # default for __call__
        self.split_guidance = split_guidance  # None: when the guided batch of two exceeds the budget
        if self.device.type == "cpu":  # the same bits with and without offload (align_cpu_weights)
            align_cpu_weights([mod for mods in svd_parts(models).values() for mod in mods])
        self.offload = NoOffload()
        self.set_offload(offload)
        self.cudagraphs = False
        self.compile_cache = None
        self.sdpa_first = "torch"  # which attention kernel torch tries first (speed.sdpa_priority)
        self.last_timings = Timings()
        self.last_split_guidance = False  # whether the last call ran the guidance halves one by one

    def set_offload(self, mode: str) -> None:
        """``"model"``: weights to host memory, each network copied up only while it runs;
        ``"none"``: every weight back on the device. On the CPU ``"model"`` is ``"none"`` with a
        warning: the weights are in host memory already, and a copy of each network while it
        ran only added memory (827 MB -> 1121 MB peak with an 80M UNet)."""
        check_offload(mode)
        if mode == "model" and getattr(self, "cudagraphs", False):
            raise InputError("offload=model moves the weights that the compiled CUDA graphs recorded; "
                             "offload before compiling with a mode without graphs")
        self.offload_mode = mode  # as asked: compile() refuses CUDA graphs with "model" on any device
        if mode == "model" and self.device.type == "cpu":
            warnings.warn("offload=model only acts on a GPU; on the CPU the weights are in host memory already: "
                          "running without it", stacklevel=3)
            mode = "none"
        self.offload.close()
        self.offload = ModelOffload(svd_parts(self.models), self.device) if mode == "model" else NoOffload()

    @classmethod
    def from_pretrained(
        cls,
        source: str | Path,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        variant: str | None = None,
        config: str | Path | None = None,
        **speed,
    ) -> ImageToVideo:
        """``speed``: ``offload``, ``memory_budget_gib``, ``cache_threshold`` (see ``__init__``).
        With ``offload="model"`` the weights load into host memory and never all sit on the GPU.
        ``device``: as ``__init__`` (``auto``: CUDA when present); one that this machine lacks is an
        InputError before any weights load."""
        device = usable_device(device)
        load_device = "cpu" if speed.get("offload", "none") == "model" else device
        models = load_svd(source, dtype=dtype, device=load_device, variant=variant, config=config)
        return cls(models, device=device, dtype=dtype, **speed)

    def compile(self, mode: str = "default", cache: str | Path | None = None, vae: bool = True) -> int:
        """Compile the UNet's and VAE decoder's repeated blocks (``speed.compile_blocks``); returns how
        many. ``mode``: ``speed.COMPILE_MODES`` (CUDA-graph modes need CUDA). ``cache``: a folder
        (or "auto") whose saved artifacts are loaded now and written after the first video."""
        from video.runtime.speed import compile_blocks, prepare_compile

        if self.offload_mode == "model":
            check_offload("model", mode)
        try:
            prepare_compile(self, mode, cache)
        except ValueError as e:
            raise InputError(str(e)) from None
        n = compile_blocks([self.models.unet], mode=mode)
        if vae:
            # The decode windows run back to back with no CUDA-graph step marks between them: no
            # graphs there (each window would be recorded again), the fused kernels still.
            n += compile_blocks([self.models.vae.decoder], mode="default" if self.cudagraphs else mode)
        return n

    @property
    def config(self):
        return self.models.config

    def check_size(self, height: int, width: int) -> tuple[int, int]:
        """Round a size down to the model's multiple (64 for SVD) with a warning; a size below 1
        is an InputError (it used to become a one-multiple clip with only a rounding warning)."""
        if height < 1 or width < 1:
            raise InputError(f"height and width must be >= 1, got {height}x{width} (height x width)")
        m = size_multiple(self.models)
        h, w = max(m, height // m * m), max(m, width // m * m)
        if (h, w) != (height, width):
            warnings.warn(f"size {width}x{height} (width x height) is not a multiple of {m}; using {w}x{h}",
                          stacklevel=3)
        return h, w

    @torch.no_grad()
    def encode_image(self, pixels: torch.Tensor, noise_aug_strength: float, generator: torch.Generator | None):
        """(1, 3, H, W) in [0, 1] -> CLIP embedding (1, 1, D) and conditioning latent (1, C, h, w)."""
        m = self.models
        clip_in = clip_pixel_values(pixels, m.image_encoder.config.image_size, m.image_mean, m.image_std)
        with self.offload.use("image_encoder"):
            emb = m.image_encoder(clip_in.to(self.dtype)).image_embeds.unsqueeze(1)
        x = pixels * 2.0 - 1.0
        # Noise augmentation of the conditioning frame (SVD paper §4.3; sgm ``cond_aug``).
        x = x + noise_aug_strength * randn(x.shape, generator, self.device, x.dtype)
        # The VAE encoder overflows in float16 on some images (diffusers' ``force_upcast``): encode in
        # float32 by casting only the encoder side, which is a tenth of the VAE.
        upcast = self.dtype == torch.float16 and getattr(m.vae.config, "force_upcast", False)
        enc_dtype = torch.float32 if upcast else self.dtype
        parts = (m.vae.encoder, m.vae.quant_conv)
        with self.offload.use("vae_encoder"):
            for p in parts:
                p.to(enc_dtype)
            try:
                cond = m.vae.encode(x.to(enc_dtype)).latent_dist.mode()  # unscaled, as the model was trained
            finally:
                for p in parts:
                    p.to(self.dtype)
        return emb, cond.to(self.dtype)

    @torch.no_grad()
    def denoiser_for(self, image, num_frames: int, height: int, width: int, fps: int, motion_bucket_id: int,
                     noise_aug_strength: float, guidance: FramewiseLinearCFG,
                     generator: torch.Generator | None, step_cache: FirstBlockCache | None = None,
                     split_guidance: bool = False):
        """The guided EDM denoiser D(x; sigma) conditioned on ``image`` (steps 1-3 of the module
        docstring), for latents (1, num_frames, C, h, w). Shared by generation and editing; draws
        the conditioning frame's noise augmentation from ``generator``. With ``step_cache`` the
        UNet runs through First Block Cache (the inexact fast mode). ``split_guidance`` runs the
        unconditional and conditional halves one after the other instead of as one batch of
        two: half the activation peak (``video.runtime.memory``), the same arithmetic per item."""
        from video.media import image_to_tensor

        m, dev, dt = self.models, self.device, self.dtype
        # 1-2. Conditioning image -> CLIP embedding and VAE latent.
        pixels = image_to_tensor(conditioning_image(image), height, width).to(dev)
        emb, cond = self.encode_image(pixels, noise_aug_strength, generator)
        # 3. diffusers and sgm condition on fps - 1 ("fps_id"); a user passes frames per second.
        # float32 like the time input below: the UNet casts only their sinusoidal embedding to its
        # dtype, and in float16 a motion bucket or fps - 1 above 65504 was inf, an all-black clip.
        time_ids = torch.tensor([[fps - 1, motion_bucket_id, noise_aug_strength]], dtype=torch.float32, device=dev)
        if guidance.enabled:  # unconditional branch: zero image embedding and zero latent (sgm)
            emb = torch.cat([torch.zeros_like(emb), emb])
            cond = torch.cat([torch.zeros_like(cond), cond])
            time_ids = time_ids.repeat(2, 1)
        cond = cond.unsqueeze(1).expand(-1, num_frames, -1, -1, -1)

        def denoiser(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            c_skip, c_out, c_in, c_noise = scalings(sigma)
            inp = (c_in * x).to(dt)
            # The time input stays float32, as diffusers passes its scheduler's timestep: the UNet
            # casts only the sinusoidal embedding to its dtype; fp16 would round c_noise itself.
            t = c_noise.to(torch.float32)
            if guidance.enabled:
                inp = torch.cat([inp, inp])
            if self.cudagraphs:  # a new step: earlier graph outputs may be overwritten from here on
                torch.compiler.cudagraph_mark_step_begin()
            if step_cache is not None:
                out = cached_unet_forward(m.unet, step_cache, torch.cat([inp, cond], dim=2), t,
                                          emb, time_ids).float()
            elif split_guidance and guidance.enabled:
                out = torch.cat([m.unet(torch.cat([inp[i:i + 1], cond[i:i + 1]], dim=2), t,
                                        encoder_hidden_states=emb[i:i + 1], added_time_ids=time_ids[i:i + 1],
                                        return_dict=False)[0].float() for i in (0, 1)])
            else:
                out = m.unet(torch.cat([inp, cond], dim=2), t, encoder_hidden_states=emb,
                             added_time_ids=time_ids, return_dict=False)[0].float()
            if guidance.enabled:
                out = guidance.combine(*out.chunk(2))
            return c_skip * x + c_out * out

        return denoiser

    def guidance_needs_split(self, num_frames: int, height: int, width: int, budget_gib: float | None) -> bool:
        """Whether the guided batch of two would pass ``budget_gib`` (and 80% of free memory)
        beside what the UNet step keeps resident (``video.runtime.memory``). CPU: never."""
        if self.device.type != "cuda":
            return False
        from video.runtime.memory import GIB, guidance_fits_together, unet_bytes_per_item

        m = self.models
        factor = 2 ** (len(m.vae.config.block_out_channels) - 1)
        per_item = unet_bytes_per_item(m.unet.config.block_out_channels[0], num_frames, height // factor,
                                       width // factor, self.dtype)
        allocated = torch.cuda.memory_allocated(self.device)
        unet_bytes = sum(p.numel() * p.element_size() for p in m.unet.parameters() if p.device.type != "cuda")
        free, _ = torch.cuda.mem_get_info(self.device)
        budget = allocated + int(0.8 * free)
        if budget_gib:
            budget = min(budget, int(budget_gib * GIB))
        return not guidance_fits_together(per_item, budget, allocated + unet_bytes)

    def check_room(self, num_frames: int, height: int, width: int, items: int, decode: bool) -> None:
        """CPU: :class:`NotEnoughMemory` before any work where the render's traced peak passes
        the RAM available (:func:`video.runtime.memory.available_memory`): the UNet step's
        activations for ``items`` batch items (2: the guided batch of two), or, with ``decode``,
        the decoder's float32 output buffer and a one-frame window. Why: Linux overcommits, so
        the CPU allocator never fails; 100000 frames of a tiny model (247 GiB traced against 19
        GiB) were killed after a minute without a word. The traced count is below the real
        peak, so only a render that cannot fit is refused. CUDA reports its own failed allocation."""
        from video.runtime.memory import (
            GIB,
            available_memory,
            decode_bytes_per_frame,
            output_bytes,
            unet_bytes_per_item,
        )

        free = available_memory() if self.device.type == "cpu" else None
        if free is None:
            return
        m = self.models
        factor = 2 ** (len(m.vae.config.block_out_channels) - 1)
        need = items * unet_bytes_per_item(m.unet.config.block_out_channels[0], num_frames, height // factor,
                                           width // factor, self.dtype)
        if decode:
            need = max(need, output_bytes(num_frames, height, width)
                       + decode_bytes_per_frame(m.vae.config.block_out_channels, height, width, torch.float32))
        if need > free:
            raise NotEnoughMemory(f"{num_frames} frames at {width}x{height} (width x height) need about "
                                  f"{need / GIB:.1f} GiB of RAM, {free / GIB:.1f} GiB is available", need, free)

    @torch.no_grad()
    @with_sdpa_priority
    def __call__(
        self,
        image,
        num_frames: int | None = None,
        num_inference_steps: int | None = None,
        height: int | None = None,
        width: int | None = None,
        fps: int | None = None,
        motion_bucket_id: int | None = None,
        noise_aug_strength: float | None = None,
        min_guidance_scale: float | None = None,
        max_guidance_scale: float | None = None,
        decode_chunk_size: int | None = None,
        decode_overlap: int = 2,
        generator: torch.Generator | None = None,
        latents: torch.Tensor | None = None,
        sampler: str | None = None,
        progress: bool = False,
        output_type: str = "uint8",
        cache_threshold: float | None = None,
        memory_budget_gib: float | None = None,
        split_guidance: bool | None = None,
        on_step: StepCallback | None = None,
    ):
        """Render one clip. ``image``: one image (``IMAGE_FORMS``). ``on_step(done, total)``:
        called after each sampler step (it may raise to stop the run; :mod:`video.runtime.progress`). Every setting left None takes
        the model's default; values out of range are an InputError before any work.

        ``output_type``: ``"uint8"`` (default) numpy uint8 (F, H, W, 3); ``"float"`` numpy float32
        (F, H, W, 3) in [0, 1] (what diffusers calls ``"np"``, without its batch axis);
        ``"latent"`` the torch float32 (1, F, C, h, w) latents scaled by the VAE's scaling factor
        (diffusers' ``"latent"``), returned without running the VAE decoder. diffusers' ``"np"``,
        ``"pil"`` and ``"pt"`` are refused rather than returned with other meanings.

        ``cache_threshold`` (default: the pipeline's): 0 is exact; above 0 the
        First-Block-Cache fast mode skips the rest of the UNet while the first block's residual
        moved less than that (relative L1) since the last full step. ``memory_budget_gib``
        (default: the pipeline's, 10): decode windows sized to stay within it (CUDA: the allocated
        memory; CPU: the decode's own, :func:`video.runtime.decode.auto_chunk_size`), unless
        ``decode_chunk_size`` (>= 1) is given; 0: as many frames as free memory allows. The
        window changes the frames (the temporal decoder mixes the frames inside it: a larger
        one is more consistent); a set ``decode_chunk_size`` gives the same frames everywhere.
        ``decode_overlap`` is clamped below the window size so every window advances.
        ``split_guidance`` (default: the pipeline's, None = auto): run the unconditional and
        conditional UNet halves one after the other; auto does so on CUDA when the guided batch
        of two would not fit the memory budget beside what is resident (SVD-XT at 25 x 576 x
        1024 in 10 GiB), never on CPU. The fast mode (``cache_threshold`` > 0) always runs the
        batch of two (with a warning where split guidance was asked for). On the CPU a clip
        whose traced peak passes the RAM available is refused before any work
        (:meth:`check_room`, a MemoryError)."""
        if output_type not in OUTPUT_TYPES:
            raise InputError(f"unknown output_type {output_type!r}; choose one of {', '.join(OUTPUT_TYPES)} "
                             "(float: frames in [0, 1], diffusers' 'np')")
        for name, value, minimum in (("fps", fps, 1), ("motion_bucket_id", motion_bucket_id, 0),
                                     ("noise_aug_strength", noise_aug_strength, 0),
                                     ("min_guidance_scale", min_guidance_scale, 0),
                                     ("max_guidance_scale", max_guidance_scale, 0),
                                     ("decode_chunk_size", decode_chunk_size, 1), ("decode_overlap", decode_overlap, 0)):
            at_least(name, value, minimum)
        s = self.config.sampling
        # None is the model's default; an explicit 0 is refused below, not read as the default
        num_frames = s.num_frames if num_frames is None else num_frames
        steps = s.num_inference_steps if num_inference_steps is None else num_inference_steps
        check_request(num_frames=num_frames, steps=steps)
        height, width = self.check_size(s.height if height is None else height, s.width if width is None else width)
        fps = s.fps if fps is None else fps
        motion_bucket_id = s.motion_bucket_id if motion_bucket_id is None else motion_bucket_id
        noise_aug_strength = s.noise_aug_strength if noise_aug_strength is None else noise_aug_strength
        guidance = FramewiseLinearCFG(
            s.min_guidance_scale if min_guidance_scale is None else min_guidance_scale,
            s.max_guidance_scale if max_guidance_scale is None else max_guidance_scale,
            num_frames=num_frames,
        )
        sampler = sampler or s.sampler
        check_request(num_frames=num_frames, steps=steps, sampler=sampler)
        check_speed(cache_threshold, memory_budget_gib)
        cache_threshold = self.cache_threshold if cache_threshold is None else cache_threshold
        budget = self.memory_budget_gib if memory_budget_gib is None else memory_budget_gib
        step_cache = FirstBlockCache(cache_threshold) if cache_threshold > 0 else None
        trained = self.models.unet.config.num_frames
        if num_frames > trained:
            warnings.warn(drift_warning(num_frames, trained, self.models.extra.get("frames_unstated", False)),
                          stacklevel=2)
        m, dev, dt = self.models, self.device, self.dtype
        t0 = time.perf_counter()

        split = self.split_guidance if split_guidance is None else split_guidance
        if split and step_cache is not None and guidance.enabled:  # asked for (auto is decided below)
            warnings.warn(f"split guidance is not used with the step cache (cache_threshold {cache_threshold:g}): "
                          "First Block Cache decides each skip on the guided batch of two as one, so the "
                          "halves run together (the batch of two's memory peak)", stacklevel=3)
        if split is None:
            split = self.guidance_needs_split(num_frames, height, width, budget)
        if step_cache is not None:  # First Block Cache keeps one residual for the guided batch of two
            split = False
        self.last_split_guidance = bool(split and guidance.enabled)  # the path the UNet calls take
        self.check_room(num_frames, height, width, 2 if guidance.enabled and not split else 1,
                        decode=output_type != "latent")
        # 1-3. Conditioning image -> CLIP embedding, VAE latent; micro-conditioning.
        denoiser = self.denoiser_for(image, num_frames, height, width, fps, motion_bucket_id, noise_aug_strength,
                                     guidance, generator, step_cache=step_cache, split_guidance=split)

        # 4. The ODE.
        sigmas = karras_sigmas(steps, s.sigma_min, s.sigma_max).to(dev)
        vae_factor = 2 ** (len(m.vae.config.block_out_channels) - 1)
        shape = (1, num_frames, m.unet.config.out_channels, height // vae_factor, width // vae_factor)
        if latents is None:
            latents = randn(shape, generator, dev, dt)
        elif tuple(latents.shape) != shape:
            raise InputError(f"latents have shape {tuple(latents.shape)}, expected {shape}")
        x = latents.to(dev, torch.float32) * initial_noise_scale(sigmas[0])
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t1 = time.perf_counter()

        desc = f"denoise ({sampler}, {network_evaluations(sampler, steps)} evals)"
        with step_reporter(steps, desc, progress, on_step) as hook, self.offload.use("unet"):
            x = sample(sampler, denoiser, x, sigmas, callback=hook)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t2 = time.perf_counter()

        evaluations = network_evaluations(sampler, steps)
        skipped = step_cache.skipped if step_cache else 0
        if output_type == "latent":  # no decode: the VAE decoder is neither run nor copied up
            self.last_timings = Timings(encode=t1 - t0, denoise=t2 - t1, evaluations=evaluations, skipped=skipped,
                                        step_cache=step_cache is not None)
            return x

        # 5. Decode.
        windows = []
        with self.offload.use("vae_decoder"):
            frames = decode_latents(m.vae, x[0].to(dt), chunk_size=decode_chunk_size, overlap=decode_overlap,
                                    budget_gib=budget, on_window=lambda a, b: windows.append(b - a))
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t3 = time.perf_counter()
        self.last_timings = Timings(encode=t1 - t0, denoise=t2 - t1, decode=t3 - t2, evaluations=evaluations,
                                    skipped=skipped, decode_chunk=max(windows), step_cache=step_cache is not None,
                                    frames=num_frames)
        if self.compile_cache is not None:  # after a compiled video: all its shape needed is built
            self.compile_cache.save_once(dt, shape)  # a failed save is a warning: the frames still come
        frames = (frames / 2 + 0.5).clamp(0, 1)
        if output_type == "float":
            return frames.permute(0, 2, 3, 1).cpu().numpy()
        return (frames * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

