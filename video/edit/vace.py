"""Wan 2.1 VACE: masked editing, outpainting, reference images and control videos (pose,
depth, edges) with one model, through our flow sampler and prompt encoder and diffusers'
``WanVACETransformer3DModel``.

VACE (Jiang et al. 2025, "VACE: All-in-One Video Creation and Editing") feeds a second,
"context" stream to a copy of some transformer blocks whose outputs are added, scaled, to
the main blocks. The context per latent frame is ``[inactive, reactive, mask]``:

- ``inactive = E(video * (1 - m))``: what to keep (``m`` thresholded at 0.5);
- ``reactive = E(video * m)``: what to regenerate or follow (a control video is all
  reactive: ``m = 1``);
- ``mask``: the pixel mask folded onto the latent grid, each 8x8 pixel block becoming 64
  channels, then nearest-resampled in time to the latent frame count;
- reference images are VAE-encoded alone, letterboxed on white to the frame size and
  prepended as extra latent frames (zero reactive part, zero mask); their frames are dropped
  before decoding.

Every step of that recipe follows diffusers' ``WanVACEPipeline`` (``preprocess_conditions``,
``prepare_video_latents``, ``prepare_masks``); ``tests/edit/test_vace.py`` checks our frames
against it on a tiny random model.

Steps of :meth:`VaceEditor.__call__`:
1. inputs -> pixel video, mask and letterboxed references at the output size;
2. the context latents (above) and the prompt conditioning (:mod:`video.prompts`);
3. noise (or, with ``strength < 1``, the source video's latents noised to the first time that
   runs; see below);
4. the flow ODE with composable CFG, the context shared by every guidance term;
5. drop the reference frames, decode, uint8 (``output_type``: or float32 in [0, 1], or the
   latents undecoded; anything else is refused before any work, as ImageToVideo does).

``strength`` s < 1 follows diffusers' ``WanVideoToVideoPipeline.get_timesteps`` (kept for
parity, ``tests/edit/test_vace.py``): the shifted N-step grid loses its first
``N - int(N s)`` steps, so ``int(N s)`` steps run from t = time_shift(int(N s) / N, shift),
not from t = s (strength 0.5, shift 3, 50 steps: 25 steps from t = 0.75). The same strength
in :class:`video.edit.editor.Editor` starts at t = s exactly and runs all N steps (SDEdit,
:func:`video.diffusion.strength.flow_edit_schedule`); the start times agree only at shift 1 with N s
whole (the step counts still differ).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from video.config import TextToVideoConfig
from video.diffusion.flow import FLOW_SAMPLERS, interpolate
from video.diffusion.guidance import composable_cfg, needs_conds, needs_uncond
from video.diffusion.strength import flow_skip_schedule
from video.models.wan import DEFAULT_SHIFT, read_model_index
from video.runtime.img2vid import InputError, Timings, randn
from video.runtime.progress import StepCallback, step_reporter
from video.runtime.speed import with_sdpa_priority
from video.runtime.t2v_checks import check_output_type, check_prompts
from video.runtime.txt2vid import T2VModels, encode_prompts, frames_as

# --- pixel inputs -------------------------------------------------------------------------

def video_to_tensor(frames, height: int, width: int) -> torch.Tensor:
    """uint8 ``(F, H, W, 3)`` (or float in [0, 1]) -> ``(1, 3, F, height, width)`` in [-1, 1],
    resized (bilinear, antialiased) when the size differs."""
    x = torch.as_tensor(np.asarray(frames))
    if x.ndim != 4 or x.shape[-1] != 3:
        raise InputError(f"a video must be (frames, height, width, 3); got shape {tuple(x.shape)}")
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    x = x.permute(0, 3, 1, 2)  # (F, 3, H, W)
    if x.shape[-2:] != (height, width):
        x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    return (2.0 * x - 1.0).permute(1, 0, 2, 3).unsqueeze(0)


def mask_to_tensor(mask, num_frames: int, height: int, width: int) -> torch.Tensor:
    """A mask (1 = regenerate) as ``(F, H, W)``, ``(H, W)`` (every frame), or with a trailing
    channel axis; bool, uint8 (255 = 1) or float in [0, 1] -> ``(1, 1, F, height, width)``."""
    m = torch.as_tensor(np.asarray(mask))
    if m.ndim == 4:
        m = m[..., 0]
    if m.ndim == 2:
        m = m.expand(num_frames, *m.shape)
    if m.ndim != 3:
        raise InputError(f"a mask must be (frames, height, width) or (height, width); got {tuple(m.shape)}")
    if m.shape[0] != num_frames:
        raise InputError(f"the mask has {m.shape[0]} frames but the video has {num_frames}")
    m = m.float() / 255.0 if m.dtype == torch.uint8 else m.float()
    if m.shape[-2:] != (height, width):
        m = F.interpolate(m.unsqueeze(1), size=(height, width), mode="nearest").squeeze(1)
    return m.clamp(0, 1)[None, None]


def letterbox_reference(image, height: int, width: int) -> torch.Tensor:
    """A reference image (uint8 ``(h, w, 3)`` or PIL) -> ``(3, height, width)`` in [-1, 1]:
    scaled to fit, centred on white, as ``WanVACEPipeline.preprocess_conditions`` does (it first
    rounds the image size down to a multiple of 8 with a Lanczos resize, then resizes bilinearly)."""
    from PIL import Image

    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    img = img.convert("RGB")
    w8, h8 = img.width // 8 * 8, img.height // 8 * 8
    if (w8, h8) != img.size:
        img = img.resize((w8, h8), resample=Image.LANCZOS)
    x = torch.from_numpy(np.asarray(img).astype(np.float32) / 255.0).permute(2, 0, 1)[None] * 2.0 - 1.0
    s = min(height / h8, width / w8)
    nh, nw = int(h8 * s), int(w8 * s)
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)[0]
    canvas = torch.ones(3, height, width)
    top, left = (height - nh) // 2, (width - nw) // 2
    canvas[:, top:top + nh, left:left + nw] = x
    return canvas


def fit_control(source, num_frames: int, height: int, width: int, fps: float | None = None,
                times: np.ndarray | None = None, sar: str | float | None = None,
                source_size: tuple[int, int] | None = None) -> np.ndarray:
    """A control video (file, image folder, array; one image: every frame) as ``num_frames``
    uint8 frames at the working (height, width), by a mask video's rules
    (:mod:`video.edit.mask`): a file under a video with a frame rate (``fps``; ``times``, a
    variable-rate video's own) is matched by time, its frame nearest each video frame's, and
    refused when it ends before the video's last frame begins (taken frame by frame, a 24 fps
    pose video under an 8 fps clip played 3x fast); folders and arrays go frame by frame. One
    of another aspect ratio than the video (``source_size``, default (height, width)) is
    scaled to cover and its middle cropped, with one warning naming both sizes; one of the
    shape the video shows on screen (its pixels' shape ``sar``) is squeezed onto the stored
    grid, as it was drawn or rendered over the video as a player shows it."""
    import warnings

    from PIL import Image

    from video.edit.mask import aspect_differs, load_frames, on_screen_shape, read_timed_through, video_fps
    from video.edit.timing import ends_before, frame_times, nearest_frames, plays_until
    from video.media import MediaError, resize_center_crop

    rate = video_fps(source) if fps else None
    if rate:
        want = frame_times(num_frames, fps, times)
        frames, own, whole = read_timed_through(source, float(want[-1]), rate)
        if ends_before(float(want[-1]), own, rate, whole):
            raise MediaError(f"the control video {Path(source).name} lasts {plays_until(own, rate):.2f} s "
                             f"({len(frames)} frames at {rate:g} fps); the video {float(want[-1]) + 1.0 / fps:.2f} s "
                             f"({num_frames} frames at {fps:g} fps)")
        frames = frames[nearest_frames(want, own)]
    else:
        frames = load_frames(source)
        if 1 < len(frames) < num_frames:
            raise MediaError(f"the control video has {len(frames)} frames, the video {num_frames}: give one frame "
                             f"or at least as many as the video")
        frames = frames[np.minimum(np.arange(num_frames), len(frames) - 1)]
    vh, vw = source_size or (height, width)
    shape = frames.shape[1:3]
    if on_screen_shape(shape, (vh, vw), sar):
        frames = np.stack([np.asarray(Image.fromarray(x).resize((vw, vh), Image.LANCZOS)) for x in frames])
    elif aspect_differs(shape, (vh, vw)):
        warnings.warn(f"the control video is {shape[1]}x{shape[0]} and the video {vw}x{vh}, another aspect ratio: "
                      f"the control video is scaled to cover the video and its middle cropped", stacklevel=2)
    if frames.shape[1:3] != (height, width):
        frames = np.stack([np.asarray(resize_center_crop(Image.fromarray(x), height, width)) for x in frames])
    return frames


# --- the context stream -------------------------------------------------------------------

def fold_mask(mask: torch.Tensor, spatial: int, temporal: int, patch: int) -> torch.Tensor:
    """``(1, 1, F, H, W)`` pixel mask -> ``(1, spatial**2, ceil(F / temporal), h, w)``: each
    ``spatial x spatial`` block becomes channels, then nearest-exact in time
    (``WanVACEPipeline.prepare_masks``)."""
    _, _, f, hgt, wid = mask.shape
    h = hgt // (spatial * patch) * patch
    w = wid // (spatial * patch) * patch
    m = mask[0, 0, :, :h * spatial, :w * spatial].reshape(f, h, spatial, w, spatial)
    m = m.permute(2, 4, 0, 1, 3).flatten(0, 1)  # (s*s, F, h, w)
    t = (f + temporal - 1) // temporal
    return F.interpolate(m[None], size=(t, h, w), mode="nearest-exact")


def context_latents(latent_space, video: torch.Tensor, mask: torch.Tensor, references: list[torch.Tensor],
                    patch: int) -> torch.Tensor:
    """``[inactive, reactive, folded mask]`` per latent frame, references prepended:
    ``(1, 2C + s*s, R + T, h, w)``. ``video`` (1, 3, F, H, W) in [-1, 1]; ``mask`` (1, 1, F, H, W)."""
    hard = (mask > 0.5).float()
    inactive = latent_space.encode(video * (1 - hard))
    reactive = latent_space.encode(video * hard)
    z = torch.cat([inactive, reactive], dim=1)
    folded = fold_mask(mask, latent_space.spatial_factor, latent_space.temporal_factor, patch).to(z)
    for ref in references:  # diffusers prepends each in turn, so the last reference ends up first
        r = latent_space.encode(ref[None, :, None].to(video))
        z = torch.cat([torch.cat([r, torch.zeros_like(r)], dim=1), z], dim=2)
        folded = torch.cat([torch.zeros_like(folded[:, :, :1]), folded], dim=2)
    return torch.cat([z, folded], dim=1)


# --- loading ------------------------------------------------------------------------------

def load_wan_folder(source: str | Path, transformer_cls: str, pipeline_hint: str, device="cpu",
                    dtype=torch.float32) -> T2VModels:
    """A diffusers Wan folder (``model_index.json``) with the given transformer class, loaded as
    text-to-video folders are (:func:`video.runtime.txt2vid._load_wan`: each part checked, any
    loading error one line naming folder and part)."""
    import diffusers

    from video.models.svd import CheckpointError, quiet_library_logs
    from video.runtime.txt2vid import _load_wan, cast_keeping_fp32

    quiet_library_logs()
    p = Path(source)
    index = p / "model_index.json"
    if not index.is_file():
        raise CheckpointError(f"{p}: not a diffusers folder (no model_index.json); give a {pipeline_hint} folder")
    info = read_model_index(p)
    tcls = (info.get("transformer") or [None, None])[1]
    if tcls != transformer_cls:
        raise CheckpointError(f"{p}: its transformer is {tcls!r}, not {transformer_cls}; give a {pipeline_hint} "
                              f"folder")
    m = _load_wan(p, info, dtype, getattr(diffusers, transformer_cls))
    cast_keeping_fp32(m.transformer, dtype).to(device=device)  # float32 where diffusers keeps it
    m.text_encoder.to(device=device, dtype=dtype)
    m.vae.to(device=device)
    return m


def strength_schedule(steps: int, shift: float, strength: float, device=None) -> torch.Tensor:
    """:func:`video.diffusion.strength.flow_skip_schedule` (diffusers' img2img rule), its
    errors as :class:`InputError` (the user picks strength and steps)."""
    try:
        return flow_skip_schedule(steps, strength, shift, device=device)
    except ValueError as e:
        raise InputError(str(e)) from None


@dataclass
class VaceInputs:
    """What the context stream is built from, at the output size (for inspection and tests)."""

    video: torch.Tensor  # (1, 3, F, H, W) in [-1, 1]
    mask: torch.Tensor  # (1, 1, F, H, W) in [0, 1]
    references: list[torch.Tensor]  # each (3, H, W) in [-1, 1]


class VaceEditor:
    """``VaceEditor.from_pretrained(wan_vace_folder)(video=, mask=, prompt=...) -> uint8 (F, H, W, 3)``.

    - masked editing / inpainting: ``video`` + ``mask`` (1 = regenerate);
    - outpainting: a ``video`` padded to the new size + a mask that is 1 on the padding;
    - control (pose, depth, edges...): ``control_video`` (already rendered by the user's
      annotator); with ``video`` and ``mask`` too, the control frames fill the masked region;
    - subject / style references: ``reference_images`` (one or more images);
    - text-to-video: none of them (the context is an all-zero video, all reactive).
    """

    def __init__(self, models: T2VModels, device="cpu", dtype=torch.float32, embeddings_dir: str | None = None):
        from video.prompts import PromptEncoder

        self.models = models
        self.device, self.dtype = torch.device(device), dtype
        self.prompts = PromptEncoder(models.tokenizer, models.text_encoder, max_length=models.config.text_max_length
                                     or 512, embeddings_dir=embeddings_dir)
        self.last_timings = Timings()
        self.sdpa_first = "torch"  # which attention kernel torch tries first (speed.sdpa_priority)

    @classmethod
    def from_pretrained(cls, path: str | Path, device="cpu", dtype=torch.float32,
                        embeddings_dir: str | None = None) -> VaceEditor:
        return cls(load_wan_folder(path, "WanVACETransformer3DModel", "Wan VACE (WanVACEPipeline)", device, dtype),
                   device=device, dtype=dtype, embeddings_dir=embeddings_dir)

    @property
    def config(self) -> TextToVideoConfig:
        return self.models.config

    def _patch(self) -> tuple[int, int, int]:
        p = self.models.transformer.config.patch_size
        return tuple(p) if isinstance(p, (list, tuple)) else (1, p, p)

    def prepare_inputs(self, video=None, mask=None, reference_images=None, control_video=None,
                       num_frames: int | None = None, height: int | None = None,
                       width: int | None = None) -> VaceInputs:
        s, lat = self.config.sampling, self.models.latents
        first = video if video is not None else control_video
        if first is not None:
            arr = np.asarray(first)
            num_frames = num_frames or arr.shape[0]
            height, width = height or arr.shape[1], width or arr.shape[2]
        num_frames, height, width = num_frames or s.num_frames, height or s.height, width or s.width
        mult = lat.spatial_factor * self._patch()[1]
        if height % mult or width % mult or height < mult or width < mult:
            raise InputError(f"height and width must be positive multiples of {mult} for this model; "
                             f"got {height}x{width}")
        try:
            lat.check_frames(num_frames)
        except ValueError as e:
            raise InputError(str(e)) from None
        if mask is not None and video is None and control_video is None:
            raise InputError("a mask needs the video it applies to (video=)")
        for name, v in (("video", video), ("control_video", control_video)):
            if v is not None and len(v) != num_frames:
                raise InputError(f"{name} has {len(v)} frames; expected {num_frames} (4k+1)")
        vid = video_to_tensor(video, height, width) if video is not None else None
        m = mask_to_tensor(mask, num_frames, height, width) if mask is not None else None
        if control_video is not None:
            ctrl = video_to_tensor(control_video, height, width)
            if vid is not None and m is not None:  # control frames fill the region to regenerate
                vid = torch.where(m > 0.5, ctrl, vid)
            else:
                vid = ctrl
        if vid is None:  # nothing given: an all-zero, all-reactive context (WanVACEPipeline's default)
            vid = torch.zeros(1, 3, num_frames, height, width)
        if m is None:
            m = torch.ones(1, 1, num_frames, height, width)
        refs = reference_images
        if refs is not None and not isinstance(refs, (list, tuple)):
            refs = [refs]
        if refs is not None and len(refs) and getattr(refs[0], "ndim", 3) == 4:  # a stacked (N, h, w, 3) array
            refs = list(refs)
        refs = [letterbox_reference(r, height, width) for r in (refs or [])]
        return VaceInputs(vid, m, refs)

    @torch.no_grad()
    @with_sdpa_priority
    def __call__(
        self,
        video=None,
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
        conditioning_scale: float | list[float] = 1.0,
        shift: float | None = None,
        sampler: str | None = None,
        progress: bool = False,
        output_type: str = "uint8",
        on_step: StepCallback | None = None,
    ):
        check_output_type(output_type)
        check_prompts(prompt, negative_prompt)
        s, m, dev = self.config.sampling, self.models, self.device
        steps = num_inference_steps or s.num_inference_steps
        scale = s.guidance_scale if guidance_scale is None else guidance_scale
        negative_prompt = s.negative_prompt if negative_prompt is None else negative_prompt
        sampler = sampler or s.sampler
        if sampler not in FLOW_SAMPLERS:
            raise InputError(f"unknown sampler {sampler!r}; choose one of {', '.join(FLOW_SAMPLERS)}")
        if strength < 1.0 and video is None:
            raise InputError("strength < 1 starts from the source video: give video=")
        t0 = time.perf_counter()

        # 1. Pixel inputs at the output size.
        inp = self.prepare_inputs(video, mask, reference_images, control_video, num_frames, height, width)
        num_refs = len(inp.references)
        # 2. Context latents and text.
        vae_dev = next(m.vae.parameters()).device
        ctx_lat = context_latents(m.latents, inp.video.to(vae_dev), inp.mask.to(vae_dev),
                                  [r.to(vae_dev) for r in inp.references], self._patch()[1])
        ctx_lat = ctx_lat.to(dev, self.dtype)
        layers = m.transformer.config.vace_layers
        cscale = torch.as_tensor([conditioning_scale] * len(layers) if isinstance(conditioning_scale, (int, float))
                                 else conditioning_scale, device=dev, dtype=self.dtype)
        if cscale.numel() != len(layers):
            raise InputError(f"conditioning_scale has {cscale.numel()} values; this model has {len(layers)} "
                             f"VACE layers")
        # 3. Noise, or the source noised to the skip rule's first time ts[0] (module docstring; not t = strength).
        lat_shape = (1, m.latents.channels, ctx_lat.shape[2], *ctx_lat.shape[3:])
        if latents is None:
            latents = randn(lat_shape, generator, dev, torch.float32)
        elif tuple(latents.shape) != lat_shape:
            raise InputError(f"latents have shape {tuple(latents.shape)}, expected {lat_shape} "
                             f"({num_refs} reference frame(s) first)")
        noise = latents.to(dev, torch.float32)
        shift = shift if shift is not None else (s.shift or DEFAULT_SHIFT)
        ts = strength_schedule(steps, shift, strength, device=dev)
        if strength < 1.0:
            x0 = m.latents.encode(video_to_tensor(video, *inp.video.shape[-2:]).to(vae_dev)).to(dev)
            for r in inp.references:
                x0 = torch.cat([m.latents.encode(r[None, :, None].to(vae_dev)).to(dev), x0], dim=2)
            x = interpolate(x0, noise, ts[:1])
        else:
            x = noise
        # the prompt schedule counts the steps that run, as the Editor's does (video edit):
        # [a:b:0.5] switches halfway through them, whatever the strength skipped
        run = len(ts) - 1
        cond = encode_prompts(self.prompts, prompt, negative_prompt, run)
        t1 = time.perf_counter()

        # 4. The flow ODE; every guidance term sees the same context.
        def velocity(x: torch.Tensor, t: torch.Tensor, step: int) -> torch.Tensor:
            c = cond[min(step, run - 1)]  # the sampler's step, for each of its evaluations
            use_cfg = needs_uncond(c.weights, scale)  # a lone term weighted 1/scale needs no uncond
            use_conds = needs_conds(c.weights, scale)  # scale 0: the negative prompt alone, one forward
            terms = [ct for ct, _ in c.conds] if use_conds else []
            ctx = torch.cat(([c.uncond] if use_cfg else []) + terms).to(dev, self.dtype)
            b = ctx.shape[0]
            v = m.transformer(x.expand(b, *x.shape[1:]).to(self.dtype), (t * 1000).expand(b), ctx,
                              control_hidden_states=ctx_lat.expand(b, *ctx_lat.shape[1:]),
                              control_hidden_states_scale=cscale, return_dict=False)[0].float()
            if not (use_cfg and use_conds):  # one branch: the guided velocity itself
                return v[:1]
            return composable_cfg(v[:1], list(v[1:].split(1)), c.weights, scale)

        with step_reporter(len(ts) - 1, f"VACE ({sampler}, shift {shift:.2f})", progress, on_step) as hook:
            x = FLOW_SAMPLERS[sampler](velocity, x, ts, callback=hook)
        t2 = time.perf_counter()

        # 5. Drop the reference frames, decode.
        x = x[:, :, num_refs:]
        if output_type == "latent":  # no decode: its time is 0, not the previous call's
            self.last_timings = Timings(encode=t1 - t0, denoise=t2 - t1)
            return x
        frames = frames_as(m.latents.decode(x.to(vae_dev))[0], output_type)  # from (3, F, H, W)
        self.last_timings = Timings(encode=t1 - t0, denoise=t2 - t1, decode=time.perf_counter() - t2)
        return frames


__all__ = ["VaceEditor", "VaceInputs", "VaceRecipeEditor", "context_latents", "fit_control", "fold_mask",
           "letterbox_reference", "load_wan_folder", "mask_to_tensor", "strength_schedule", "video_to_tensor"]


class VaceRecipeEditor:
    """A :class:`~video.edit.vace.VaceEditor` behind :class:`~video.edit.editor.Editor`'s call
    (what the recipes call): the video at the working size (the input's own, padded by
    reflection to the model's multiple and cropped back; or a given one), masks through
    :func:`video.edit.mask.load_mask` (boxes, files, ``invert``, ``soft``; an empty one
    refused) and a control video through :func:`fit_control`, both at a video file's frame
    times and pixel shape as the command line reads them, overlapping windows of the model's length, and the input's pixels composited
    back with :func:`video.edit.mask.composite_alpha`, as :class:`Editor` does. VACE itself
    takes the mask cut at 0.5 (its context stream); with ``soft`` the grey levels weight the
    composite only.

    A clip longer than one window is edited window by window, as :class:`Editor` does: each
    window after the first is given the frames it shares with the previous one as that window's
    result with mask 0 there, which is how VACE extends a video (kept pixels are context, not
    regenerated), so the windows join without a seam. A window shorter than 4k+1 frames is
    padded with its last frame, and the padding dropped."""

    def __init__(self, vace):
        self.vace = vace
        lat = vace.models.latents
        self.spatial_factor = lat.spatial_factor
        self.multiple = lat.spatial_factor * vace._patch()[1]

    @property
    def config(self):
        return self.vace.config

    @property
    def last_timings(self):
        return self.vace.last_timings

    def __call__(self, video, mask=None, prompt: str = "", strength: float = 1.0, num_frames: int | None = None,
                 height: int | None = None, width: int | None = None, *, invert: bool = False, soft: bool = False,
                 feather_px: int | None = None, window: int | None = None, overlap: int | None = None,
                 control_video=None, **kw):
        from video.edit.editor import (
            _valid_frames,
            check_window,
            default_overlap,
            pad_to_multiple,
            plan_edit_windows,
            prepare_frames_timed,
        )
        from video.edit.mask import composite_alpha, load_mask, video_fps, video_sar

        window = window or self.vace.config.sampling.num_frames
        overlap = overlap if overlap is not None else default_overlap(window)
        check_window(window, overlap)
        frames, src, times = prepare_frames_timed(video, self.multiple, num_frames, height, width)
        f, (h, w) = len(frames), frames.shape[1:3]
        fps, sar = video_fps(video), video_sar(video)  # a file's: masks and controls drawn on it line up
        mk = load_mask(mask, f, h, w, invert=invert, soft=soft, source_size=tuple(src), fps=fps, allow_empty=False,
                       times=times, sar=sar)
        if strength == 0.0:
            return frames.copy()
        if control_video is not None:  # the video's times and geometry, then the same padding
            control_video = fit_control(control_video, f, h, w, fps=fps, times=times, sar=sar,
                                        source_size=tuple(src))
            control_video = pad_to_multiple(control_video, self.multiple)
        frames = pad_to_multiple(frames, self.multiple)
        mk = torch.from_numpy(pad_to_multiple(mk.numpy(), self.multiple))
        alpha = composite_alpha(mk, self.spatial_factor if feather_px is None else feather_px).numpy()[..., None]
        hp, wp = frames.shape[1:3]
        wins = plan_edit_windows(f, window, overlap)
        if kw.get("latents") is not None and len(wins) > 1:
            raise InputError(f"latents= fixes the noise of a one-window clip; this video needs {len(wins)} windows")
        mk = mk.numpy()
        o = frames.astype(np.float32)
        out = o.copy()
        done = 0  # frames [0, done) are final
        timings = []
        on_step = kw.pop("on_step", None)  # counted over all windows, as the Editor counts
        for wi, (a, b) in enumerate(wins):
            if on_step is not None:
                kw["on_step"] = lambda d, per, wi=wi: on_step(wi * per + d, len(wins) * per)
            keep = max(0, done - a)
            pixels = np.clip(np.round(out[a:b]), 0, 255).astype(np.uint8)
            mw = mk[a:b].copy()
            mw[:keep] = 0.0  # the previous window's result, given as context
            n = _valid_frames(b - a, self.vace.models.latents.temporal_factor)
            pad = n - (b - a)
            ctrl = None
            if control_video is not None:
                ctrl = np.concatenate([control_video[a:b], np.repeat(control_video[b - 1:b], pad, 0)])
            gen = self.vace(video=np.concatenate([pixels, np.repeat(pixels[-1:], pad, 0)]),
                            mask=np.concatenate([mw, np.repeat(mw[-1:], pad, 0)]), prompt=prompt,
                            strength=strength, num_frames=n, height=hp, width=wp, control_video=ctrl, **kw)[: b - a]
            timings.append(self.vace.last_timings)
            al = alpha[a + keep:b]
            out[a + keep:b] = np.where(al > 0, o[a + keep:b] + al * (gen[keep:].astype(np.float32) - o[a + keep:b]),
                                       o[a + keep:b])
            done = b
        self.vace.last_timings = Timings(encode=sum(t.encode for t in timings),
                                         denoise=sum(t.denoise for t in timings),
                                         decode=sum(t.decode for t in timings))
        return np.clip(np.round(out[:, :h, :w]), 0, 255).astype(np.uint8)
