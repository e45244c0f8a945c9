"""Latent spaces for the text-to-video transformer, pluggable.

- ``ImageVAELatents``: a 2D image VAE (diffusers ``AutoencoderKL``) applied frame by frame;
  any frame count, no temporal compression.
- ``VideoVAELatents``: Wan's causal video VAE (diffusers ``AutoencoderKLWan``): 4x temporal
  and 8x spatial compression, so clips have 4k+1 frames; per-channel mean/std normalisation
  from its config, as Wan's pipeline does.

The image VAE decodes in chunks of frames. The video VAE decodes causally one latent frame at
a time (its feature cache), so its peak grows with the frame area, not the clip length; it
decodes whole frames, as diffusers' WanPipeline does (tiled decoding blends overlapping tiles
and moves pixels by several levels from 256 px up), and tiles only when asked or when whole
frames would not fit (:meth:`VideoVAELatents.use_tiling`).
Frames are (B, 3, F, H, W) in [-1, 1]; latents (B, C, T, h, w).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Peak live float elements per output pixel of AutoencoderKLWan's untiled decode, for the Wan
# 2.1 / 2.2 VAE config (base_dim 96, dim_mult [1, 2, 4, 4], two res blocks): traced by counting
# live tensor storages under a TorchDispatchMode while diffusers 0.42 decodes. Per output
# pixel: 1766 for one latent frame, then 4650, 4962, 4975, 4999 for 2, 3, 4, 6 latent frames
# (the feature cache fills after the first), the same at 32x32, 32x64 and 64x64 px. The encoder
# peaks lower (1003 for one frame, 3100-3650 for 5-17 frames), so the one figure covers both.
WAN_VAE_ELEMENTS_PER_PIXEL = 4950
WAN_VAE_BASE_DIM = 96


def wan_vae_bytes(base_dim: int, num_frames: int, height: int, width: int, dtype: torch.dtype) -> int:
    """Peak bytes of an untiled encode or decode of ``num_frames`` frames of ``height`` x ``width``
    with the Wan VAE (``WAN_VAE_ELEMENTS_PER_PIXEL``): the traced per-pixel activations,
    scaled by the VAE's width (``base_dim``; exact for Wan's own VAE, proportional otherwise),
    plus the whole clip's output written alongside (3 channels per frame)."""
    per_pixel = WAN_VAE_ELEMENTS_PER_PIXEL * base_dim / WAN_VAE_BASE_DIM + 3 * num_frames
    return int(per_pixel * height * width * torch.finfo(dtype).bits // 8)


def check_frame_count(num_frames: int, temporal_factor: int) -> None:
    """ValueError unless a VAE folding ``temporal_factor`` frames into one latent frame (after
    the first) takes ``num_frames``: any count >= 1 for an image VAE (factor 1), else
    ``factor * k + 1``. The error names the nearest counts that work ("got 87; use 85 or 89"):
    listing the first few and 81 read as if 81 were the most."""
    if num_frames < 1 and temporal_factor == 1:
        raise ValueError("need at least one frame")
    if num_frames >= 1 and (num_frames - 1) % temporal_factor == 0:
        return
    k = temporal_factor
    below = num_frames - (num_frames - 1) % k
    use = "use 1" if num_frames < 1 else f"use {below} or {below + k}"
    raise ValueError(f"this video VAE takes {k}k+1 frames (1, {k + 1}, {2 * k + 1}, ...); got {num_frames}; {use}")


@dataclass(frozen=True)
class LatentGrid:
    """A latent space's frame and size factors alone, read from configs before any VAE loads
    (:func:`video.runtime.t2v_checks.check_wan_request`): what the size checks need of a latent
    space (``spatial_factor``, ``temporal_factor``, ``check_frames``, ``latent_frames``)."""

    spatial_factor: int
    temporal_factor: int

    def latent_frames(self, num_frames: int) -> int:
        return (num_frames - 1) // self.temporal_factor + 1

    def check_frames(self, num_frames: int) -> None:
        check_frame_count(num_frames, self.temporal_factor)


class ImageVAELatents:
    temporal_factor = 1

    def __init__(self, vae: torch.nn.Module, chunk: int = 8):
        self.vae = vae
        self.chunk = chunk
        self.channels = vae.config.latent_channels
        self.spatial_factor = 2 ** (len(vae.config.block_out_channels) - 1)
        self.scale = vae.config.scaling_factor
        self.shift = getattr(vae.config, "shift_factor", None) or 0.0

    def latent_frames(self, num_frames: int) -> int:
        return num_frames

    def check_frames(self, num_frames: int) -> None:
        check_frame_count(num_frames, 1)

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        b, _, f = frames.shape[:3]
        x = frames.transpose(1, 2).flatten(0, 1)
        z = torch.cat([self.vae.encode(x[i:i + self.chunk]).latent_dist.mode() for i in range(0, len(x), self.chunk)])
        z = (z - self.shift) * self.scale
        return z.unflatten(0, (b, f)).transpose(1, 2)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        b, _, t = latents.shape[:3]
        z = latents.transpose(1, 2).flatten(0, 1) / self.scale + self.shift
        x = torch.cat([self.vae.decode(z[i:i + self.chunk]).sample for i in range(0, len(z), self.chunk)])
        return x.unflatten(0, (b, t)).transpose(1, 2)


class VideoVAELatents:
    temporal_factor = 4

    def __init__(self, vae: torch.nn.Module, tiling: bool | None = None, budget_gib: float | None = None):
        """``tiling``: True always, False never, None where whole frames would not fit
        (:meth:`use_tiling`); ``budget_gib`` caps the memory that rule allows (None: 80% of
        what is free on the device, as ``video.runtime.decode.auto_chunk_size`` allows)."""
        self.vae = vae
        self.tiling, self.budget_gib = tiling, budget_gib
        self.channels = vae.config.z_dim
        self.spatial_factor = 2 ** len(vae.config.temperal_downsample)  # sic: diffusers' spelling
        self.temporal_factor = 2 ** sum(vae.config.temperal_downsample)
        mean = torch.tensor(vae.config.latents_mean, dtype=torch.float32)
        std = torch.tensor(vae.config.latents_std, dtype=torch.float32)
        self.mean, self.std = mean.view(1, -1, 1, 1, 1), std.view(1, -1, 1, 1, 1)

    def use_tiling(self, num_frames: int, height: int, width: int, device: torch.device, batch: int = 1) -> bool:
        """Whether to tile an encode or decode of ``batch`` clips of ``num_frames`` frames of
        ``height`` x ``width`` on ``device``:
        ``tiling`` if set; otherwise only on CUDA, when the untiled peak (``wan_vae_bytes``,
        times ``video.runtime.memory.ALLOCATOR_SLACK``) exceeds 80% of the free memory or what
        ``budget_gib`` leaves beside what is allocated. On the CPU memory is rarely the limit
        (as for the decode windows): whole frames. Wan 2.1's VAE at 832x480, 81 frames, in
        float32 needs about 8 GiB untiled; at 1280x720 about 18 GiB."""
        if self.tiling is not None:
            return self.tiling
        if device.type != "cuda":
            return False
        from video.runtime.memory import ALLOCATOR_SLACK, GIB

        base = getattr(self.vae.config, "base_dim", WAN_VAE_BASE_DIM)
        need = ALLOCATOR_SLACK * batch * wan_vae_bytes(base, num_frames, height, width, self.vae.dtype)
        free, _ = torch.cuda.mem_get_info(device)
        room = 0.8 * free
        if self.budget_gib:
            room = min(room, self.budget_gib * GIB - torch.cuda.memory_allocated(device))
        return need > room

    def _set_tiling(self, shape: tuple[int, ...]) -> None:
        """Tiling on or off for a (B, C, F, H, W) pixel shape, on the VAE's device."""
        if not hasattr(self.vae, "enable_tiling"):
            return
        b, _, f, h, w = shape
        if self.use_tiling(f, h, w, next(self.vae.parameters()).device, batch=b):
            self.vae.enable_tiling()
        else:
            self.vae.disable_tiling()

    def latent_frames(self, num_frames: int) -> int:
        return (num_frames - 1) // self.temporal_factor + 1

    def check_frames(self, num_frames: int) -> None:
        check_frame_count(num_frames, self.temporal_factor)

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        self._set_tiling(tuple(frames.shape))
        z = self.vae.encode(frames.to(self.vae.dtype)).latent_dist.mode().float()
        return (z - self.mean.to(z.device)) / self.std.to(z.device)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        z = latents.float() * self.std.to(latents.device) + self.mean.to(latents.device)
        b, _, t, h, w = z.shape
        self._set_tiling((b, 3, (t - 1) * self.temporal_factor + 1, h * self.spatial_factor, w * self.spatial_factor))
        return self.vae.decode(z.to(self.vae.dtype)).sample.float()


def has_tiling(latents) -> bool:
    """Whether a latent space decodes in tiles on request (the video VAE's ``tiling``), the one
    rule for where ``vae_tiling`` / ``--vae-tiling`` acts: an image VAE decodes frame by frame
    in chunks of frames and has no such switch."""
    return hasattr(latents, "tiling")


def latent_space_for(vae: torch.nn.Module):
    """Pick the wrapper by the VAE's class."""
    name = type(vae).__name__
    if name == "AutoencoderKLWan":
        return VideoVAELatents(vae)
    if name == "AutoencoderKL":
        return ImageVAELatents(vae)
    raise ValueError(f"no latent space for a {name}")
