"""Fitting an image autoencoder (diffusers ``AutoencoderKL``): the quickstart's stage 0.

A latent diffusion model learns only what its autoencoder can decode. The tiny text-to-video
model is built with random weights, and a random VAE's decode of its own encode is noise, so a
DiT trained on its latents renders noise however well it fits them. Fitting the VAE first
(reconstruction + a small KL, as the KL-f8 autoencoders of Rombach et al. 2022, §3 and App. G,
minus their perceptual and adversarial terms) gives the later stages a latent space that decodes
to pictures; ``latent_normalisation`` then gives its latents unit variance, which the flow
objective assumes of its data (SD's ``scaling_factor``, SD3's ``shift_factor``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def vae_loss(vae: torch.nn.Module, x: torch.Tensor, kl_weight: float,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, reconstruction term) for frames ``x`` (B, 3, H, W) in [-1, 1]: L1 + MSE of the
    decode of a posterior sample, plus ``kl_weight`` x the KL to N(0, I) per latent element."""
    post = vae.encode(x).latent_dist
    z = post.sample(generator=generator)
    y = vae.decode(z).sample
    rec = (y - x).abs().mean() + (y - x).pow(2).mean()
    kl = post.kl().mean() / z[0].numel()
    return rec + kl_weight * kl, rec


def _batch(pools: Sequence[torch.Tensor], step: int, batch_size: int, gen: torch.Generator) -> torch.Tensor:
    """Random frames of one pool (pools take turns, so the VAE learns every size the DiT stages
    use): ``batch_size`` of the smallest, proportionally fewer of larger ones."""
    pool = pools[step % len(pools)]
    smallest = min(p.shape[-2] * p.shape[-1] for p in pools)
    n = max(1, round(batch_size * smallest / (pool.shape[-2] * pool.shape[-1])))
    return pool[torch.randint(len(pool), (n,), generator=gen)]


def fit_vae(vae: torch.nn.Module, pools: Sequence[torch.Tensor], steps: int, batch_size: int = 16,
            lr: float = 2e-3, kl_weight: float = 1e-4, seed: int = 0, progress: bool = True) -> list[float]:
    """Train ``vae`` in place on frames (each pool (N, 3, H, W) in [-1, 1]) with Adam and a
    cosine-decayed learning rate; returns the reconstruction term per step."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    vae.train()
    losses = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="vae", unit="step", dynamic_ncols=True)
    try:  # the bar ends on an interrupt too: a message after it starts on its own line
        for step in range(steps):
            x = _batch(pools, step, batch_size, gen)
            loss, rec = vae_loss(vae, x, kl_weight, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(rec.item())
            if bar is not None:
                bar.update()
                bar.set_postfix(rec=f"{losses[-1]:.4f}")
    finally:
        if bar is not None:
            bar.close()
    vae.eval()
    return losses


@torch.no_grad()
def reconstruct(vae: torch.nn.Module, frames: torch.Tensor, chunk: int = 32) -> torch.Tensor:
    """Decode of the posterior mode, clamped to [-1, 1]: what the runtime's latents give back."""
    return torch.cat([vae.decode(vae.encode(frames[i:i + chunk]).latent_dist.mode()).sample
                      for i in range(0, len(frames), chunk)]).clamp(-1, 1)


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of images in [-1, 1] (peak-to-peak 2, so the same number
    as for the images in [0, 1])."""
    mse = (x.float() - y.float()).pow(2).mean().item()
    return float("inf") if mse == 0 else 10 * math.log10(4.0 / mse)


@torch.no_grad()
def latent_normalisation(vae: torch.nn.Module, frames: torch.Tensor, chunk: int = 32) -> tuple[float, float]:
    """(shift, scale) with (z - shift) * scale of zero mean and unit variance over ``frames``'
    latents (posterior modes), the convention :class:`video.models.latents.ImageVAELatents`
    applies: SD's ``scaling_factor`` (1 / std) and SD3's ``shift_factor`` (mean)."""
    z = torch.cat([vae.encode(frames[i:i + chunk]).latent_dist.mode() for i in range(0, len(frames), chunk)])
    return z.mean().item(), 1.0 / z.std().item()
