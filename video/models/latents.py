"""Latent spaces for the text-to-video transformer, pluggable.

- ``ImageVAELatents``: a 2D image VAE (diffusers ``AutoencoderKL``) applied frame by frame;
  any frame count, no temporal compression.
- ``VideoVAELatents``: Wan's causal video VAE (diffusers ``AutoencoderKLWan``): 4x temporal
  and 8x spatial compression, so clips have 4k+1 frames; per-channel mean/std normalisation
  from its config, as Wan's pipeline does.

Both decode in chunks (frames, or the VAE's own spatial tiling) so long clips fit in memory.
Frames are (B, 3, F, H, W) in [-1, 1]; latents (B, C, T, h, w).
"""

from __future__ import annotations

import torch


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
        if num_frames < 1:
            raise ValueError("need at least one frame")

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

    def __init__(self, vae: torch.nn.Module, tiling: bool = True):
        self.vae = vae
        self.channels = vae.config.z_dim
        self.spatial_factor = 2 ** len(vae.config.temperal_downsample)  # sic: diffusers' spelling
        self.temporal_factor = 2 ** sum(vae.config.temperal_downsample)
        mean = torch.tensor(vae.config.latents_mean, dtype=torch.float32)
        std = torch.tensor(vae.config.latents_std, dtype=torch.float32)
        self.mean, self.std = mean.view(1, -1, 1, 1, 1), std.view(1, -1, 1, 1, 1)
        if tiling and hasattr(vae, "enable_tiling"):
            vae.enable_tiling()

    def latent_frames(self, num_frames: int) -> int:
        return (num_frames - 1) // self.temporal_factor + 1

    def check_frames(self, num_frames: int) -> None:
        if num_frames < 1 or (num_frames - 1) % self.temporal_factor:
            raise ValueError(f"this video VAE takes {self.temporal_factor}k+1 frames (1, 5, 9, ..., 81); "
                             f"got {num_frames}")

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        z = self.vae.encode(frames.to(self.vae.dtype)).latent_dist.mode().float()
        return (z - self.mean.to(z.device)) / self.std.to(z.device)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        z = latents.float() * self.std.to(latents.device) + self.mean.to(latents.device)
        return self.vae.decode(z.to(self.vae.dtype)).sample.float()


def latent_space_for(vae: torch.nn.Module):
    """Pick the wrapper by the VAE's class."""
    name = type(vae).__name__
    if name == "AutoencoderKLWan":
        return VideoVAELatents(vae)
    if name == "AutoencoderKL":
        return ImageVAELatents(vae)
    raise ValueError(f"no latent space for a {name}")
