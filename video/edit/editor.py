"""``Editor``: masked video-to-video regeneration with any model we run, training-free.

``Editor.from_pretrained(path | "tiny")(video, mask=..., prompt=..., strength=...)`` returns
uint8 (F, H, W, 3). Steps of :meth:`Editor.__call__`:

1. the video (array, PIL list, file, image folder) at the working size (given: resized and
   centre-cropped to it; else the input's own size), padded by reflection on the bottom and
   right to the model's multiple (the padding is cropped off at the end, so any size comes
   back at its own size);
2. the mask (:mod:`video.edit.mask`) at that size (a mask video matched to the video's frame
   times; one that selects nothing is refused), padded the same way;
3. overlapping windows of the model's length; each window after the first takes the frames it
   shares with the previous one from that window's result and keeps them (mask 0 there), so
   the continuation is generated in their presence;
4. per window: encode, masked regeneration (:mod:`video.edit.regenerate`) with the model's
   guided velocity (flow: prompt language, CFG) or denoiser (SVD: conditioned on the window's
   first frame or ``reference_images[0]``), decode;
5. the original pixels composited back with :func:`video.edit.mask.composite_alpha`: the
   mask's level times an inward ramp of ``feather_px`` (capped at a quarter of the mask's
   local depth, so thin strokes are regenerated fully), zero outside the mask and on cells a
   soft mask leaves unedited, so unmasked pixels are exactly the input's (after step 1's
   resizing, if a size was given).

Routing (:func:`detect_model`): ``tiny`` -> our tiny DiT; ``tiny-svd`` -> the tiny random SVD;
a folder with ``model_index.json`` naming ``WanVACEPipeline`` -> :class:`video.edit.vace.VaceEditor`
(same call signature); other Wan or our T2V folders -> flow editing; SVD folders or single
files -> EDM editing.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from video.diffusion import FramewiseLinearCFG
from video.diffusion.flow import FLOW_SAMPLERS, check_shift
from video.diffusion.samplers import SAMPLERS
from video.diffusion.strength import flow_edit_schedule, karras_edit_schedule, renoise_edm, renoise_flow
from video.edit.mask import composite_alpha, latent_mask, load_frames_timed, load_mask, video_fps, video_sar
from video.edit.regenerate import regenerate
from video.runtime.img2vid import ImageToVideo, InputError, Timings, randn, size_multiple
from video.runtime.progress import StepCallback, step_reporter
from video.runtime.speed import with_sdpa_priority
from video.runtime.txt2vid import TextToVideo, encode_prompts

EDIT_SAMPLERS = ("euler", "heun")  # one-step solvers: a multistep one (dpmpp_2m) would lose its history at each blend

# model_index.json's _class_name -> (module, class) of a dedicated editor with Editor's call signature.
DEDICATED_EDITORS = {
    "WanVACEPipeline": ("video.edit.vace", "VaceEditor"),
}
# Hook: Wan Animate folders drive a character image with a pose video, not a masked edit.
ANIMATE_PIPELINES = ("WanAnimatePipeline",)


# names that build a model with random weights when no such path exists (smoke runs): tiny
# ones, and SVD / SVD-XT at their real sizes (the config layout of load_svd)
RANDOM_MODELS = {"tiny": "flow", "tiny-svd": "svd", "svd": "svd", "svd_xt": "svd"}


def detect_model(source: str | Path) -> str:
    """"flow", "svd", or a ``DEDICATED_EDITORS`` key, from the layout of ``source``. A name of
    :data:`RANDOM_MODELS` is the built-in whatever the working folder holds (``--model
    builtin:tiny`` read a ./tiny folder); ``./tiny`` is that folder."""
    from video.models.svd import CheckpointError, is_diffusers_folder

    if str(source) in RANDOM_MODELS:
        return RANDOM_MODELS[str(source)]
    p = Path(source)
    if not p.exists():
        raise CheckpointError(f"model {str(source)!r} not found: give a model folder, an svd*.safetensors file, "
                              "or 'tiny' / 'tiny-svd' (random weights)")
    if p.is_file():
        return "svd"  # load_svd says what is wrong with a file that is not an SVD checkpoint
    from video.models.wan import read_model_index

    index = p / "model_index.json"
    name = read_model_index(p).get("_class_name", "") if index.is_file() else ""
    if name in DEDICATED_EDITORS:
        return name
    if name in ANIMATE_PIPELINES:
        raise CheckpointError(f"{p} is a Wan Animate model: it animates a character image, use `video animate`")
    if name == "StableVideoDiffusionPipeline" or is_diffusers_folder(p):
        return "svd"
    if "Wan" in name or (p / "video_pipeline.yaml").is_file():
        return "flow"
    from video.models.inspect import wrong_model  # a part folder (transformer/): the folder above it

    raise CheckpointError(wrong_model(p, "edit")
                          or f"{p}: not a model we can edit with (our T2V folder, a Wan, VACE or SVD folder)")


class FlowBackend:
    """Our DiT or Wan 2.1 through :class:`TextToVideo`: rectified flow, prompt conditioning."""

    def __init__(self, pipe: TextToVideo):
        self.pipe = pipe
        lat = pipe.models.latents
        self.spatial_factor, self.temporal_factor = lat.spatial_factor, lat.temporal_factor
        self.multiple = pipe.spatial_multiple()
        self.window = pipe.config.sampling.num_frames
        self.device = pipe.device

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(1, 3, F, H, W) in [-1, 1] -> float32 latents (1, C, T, h, w)."""
        vae = self.pipe.models.vae
        return self.pipe.models.latents.encode(frames.to(self.device, next(vae.parameters()).dtype)).float()

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        vae = self.pipe.models.vae
        return self.pipe.models.latents.decode(x.to(next(vae.parameters()).dtype)).float()

    def lift(self, m: torch.Tensor) -> torch.Tensor:
        return m[None, None]  # (T, h, w) -> (1, 1, T, h, w)

    def prepare(self, prompt: str, negative_prompt: str | None, steps: int, guidance_scale: float | None,
                strength: float, shift: float | None, sampler: str, lat_shape: tuple[int, ...], **_):
        s = self.pipe.config.sampling
        scale = s.guidance_scale if guidance_scale is None else guidance_scale
        negative_prompt = s.negative_prompt if negative_prompt is None else negative_prompt
        cond = encode_prompts(self.pipe.prompts, prompt, negative_prompt, steps)  # an overflowing weight: one line
        sched = flow_edit_schedule(strength, steps, self.pipe.shift_for(lat_shape, shift), device=self.device)
        velocity = self.pipe.velocity_for(cond, sched.levels, scale)
        solve = FLOW_SAMPLERS[sampler]

        def step_for(first_frame, generator):
            return lambda x, lv, i: solve(velocity, x, lv, first_step=i)  # i: the prompt schedule's step

        return sched, renoise_flow, step_for


class SVDBackend:
    """Stable Video Diffusion through :class:`ImageToVideo`: EDM, conditioned on an image."""

    temporal_factor = 1

    def __init__(self, pipe: ImageToVideo):
        self.pipe = pipe
        vae = pipe.models.vae
        self.spatial_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.multiple = size_multiple(pipe.models)
        self.window = pipe.config.sampling.num_frames
        self.device = pipe.device

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(1, 3, F, H, W) in [-1, 1] -> scaled float32 latents (1, F, C, h, w), frame by frame."""
        vae, dt = self.pipe.models.vae, self.pipe.dtype
        x = frames[0].transpose(0, 1).to(self.device, dt)
        z = torch.cat([vae.encode(x[i:i + 8]).latent_dist.mode() for i in range(0, len(x), 8)])
        return (z.float() * vae.config.scaling_factor)[None]

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        from video.runtime.decode import decode_latents

        frames = decode_latents(self.pipe.models.vae, x[0].to(self.pipe.dtype))  # (F, 3, H, W)
        return frames.transpose(0, 1)[None].float()

    def lift(self, m: torch.Tensor) -> torch.Tensor:
        return m[None, :, None]  # (T, h, w) -> (1, T, 1, h, w)

    def prepare(self, prompt: str, negative_prompt: str | None, steps: int, guidance_scale: float | None,
                strength: float, shift: float | None, sampler: str, lat_shape: tuple[int, ...],
                fps: int | None = None, motion_bucket_id: int | None = None, **_):
        s = self.pipe.config.sampling
        if prompt:
            warnings.warn("SVD has no text encoder: the prompt is ignored (the first frame, or reference_images[0], "
                          "conditions)", stacklevel=3)
        guidance = FramewiseLinearCFG(s.min_guidance_scale, s.max_guidance_scale if guidance_scale is None
                                      else guidance_scale)
        sched = karras_edit_schedule(strength, steps, s.sigma_min, s.sigma_max, device=self.device)
        solve = SAMPLERS[sampler]
        fps = s.fps if fps is None else fps
        bucket = s.motion_bucket_id if motion_bucket_id is None else motion_bucket_id
        _, f, _, h, w = lat_shape

        def step_for(first_frame, generator):
            denoiser = self.pipe.denoiser_for(first_frame, f, h * self.spatial_factor, w * self.spatial_factor, fps,
                                              bucket, s.noise_aug_strength, guidance, generator)
            return lambda x, lv, i: solve(denoiser, x, lv)  # no prompt

        return sched, renoise_edm, step_for


def pad_to_multiple(frames: np.ndarray, multiple: int) -> np.ndarray:
    """(F, H, W, ...) padded on the bottom and right, by reflection, to multiples of
    ``multiple``: the model gets a size it takes, the caller crops back to (H, W), and no
    input pixel is resampled (rounding the size down and resizing changed the kept ones)."""
    ph, pw = -frames.shape[1] % multiple, -frames.shape[2] % multiple
    if not ph and not pw:
        return frames
    return np.pad(frames, [(0, 0), (0, ph), (0, pw)] + [(0, 0)] * (frames.ndim - 3), mode="reflect")


def default_overlap(window: int) -> int:
    """A quarter of the window shared with the next (at least one frame), and none for a
    one-frame window (an image model edits frame by frame)."""
    return min(max(1, window // 4), window - 1)


def check_window(window: int, overlap: int) -> None:
    """Windows advance by ``window - overlap`` frames: an overlap of the window or more would
    advance one frame at a time (a window per frame), so it is refused, given or defaulted."""
    if not 0 <= overlap < window:
        raise InputError(f"overlap must be between 0 and the window - 1 ({window - 1} frames; the window is "
                         f"{window} frames); got {overlap}")


def _valid_frames(n: int, factor: int) -> int:
    """The smallest frame count >= n that a VAE with this temporal factor takes (factor k + 1)."""
    return n if factor == 1 else (n - 1 + factor - 1) // factor * factor + 1


def composite_window(out: np.ndarray, start: int, pixels: np.ndarray, gen: np.ndarray, alpha: np.ndarray) -> None:
    """Blend a window's generated frames ``gen`` (float32, 0..255) over its input frames
    ``pixels`` (float32, updated in place: the next window pins them unrounded) by ``alpha``
    (F, H, W, 1; 0 adds 0, so those pixels stay exact), and write them rounded into ``out``
    from frame ``start``. One window-sized temporary."""
    change = gen - pixels
    change *= alpha
    pixels += change
    out[start:start + len(pixels)] = np.clip(np.round(pixels, out=change), 0, 255, out=change)


def plan_edit_windows(num_frames: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) windows of ``window`` frames advancing by ``window - overlap``, the last one
    moved back to end at ``num_frames`` (so every window is full length)."""
    if num_frames <= window:
        return [(0, num_frames)]
    step = max(1, window - overlap)
    starts = list(range(0, num_frames - window, step)) + [num_frames - window]
    return [(s, s + window) for s in starts]


def prepare_frames(video, multiple: int, num_frames: int | None = None, height: int | None = None,
                   width: int | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """(frames at the working size, the input's (H, W)): :func:`prepare_frames_timed` without
    the times."""
    return prepare_frames_timed(video, multiple, num_frames, height, width)[:2]


def prepare_frames_timed(video, multiple: int, num_frames: int | None = None, height: int | None = None,
                         width: int | None = None) -> tuple[np.ndarray, tuple[int, int], np.ndarray | None]:
    """(frames at the working size, the input's (H, W), a video file's frame times or None).
    The working size is the input's own unless ``height`` / ``width`` ask for another
    (multiples of ``multiple``; the frames are then scaled to cover it and centre-cropped); the
    caller pads it to the multiple (:func:`pad_to_multiple`) and crops back. The times come
    from the same read: a mask or control video is then matched where a variable-rate
    video's frames really are, not at i / fps."""
    from PIL import Image

    from video.media import resize_center_crop

    frames, times = load_frames_timed(video)
    if num_frames:
        if num_frames > len(frames):
            raise InputError(f"asked for {num_frames} frames; the video has {len(frames)}")
        frames = frames[:num_frames]
        times = None if times is None else times[:num_frames]
    src = frames.shape[1:3]
    for name, v in (("height", height), ("width", width)):
        if v and v % multiple:
            raise InputError(f"height and width must be multiples of {multiple} for this model; got {name} {v} "
                             f"(leave it out to edit at the input's own size, {src[1]}x{src[0]})")
    h, w = height or src[0], width or src[1]
    if min(h, w) < multiple:
        raise InputError(f"the video is {w}x{h}; this model needs at least {multiple}x{multiple}")
    if (h, w) != src:
        frames = np.stack([np.asarray(resize_center_crop(Image.fromarray(f), h, w)) for f in frames])
    return frames, src, times


class Editor:
    """``Editor.from_pretrained(path | "tiny")(video, mask=..., prompt=...) -> uint8 (F, H, W, 3)``."""

    def __init__(self, backend: FlowBackend | SVDBackend):
        self.backend = backend
        self.last_timings = Timings()
        self.sdpa_first = "torch"  # which attention kernel torch tries first (speed.sdpa_priority)

    @classmethod
    def from_pretrained(cls, source: str | Path = "tiny", device="cpu", dtype=torch.float32, **kw):
        kind = detect_model(source)
        if kind in DEDICATED_EDITORS:
            import importlib

            module, name = DEDICATED_EDITORS[kind]
            return getattr(importlib.import_module(module), name).from_pretrained(source, device=device, dtype=dtype)
        if kind == "svd":
            name = "tiny" if str(source) == "tiny-svd" else source
            return cls(SVDBackend(ImageToVideo.from_pretrained(name, device=device, dtype=dtype, **kw)))
        return cls(FlowBackend(TextToVideo.from_pretrained(source, device=device, dtype=dtype, **kw)))

    @property
    def multiple(self) -> int:
        """Working sizes must divide by this."""
        return self.backend.multiple

    def prepare_video(self, video, num_frames: int | None = None, height: int | None = None,
                      width: int | None = None) -> tuple[np.ndarray, tuple[int, int]]:
        """(frames at the working size, the input's (H, W)): :func:`prepare_frames`."""
        return prepare_frames(video, self.multiple, num_frames, height, width)

    @torch.no_grad()
    @with_sdpa_priority
    def __call__(
        self,
        video,
        mask=None,
        prompt: str = "",
        negative_prompt: str | None = None,
        strength: float = 1.0,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        generator: torch.Generator | None = None,
        latents: torch.Tensor | None = None,
        reference_images=None,
        control_video=None,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        *,
        invert: bool = False,
        soft: bool = False,
        feather_px: int | None = None,
        window: int | None = None,
        overlap: int | None = None,
        shift: float | None = None,
        sampler: str | None = None,
        fps: int | None = None,
        motion_bucket_id: int | None = None,
        callback=None,
        progress: bool = False,
        on_step: StepCallback | None = None,
    ) -> np.ndarray:
        """Regenerate the masked part of ``video``.

        ``mask``: see :func:`video.edit.mask.load_mask` (None: the whole video; a mask that
        selects nothing is a MediaError); ``invert`` swaps it; ``soft`` keeps grey levels as
        per-pixel strength (a level g is edited as at strength ``g * strength``, rounded to the
        schedule's levels: a level below the last step's is left unedited, as ComfyUI's
        differential diffusion does; the composite blends the edited pixels by g), else
        thresholded at 0.5. ``strength`` in [0, 1]: 0 returns the input, 1 regenerates from
        pure noise; in between, flow models start at t = strength exactly and run all the steps
        below it on the shifted grid, SVD at the Karras ramp's position strength
        (:mod:`video.diffusion.strength`). A VACE folder's editor instead keeps diffusers'
        img2img skip rule (:mod:`video.edit.vace`): there strength 0.5 at shift 3 with 50 steps
        runs 25 steps from t = 0.75. ``shift``: the flow time shift, in (0, inf) (default: the
        model's), refused otherwise before any work. ``feather_px``: width of the composite's
        inward ramp (default: the latent cell size; capped by the mask's depth,
        :func:`video.edit.mask.composite_alpha`).
        ``latents``: the noise ``eps`` of a one-window clip (latent shape). ``window`` and
        ``overlap`` in frames (default: the model's length, a quarter of it).
        ``callback(window, step, level, x)`` after each step's blend (to look at the latents);
        ``on_step(done, total)`` after each step, counted over all windows (progress for a host
        application; it may raise to stop, :mod:`video.runtime.progress`).
        """
        be = self.backend
        if control_video is not None:
            raise InputError("control videos need a VACE model (a folder whose model_index.json names "
                             "WanVACEPipeline)")
        if reference_images is not None and isinstance(be, FlowBackend):
            raise InputError("reference images need a VACE model; this text-to-video model takes a prompt")
        if not 0.0 <= strength <= 1.0:
            raise InputError(f"strength must be in [0, 1]; got {strength}")
        sampler = sampler or self._default_sampler()
        if sampler not in EDIT_SAMPLERS:
            raise InputError(f"editing uses a one-step sampler: {', '.join(EDIT_SAMPLERS)}; got {sampler!r}")
        if shift is not None:  # before any work: a bad shift gives NaN levels (flow_edit_schedule)
            try:
                check_shift(shift)
            except ValueError as e:
                raise InputError(str(e)) from None
        steps = num_inference_steps or be.pipe.config.sampling.num_inference_steps
        t0 = time.perf_counter()

        # 1-2. Video and mask at the working size, padded to the model's multiple.
        window = window or be.window
        overlap = overlap if overlap is not None else default_overlap(window)
        check_window(window, overlap)
        orig, src, times = prepare_frames_timed(video, self.multiple, num_frames, height, width)
        f, h, w = orig.shape[:3]
        m = load_mask(mask, f, h, w, invert=invert, soft=soft, source_size=src, fps=video_fps(video),
                      allow_empty=False, times=times, sar=video_sar(video))
        if strength == 0.0:
            self.last_timings = Timings(encode=time.perf_counter() - t0)
            return orig.copy()
        orig = pad_to_multiple(orig, be.multiple)
        m = torch.from_numpy(pad_to_multiple(m.numpy(), be.multiple))
        radius = be.spatial_factor if feather_px is None else feather_px
        edited_from = None  # the faintest soft level edited, once the schedule says (composite_alpha)

        # 3. Windows.
        wins = plan_edit_windows(f, window, overlap)
        if latents is not None and len(wins) > 1:
            raise InputError("latents= fixes the noise of a one-window clip; this video needs "
                             f"{len(wins)} windows")
        ref = None
        if reference_images is not None:
            ref = reference_images[0] if isinstance(reference_images, (list, tuple)) else reference_images
        # the result as uint8 (a float32 copy of the clip was 4x it); the last window's frames
        # stay float32 (``last``, from frame ``last_at``), so the next one pins them unrounded
        out = np.empty_like(orig)
        last, last_at = None, 0
        done = 0  # frames [0, done) are final
        t_encode = t_denoise = t_decode = 0.0
        prepared = None
        reporting = contextlib.ExitStack()  # the bar, closed however the loop ends
        hook = None
        with reporting:
            for wi, (a, b) in enumerate(wins):
                tc = time.perf_counter()
                # 4. One window: pinned frames from the result so far, padded to a length the VAE takes.
                pixels = orig[a:b].astype(np.float32)
                if last is not None:
                    pixels[:done - a] = last[a - last_at:done - last_at]
                    last = None  # its pinned frames copied: let it go
                mw = m[a:b].clone()
                mw[:max(0, done - a)] = 0.0
                n = _valid_frames(b - a, be.temporal_factor)
                if n > b - a:  # the last frame repeated to a length the VAE takes
                    pixels = np.concatenate([pixels, np.repeat(pixels[-1:], n - (b - a), 0)])
                    mw = torch.cat([mw, mw[-1:].expand(n - (b - a), -1, -1)])
                x_in = (torch.from_numpy(pixels).permute(3, 0, 1, 2)[None] / 127.5).sub_(1.0)
                x0 = be.encode(x_in)
                del x_in  # window-sized: not carried into the decode and the next window
                gmap = be.lift(latent_mask(mw, be.spatial_factor, be.temporal_factor)).to(x0.device)
                if prepared is None:
                    prepared = be.prepare(prompt, negative_prompt, steps, guidance_scale, strength, shift, sampler,
                                          tuple(x0.shape), fps=fps, motion_bucket_id=motion_bucket_id)
                sched, renoise, step_for = prepared
                if wi == 0:  # the step count is known once the schedule is (strength and shift)
                    desc = f"edit ({len(wins)} window{'s' * (len(wins) > 1)})"
                    hook = reporting.enter_context(step_reporter(len(wins) * sched.num_steps, desc, progress, on_step))
                if edited_from is None:  # a soft level below the last step's tau is never edited (regenerate)
                    edited_from = float(sched.taus[-2]) if soft else 0.0
                if latents is not None:
                    if tuple(latents.shape) != tuple(x0.shape):
                        raise InputError(f"latents have shape {tuple(latents.shape)}, expected {tuple(x0.shape)}")
                    eps = latents.to(x0.device, torch.float32)
                else:
                    eps = randn(x0.shape, generator, x0.device, torch.float32)
                first = ref if ref is not None else np.clip(np.round(pixels[0]), 0, 255).astype(np.uint8)  # uint8: unambiguous
                step = step_for(first, generator)
                td = time.perf_counter()
                t_encode += td - tc

                def each_step(i, level, x, wi=wi, hook=hook):
                    if hook is not None:
                        hook()
                    if callback is not None:
                        callback(wi, i, level, x)

                x = regenerate(step, x0, eps, sched, gmap, renoise, each_step)
                tc = time.perf_counter()
                t_denoise += tc - td
                keep = max(0, done - a)
                gen = be.decode(x)[0, :, keep:b - a].cpu().clamp_(-1, 1).add_(1).mul_(127.5).permute(1, 2, 3, 0)
                # 5. Composite: the window's new frames, the original outside the feathered mask
                # (its weights per window: composite_alpha works frame by frame).
                al = composite_alpha(m[a + keep:b], radius, edited_from).numpy()[..., None]
                composite_window(out, a + keep, pixels[keep:b - a], gen.numpy(), al)
                del gen, al
                last, last_at, done = pixels[:b - a], a, b
                t_decode += time.perf_counter() - tc
        self.last_timings = Timings(encode=t_encode, denoise=t_denoise, decode=t_decode)
        return out if out.shape[1:3] == (h, w) else np.ascontiguousarray(out[:, :h, :w])

    def _default_sampler(self) -> str:
        s = self.backend.pipe.config.sampling.sampler
        return s if s in EDIT_SAMPLERS else "euler"


__all__ = ["EDIT_SAMPLERS", "RANDOM_MODELS", "Editor", "FlowBackend", "SVDBackend", "check_window",
           "composite_window", "detect_model", "pad_to_multiple", "plan_edit_windows", "prepare_frames",
           "prepare_frames_timed"]
