"""Wan-Animate (Wan 2.2 Animate-14B): animate a character image with the motion of a pose
video and the expressions of a face video, or put that character into a video in place of
someone ("replace"), through our flow sampler and prompt encoder and diffusers'
``WanAnimateTransformer3DModel``.

The transformer sees, per latent frame, ``[noisy latents (C), mask (4), conditioning latents (C)]``
with one extra frame in front for the character:

- frame 0 (the character): mask all ones, ``E(image)`` where the image is fitted into the
  output size and centred on black (``WanAnimateImageProcessor``, ``fill_color=0``), squeezed
  by the pose video's pixel shape first where that is anamorphic (:func:`fit_on_black`);
- frames 1..T (the video): in "animate" mode mask zeros and ``E(zeros)``; in "replace" mode
  ``E(background)`` and the mask ``1 - mask_video`` (1 = keep) nearest-resampled onto the
  latent grid, its first pixel frame repeated 4 times to fold 4 pixel frames per latent frame
  (``get_i2v_mask``). In later segments the last ``prev_segment_conditioning_frames`` decoded
  frames of the previous segment replace the first pixel frames and their mask is 1;
- pose: ``E(pose_video)`` added, through its own patch embedding, to frames 1..T;
- face: the face video in pixels (at ``motion_encoder_size``), through the model's motion and
  face encoders into cross-attention after every ``inject_face_latents_blocks`` blocks;
- the character's CLIP ViT-H features (penultimate hidden state) as image context.

Guidance (off by default, as in diffusers): the unconditional branch has the negative prompt
*and* a blank face (all -1); pose and character stay.

Long videos run as segments of ``segment_frame_length`` frames overlapping by
``prev_segment_conditioning_frames`` (1 or 5); the pose/face (and background/mask) videos are
padded by reflection to a whole number of segments, and the output is cut back. The face,
background and mask videos must each have one frame (a still, held for every pose frame) or at
least the pose video's frame count (a shorter one would be mirrored into frames it does not have).

Where we part from diffusers: the pose, background and mask videos are scaled to cover the
output size and their middle cropped, with a warning (:func:`fit_to_output`), as ``video edit``
fits a background clip; diffusers stretched each axis on its own (a 16:9 background under a 4:3
pose, or a 160x90 pose rounded down to 160x80, came out squashed).

Every step follows diffusers' ``WanAnimatePipeline``; all of the conditioning is rebuilt here
(no diffusers pipeline method is called). ``tests/edit/test_animate.py`` checks our frames
against the pipeline on a tiny random model.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from video.diffusion.flow import FLOW_SAMPLERS, flow_schedule
from video.diffusion.guidance import composable_cfg, needs_conds, needs_uncond
from video.edit.animate_options import (  # noqa: F401  (re-exported: the nodes import them from here)
    DEFAULT_SEGMENT,
    DEFAULT_STEPS,
    FALLBACK_FPS,
    MODES,
    SIZE_STEP,
    TINY,
)
from video.models.components import clip_image_processor, no_torchvision_notice
from video.runtime.img2vid import InputError, Timings, randn
from video.runtime.progress import StepCallback, step_reporter
from video.runtime.speed import with_sdpa_priority
from video.runtime.t2v_checks import check_output_type, check_prompts

# --- pixel inputs -------------------------------------------------------------------------

def _pil_frames(frames, name: str) -> list:
    """uint8 ``(F, H, W[, 3])`` array, or a list of PIL images / arrays -> list of PIL images."""
    from PIL import Image

    if frames is None:
        raise InputError(f"give {name}")
    if isinstance(frames, (list, tuple)):
        out = [f if isinstance(f, Image.Image) else Image.fromarray(_as_uint8(f)) for f in frames]
    else:
        arr = np.asarray(frames)
        if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] not in (1, 3, 4)):
            raise InputError(f"{name} must be (frames, height, width, 3); got shape {arr.shape}")
        out = [Image.fromarray(_as_uint8(f)) for f in arr]
    if not out:
        raise InputError(f"{name} has no frames")
    return out


def _as_uint8(a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if a.dtype != np.uint8:
        a = (np.clip(a.astype(np.float32), 0, 1) * 255).round().astype(np.uint8)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    return a


EMPTY_MASK_HINT = (" (a MASK that is an image's alpha, as ComfyUI's Load Image gives it, is empty for a picture "
                   "without transparency)")


def check_mask_selects(frames, what: str = "the mask", where: str = "", hint: str = EMPTY_MASK_HINT) -> None:
    """One-line InputError for a replace-mode mask (``frames``: as :func:`_pil_frames` takes
    them) whose every level is 0, read as the animator reads it (the luma of its RGB): the
    character would replace nothing, and the run rendered the background for minutes without a
    word, where ``video edit`` and the Inpaint node refuse an empty mask. Called by the
    animator (so the ComfyUI node refuses too) and by ``video animate`` before the weights load
    (``what``: "--mask", ``hint``: none); ``where``: said after "selects nothing"."""
    if any(f.convert("RGB").convert("L").getextrema()[1] > 0 for f in _pil_frames(frames, what)):
        return
    raise InputError(f"{what} selects nothing{where}: every pixel is black (white = the region the character "
                     f"replaces); paint that region white{hint}")


def pad_frames(frames: list, n: int) -> list:
    """Reflect-pad a frame list to ``n`` frames: ``[1, 2, 3, 4, 5] -> [1, 2, 3, 4, 5, 4, 3, 2, 1, 2]``
    (``WanAnimatePipeline.pad_video_frames``); a list longer than ``n`` is cut."""
    out, idx, step = [], 0, 1
    while len(out) < n:
        out.append(frames[idx])
        if len(frames) > 1:
            if not 0 <= idx + step < len(frames):
                step = -step
            idx += step
    return out


def frames_to_tensor(frames: list, height: int, width: int, gray: bool = False) -> torch.Tensor:
    """PIL frames -> ``(1, 3, F, height, width)`` in [-1, 1] (Lanczos resize where the size
    differs, each axis on its own, as diffusers' ``VideoProcessor``: the face crops, square; the
    other videos come fitted already, :func:`fit_to_output`), or with ``gray`` ``(1, 1, F, height, width)`` in
    [0, 1] (resized, then to luma "L": the mask processor)."""
    from PIL import Image

    arrs = []
    for f in frames:
        f = f.convert("RGB")
        if f.size != (width, height):
            f = f.resize((width, height), resample=Image.LANCZOS)
        if gray:
            f = f.convert("L")
        arrs.append(np.asarray(f, dtype=np.float32) / 255.0)
    x = torch.from_numpy(np.stack(arrs))
    x = x[:, None] if gray else x.permute(0, 3, 1, 2)  # (F, c, H, W)
    x = x.permute(1, 0, 2, 3)[None]
    return x if gray else 2.0 * x - 1.0


def fit_on_black(image, height: int, width: int, pixel_aspect: float = 1.0) -> torch.Tensor:
    """The character image scaled to fit ``height x width`` and centred on black:
    ``(1, 3, height, width)`` in [-1, 1] (``WanAnimateImageProcessor``, ``resize_mode="fill"``).
    Lanczos: the pipeline asks for bilinear, but the processor's ``super().__init__()`` re-registers
    its config with the defaults, so diffusers resizes with Lanczos (diffusers 0.42).
    ``pixel_aspect``: the output's pixel width over height (an anamorphic pose video's SAR, which
    the output is tagged with); the square-pixel image is narrowed by it so that it shows its own
    shape on screen (a circle was fitted as stored pixels and shown 18.5% too wide at 32:27).
    Exact fractions, so square pixels give diffusers' integer sizes."""
    from fractions import Fraction

    from PIL import Image

    iw, ih = Fraction(image.width) / Fraction(pixel_aspect), image.height  # its width in output pixels
    wide = Fraction(width, height) < iw / ih
    src_w = width if wide else max(1, int(iw * height // ih))
    src_h = height if not wide else max(1, int(ih * width // iw))
    canvas = Image.new("RGB", (width, height), color=0)
    canvas.paste(image.resize((src_w, src_h), resample=Image.LANCZOS),
                 box=(width // 2 - src_w // 2, height // 2 - src_h // 2))
    x = torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    return 2.0 * x - 1.0


def fit_to_output(videos: dict[str, list | None], height: int, width: int, step: int | None = None,
                  sar: str | float | None = None) -> dict[str, list | None]:
    """The pose video (the first of ``videos``, by name: "pose video") and any background and
    mask as PIL frames at the output size, each scaled to cover it and its middle cropped
    (:func:`video.media.resize_center_crop`), as ``video edit`` fits a background clip: diffusers
    stretched each axis on its own, so a 16:9 background under a 4:3 pose, or a 160x90 pose
    rounded down to 160x80 (``step``: the pose video's size was rounded down to that multiple),
    was squashed without a word. One warning line names the pose video's and the output's sizes
    where it is cropped, and the other videos of its shape that go with it; a background or mask
    of another shape than the pose video has its own line, in ``video edit``'s words. One of the
    shape an anamorphic pose video (``sar``) shows on screen is squeezed onto its stored pixels
    first, without a word (:func:`video.edit.mask.on_screen_shape`), as ``video edit`` does."""
    import warnings

    from PIL import Image

    from video.edit.mask import aspect_differs, on_screen_shape
    from video.media import resize_center_crop

    (pose_name, pose), *others = videos.items()
    ph, pw = pose[0].height, pose[0].width
    out, cropped = {}, [pose_name]
    for name, frames in others:
        if frames is None:
            continue
        size = (frames[0].height, frames[0].width)
        if on_screen_shape(size, (ph, pw), sar):
            frames, size = [f.resize((pw, ph), Image.LANCZOS) for f in frames], (ph, pw)
        if aspect_differs(size, (ph, pw)):
            if aspect_differs(size, (height, width)):
                warnings.warn(f"the {name} is {size[1]}x{size[0]} and the pose video {pw}x{ph}, another aspect ratio: "
                              f"the {name} is scaled to cover the output ({width}x{height}) and its middle cropped",
                              stacklevel=2)
        elif size != (height, width):
            cropped.append(name)
        out[name] = frames
    if step or aspect_differs((ph, pw), (height, width)):
        why = f" (the pose video's size rounded down to a multiple of {step})" if step else ", another aspect ratio"
        names = cropped[0] if len(cropped) == 1 else f"{', '.join(cropped[:-1])} and {cropped[-1]}"
        warnings.warn(f"the pose video is {pw}x{ph} and the output {width}x{height}{why}: the {names} "
                      f"{'is' if len(cropped) == 1 else 'are'} scaled to cover the output and "
                      f"{'its' if len(cropped) == 1 else 'their'} middle cropped", stacklevel=2)
    fit = {name: frames if frames is None else [resize_center_crop(f, height, width) for f in frames]
           for name, frames in ((pose_name, pose), *out.items())}
    return {name: fit.get(name) for name in videos}


def fold_mask(mask: torch.Tensor | None, latent_t: int, latent_h: int, latent_w: int, temporal: int,
              first: int = 0) -> torch.Tensor:
    """A pixel-frame mask on the latent grid ``(1, 1, (T-1)*temporal + 1, h, w)`` (``None``: all
    zeros), its first ``first`` frames set to 1 -> ``(1, temporal, T, h, w)``: frame 0 repeated
    ``temporal`` times, then every ``temporal`` pixel frames become channels
    (``WanAnimatePipeline.get_i2v_mask``)."""
    if mask is None:
        mask = torch.zeros(1, 1, (latent_t - 1) * temporal + 1, latent_h, latent_w)
    else:
        mask = mask.clone()
    mask[:, :, :first] = 1
    mask = torch.cat([mask[:, :, :1].repeat_interleave(temporal, dim=2), mask[:, :, 1:]], dim=2)
    return mask.view(1, -1, temporal, latent_h, latent_w).transpose(1, 2)


def segment_plan(num_frames: int, segment: int, overlap: int) -> tuple[int, int]:
    """(padded frame count, number of segments) for ``num_frames`` conditioning frames: the
    first segment covers ``segment`` frames, each later one ``segment - overlap`` more, so
    ``k`` segments cover ``overlap + k (segment - overlap)``. At least one segment runs: a clip
    no longer than the overlap (one frame, overlap 1) is padded to a whole segment, where it
    used to plan none."""
    from video.media import plural

    eff = segment - overlap
    if eff < 1:
        raise InputError(f"a segment of {plural(segment, 'frame')} cannot overlap by {overlap}")
    count = max(1, -(-(num_frames - overlap) // eff))
    return overlap + count * eff, count


def default_segment(num_frames: int, overlap: int, temporal: int = 4) -> int:
    """The segment length when none is given: the clip's own length rounded up to
    ``temporal * k + 1`` frames, at most :data:`DEFAULT_SEGMENT`, and at least the smallest
    such length longer than ``overlap`` (a 1-frame clip gave a 1-frame segment, which cannot
    overlap the previous one by 1 frame: ``--frames 1`` failed after the weights loaded)."""
    own = (num_frames - 1 + temporal - 1) // temporal * temporal + 1
    least = overlap // temporal * temporal + 1 + temporal  # > overlap, and temporal * k + 1
    return max(least, min(DEFAULT_SEGMENT, own))


# --- loading ------------------------------------------------------------------------------

def build_tiny_animate(folder: str | Path, seed: int = 0) -> Path:
    """Save a WanAnimatePipeline folder at toy size with random weights (the layout of the
    published Wan2.2-Animate-14B-Diffusers, each part a few thousand parameters) to ``folder``:
    what ``--model tiny`` loads, so ``video animate`` runs end to end with nothing downloaded.
    Its frames are noise. The face size (16) is a power of two with a motion-encoder channel
    count per halving down to 4; the CLIP width is the transformer's ``image_dim``."""
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler
    from diffusers import WanAnimateTransformer3DModel as Transformer
    from transformers import (
        CLIPVisionConfig,
        CLIPVisionModel,
        UMT5Config,
        UMT5EncoderModel,
    )
    from transformers.utils import logging as tlog

    from video.models.text import build_tiny_tokenizer

    with no_torchvision_notice():
        from diffusers import WanAnimatePipeline
    torch.manual_seed(seed)
    tok = build_tiny_tokenizer("t5")
    text = UMT5EncoderModel(UMT5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                                       relative_attention_num_buckets=8, pad_token_id=tok.pad_token_id,
                                       eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id))
    vae = AutoencoderKLWan(base_dim=32, z_dim=4, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True], latents_mean=[0.0] * 4, latents_std=[1.0] * 4)
    transformer = Transformer(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=2 * 4 + 4, latent_channels=4,
        out_channels=4, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, image_dim=32, rope_max_seq_len=32,
        motion_encoder_channel_sizes={"16": 16, "8": 16, "4": 16}, motion_encoder_size=16, motion_style_dim=16,
        motion_dim=4, motion_encoder_dim=16, face_encoder_hidden_dim=16, face_encoder_num_heads=2,
        inject_face_latents_blocks=1, motion_encoder_batch_size=4)
    clip = CLIPVisionModel(CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                            num_attention_heads=4, image_size=32, patch_size=8))
    proc = clip_image_processor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    pipe = WanAnimatePipeline(tokenizer=tok, text_encoder=text, vae=vae, image_processor=proc, image_encoder=clip,
                              scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), transformer=transformer)
    bars = tlog.is_progress_bar_enabled()
    tlog.disable_progress_bar()  # transformers' "Writing model shards" bar, per part, is noise here
    try:
        pipe.save_pretrained(folder, safe_serialization=True)
    finally:
        if bars:
            tlog.enable_progress_bar()
    return Path(folder)


class Animator:
    """``Animator.from_pretrained(wan_animate_folder)(image, pose_video, face_video) -> uint8 (F, H, W, 3)``.

    - ``mode="animate"``: the character of ``image`` performs the motion of ``pose_video`` (a
      rendered skeleton video) with the expressions of ``face_video`` (face crops, one per
      frame); the background comes from the image;
    - ``mode="replace"``: the character replaces the person in ``background_video`` where
      ``mask_video`` is white (1 = generate), keeping the rest.
    The pose/face/background/mask videos are preprocessed already (Wan-Animate's own
    preprocessing, pose estimation and face cropping, is not part of this).
    """

    def __init__(self, models, image_encoder, image_processor, device="cpu", dtype=torch.float32,
                 embeddings_dir: str | None = None):
        from video.prompts import PromptEncoder

        self.models = models
        self.image_encoder, self.image_processor = image_encoder, image_processor
        self.device, self.dtype = torch.device(device), dtype
        self.prompts = PromptEncoder(models.tokenizer, models.text_encoder, max_length=models.config.text_max_length
                                     or 512, embeddings_dir=embeddings_dir)
        self.last_timings = Timings()
        self.sdpa_first = "torch"  # which attention kernel torch tries first (speed.sdpa_priority)

    @classmethod
    def from_pretrained(cls, path: str | Path, device="cpu", dtype=torch.float32,
                        embeddings_dir: str | None = None) -> Animator:
        from transformers import CLIPVisionModel

        from video.edit.vace import load_wan_folder
        from video.models.components import loading, require_safetensors
        from video.models.svd import CheckpointError

        p = Path(path)
        if str(path) == TINY:  # whatever ./tiny holds; built, saved and loaded as a real folder is
            import tempfile

            with tempfile.TemporaryDirectory(prefix="tiny-animate-") as tmp:
                return cls.from_pretrained(build_tiny_animate(Path(tmp) / TINY), device, dtype, embeddings_dir)
        index = p / "model_index.json"
        if index.is_file():
            from video.models.wan import read_model_index

            name = read_model_index(p).get("_class_name")
            if name != "WanAnimatePipeline":
                raise CheckpointError(f"{p}: a {name} folder, not WanAnimatePipeline; give a Wan-Animate folder")
        models = load_wan_folder(p, "WanAnimateTransformer3DModel", "Wan-Animate (WanAnimatePipeline)", device, dtype)
        require_safetensors(p / "image_encoder")
        with loading(p, "image_encoder"):
            enc = CLIPVisionModel.from_pretrained(p / "image_encoder", torch_dtype=dtype,
                                                  use_safetensors=True).eval().to(device)
        with loading(p, "image_processor"):
            proc = clip_image_processor(p / "image_processor")
        return cls(models, enc, proc, device=device, dtype=dtype, embeddings_dir=embeddings_dir)

    @property
    def config(self):
        return self.models.config

    def _patch(self) -> tuple[int, int, int]:
        p = self.models.transformer.config.patch_size
        return tuple(p) if isinstance(p, (list, tuple)) else (1, p, p)

    @torch.no_grad()
    def encode_image(self, image) -> torch.Tensor:
        """CLIP vision features of the character image: the penultimate hidden state ``(1, N, D)``."""
        pix = self.image_processor(images=image, return_tensors="pt").pixel_values
        dev = next(self.image_encoder.parameters()).device
        out = self.image_encoder(pixel_values=pix.to(dev, self.image_encoder.dtype), output_hidden_states=True)
        return out.hidden_states[-2].to(self.device, self.dtype)

    @torch.no_grad()
    @with_sdpa_priority
    def __call__(
        self,
        image,
        pose_video,
        face_video,
        mode: str = "animate",
        background_video=None,
        mask_video=None,
        prompt: str = "",
        negative_prompt: str | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float = 1.0,
        generator: torch.Generator | None = None,
        latents: torch.Tensor | None = None,
        height: int | None = None,
        width: int | None = None,
        num_frames: int | None = None,
        segment_frame_length: int | None = None,
        prev_segment_conditioning_frames: int = 1,
        shift: float | None = None,
        sampler: str = "euler",
        progress: bool = False,
        output_type: str = "uint8",
        on_step: StepCallback | None = None,
        sar: str | float | None = None,
    ):
        """``output_type``: ``"uint8"`` (default) numpy uint8 (F, H, W, 3), ``"float"`` float32 in
        [0, 1], ``"latent"`` the sampled latents (a one-segment clip's); anything else is refused
        before any work, as ImageToVideo refuses it. ``sar``: the pose video's pixel shape
        ("32:27"; None: square), which the caller tags the output with: the character image is
        fitted onto those pixels, and a background or mask of the pose video's on-screen shape
        is squeezed onto them. The face, background and mask videos may be one frame, held."""
        from video.edit.mask import pixel_aspect
        from video.media import load_image, plural
        from video.runtime.txt2vid import encode_prompts, frames_as

        check_output_type(output_type)
        check_prompts(prompt, negative_prompt)
        m, dev, s = self.models, self.device, self.config.sampling
        lat = m.latents
        tf = lat.temporal_factor
        steps = num_inference_steps or DEFAULT_STEPS
        negative_prompt = s.negative_prompt if negative_prompt is None else negative_prompt
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        if sampler not in FLOW_SAMPLERS:
            raise InputError(f"unknown sampler {sampler!r}; choose one of {', '.join(FLOW_SAMPLERS)}")
        if prev_segment_conditioning_frames not in (1, 5):
            raise InputError("prev_segment_conditioning_frames must be 1 or 5")
        if mode == "replace" and (background_video is None or mask_video is None):
            raise InputError("mode 'replace' needs background_video and mask_video (white = the character)")
        t0 = time.perf_counter()

        # 1. Pixel inputs.
        image = load_image(image)
        pose = _pil_frames(pose_video, "pose_video")
        face = _pil_frames(face_video, "face_video")
        n = min(num_frames or len(pose), len(pose))
        bg = mk = None
        if mode == "replace":
            bg = _pil_frames(background_video, "background_video")
            mk = _pil_frames(mask_video, "mask_video")
        for name, v in (("face_video", face), ("background_video", bg), ("mask_video", mk)):
            if v is not None and 1 < len(v) < n:  # one frame is a still, held for every pose frame
                raise InputError(f"{name} has {plural(len(v), 'frame')}; the pose video has {n} (give one frame, "
                                 f"held, or at least one per pose frame)")
        pose, face = pose[:n], face[:n]
        mult = lat.spatial_factor * self._patch()[1]
        if (not height and pose[0].height < mult) or (not width and pose[0].width < mult):
            raise InputError(f"the pose video is {pose[0].width}x{pose[0].height}: the output takes its size rounded "
                             f"down to a multiple of {mult}, none here; give height and width (multiples of {mult})")
        rounded = (not height and pose[0].height % mult) or (not width and pose[0].width % mult)
        height = height or pose[0].height // mult * mult
        width = width or pose[0].width // mult * mult
        if height % mult or width % mult or height < mult or width < mult:
            raise InputError(f"height and width must be positive multiples of {mult}; got {height}x{width}")
        if mk is not None:  # an empty mask, or one whose white part is cropped away: refused, not rendered
            check_mask_selects(mk[:n])
        fit = fit_to_output({"pose video": pose, "background": None if bg is None else bg[:n],
                             "mask": None if mk is None else mk[:n]}, height, width, mult if rounded else None, sar)
        if mk is not None:
            check_mask_selects(fit["mask"], where=f" once fitted to the {width}x{height} output (scaled to cover "
                                                  f"it, its middle cropped)")
        overlap = prev_segment_conditioning_frames
        seg = segment_frame_length or default_segment(n, overlap, tf)
        seg = max(seg // tf * tf + 1, 1)
        target, num_segments = segment_plan(n, seg, overlap)
        fsize = m.transformer.config.motion_encoder_size
        pose_t = frames_to_tensor(pad_frames(fit["pose video"], target), height, width)
        face_t = frames_to_tensor(pad_frames(face, target), fsize, fsize).to(dev, self.dtype)
        if mode == "replace":
            bg_t = frames_to_tensor(pad_frames(fit["background"], target), height, width)
            mk_t = frames_to_tensor(pad_frames(fit["mask"], target), height, width, gray=True)

        # 2. Text, character (CLIP features and latents).
        cond = encode_prompts(self.prompts, prompt, negative_prompt, steps)
        image_embeds = self.encode_image(image)
        vae_dev = next(m.vae.parameters()).device
        lh, lw = height // lat.spatial_factor, width // lat.spatial_factor
        character = fit_on_black(image, height, width, pixel_aspect(sar))  # on the output's pixels
        ref_lat = torch.cat([torch.ones(1, tf, 1, lh, lw), lat.encode(character[:, :, None].to(vae_dev)).cpu()], dim=1)
        t_lat = (seg - 1) // tf + 1
        lat_shape = (1, lat.channels, t_lat + 1, lh, lw)
        if latents is not None and tuple(latents.shape) != lat_shape:
            raise InputError(f"latents have shape {tuple(latents.shape)}, expected {lat_shape} (the character "
                             f"frame first)")
        shift = shift if shift is not None else (s.shift or 3.0)
        ts = flow_schedule(steps, shift, device=dev)
        t_enc = time.perf_counter() - t0
        t_den = t_dec = 0.0

        # 3. Segments.
        outs, prev, start = [], None, 0
        eff = seg - overlap
        for _ in range(num_segments):
            t1 = time.perf_counter()
            end = start + seg
            noise = latents if (start == 0 and latents is not None) else randn(lat_shape, generator, dev,
                                                                                torch.float32)
            x = noise.to(dev, torch.float32)
            pose_lat = lat.encode(pose_t[:, :, start:end].to(vae_dev)).to(dev, self.dtype)
            face_seg = face_t[:, :, start:end]
            if mode == "replace":
                bgs = bg_t[:, :, start:end]
                video = bgs if prev is None else torch.cat([prev, bgs[:, :, overlap:]], dim=2)
                keep = F.interpolate((1 - mk_t[:, :, start:end])[0].permute(1, 0, 2, 3), size=(lh, lw),
                                     mode="nearest").permute(1, 0, 2, 3)[None]
            else:
                video = torch.zeros(1, 3, seg, height, width)
                if prev is not None:
                    video[:, :, :overlap] = prev
                keep = None
            mask = fold_mask(keep, t_lat, lh, lw, tf, first=overlap if start > 0 else 0)
            seg_lat = torch.cat([mask, lat.encode(video.to(vae_dev)).cpu()], dim=1)
            reference = torch.cat([ref_lat, seg_lat], dim=2).to(dev, self.dtype)

            def velocity(x: torch.Tensor, t: torch.Tensor, step: int, reference=reference, pose_lat=pose_lat,
                         face_seg=face_seg) -> torch.Tensor:
                c = cond[min(step, steps - 1)]  # the sampler's step, for each of its evaluations
                use_cfg = needs_uncond(c.weights, guidance_scale)  # a lone weighted term keeps its weight
                use_conds = needs_conds(c.weights, guidance_scale)  # scale 0: the negative prompt alone
                terms = [ct for ct, _ in c.conds] if use_conds else []
                ctx = torch.cat(([c.uncond] if use_cfg else []) + terms).to(dev, self.dtype)
                b = ctx.shape[0]
                faces = face_seg.expand(b, *face_seg.shape[1:])
                if use_cfg:  # the unconditional branch also loses the face
                    faces = torch.cat([torch.full_like(face_seg, -1.0), faces[1:]])
                inp = torch.cat([x.to(self.dtype), reference], dim=1)
                v = m.transformer(inp.expand(b, *inp.shape[1:]), (t * 1000).expand(b), ctx,
                                  encoder_hidden_states_image=image_embeds.expand(b, *image_embeds.shape[1:]),
                                  pose_hidden_states=pose_lat.expand(b, *pose_lat.shape[1:]),
                                  face_pixel_values=faces, return_dict=False)[0].float()
                if not (use_cfg and use_conds):  # one branch: the guided velocity itself
                    return v[:1]
                return composable_cfg(v[:1], list(v[1:].split(1)), c.weights, guidance_scale)

            per, k = len(ts) - 1, len(outs)  # the caller's on_step counts the steps of all segments
            seg_step = (lambda d, _n, per=per, k=k: on_step(k * per + d, num_segments * per)) if on_step else None
            with step_reporter(per, f"Animate segment {k + 1}/{num_segments}", progress, seg_step) as hook:
                x = FLOW_SAMPLERS[sampler](velocity, x, ts, callback=hook)
            t2 = time.perf_counter()
            t_den += t2 - t1
            if output_type == "latent" and num_segments == 1:
                return x
            frames = lat.decode(x[:, :, 1:].to(vae_dev)).float().cpu()  # (1, 3, seg, H, W), not clamped
            prev = frames[:, :, -overlap:]
            outs.append(frames if start == 0 else frames[:, :, overlap:])
            start += eff
            t_dec += time.perf_counter() - t2

        video = torch.cat(outs, dim=2)[0, :, :n]
        self.last_timings = Timings(encode=t_enc, denoise=t_den, decode=t_dec)
        if output_type == "latent":
            return x
        return frames_as(video, output_type)



__all__ = ["Animator", "SIZE_STEP", "build_tiny_animate", "check_mask_selects", "default_segment", "fit_on_black",
           "fit_to_output", "fold_mask", "frames_to_tensor", "pad_frames", "segment_plan"]
