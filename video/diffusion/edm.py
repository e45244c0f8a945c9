"""EDM formulation (Karras et al. 2022) as Stable Video Diffusion uses it.

SVD's network is a v-predictor preconditioned with EDM scalings at sigma_data = 1
(sgm ``VScalingWithEDMcNoise``), not EDM's sigma_data = 0.5. Writing the denoiser as
D(x; sigma) = c_skip * x + c_out * F(c_in * x; c_noise) lets every sampler below work on
the probability-flow ODE dx/dsigma = (x - D) / sigma without knowing the parametrisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class VScaling:
    """Preconditioning of a v-prediction network (EDM Table 1 with sigma_data, v-target)."""

    sigma_data: float = 1.0

    def __call__(self, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return scalings(sigma, self.sigma_data)


def scalings(
    sigma: torch.Tensor, sigma_data: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(c_skip, c_out, c_in, c_noise) for a v-prediction network.

    c_skip = sd^2 / (sigma^2 + sd^2), c_out = -sigma * sd / sqrt(sigma^2 + sd^2),
    c_in = 1 / sqrt(sigma^2 + sd^2), c_noise = ln(sigma) / 4 (EDM eq. 7 and Table 1).
    """
    sd2 = sigma_data**2
    denom = sigma**2 + sd2
    c_skip = sd2 / denom
    c_out = -sigma * sigma_data / denom.sqrt()
    c_in = 1.0 / denom.sqrt()
    return c_skip, c_out, c_in, c_noise(sigma)


def c_noise(sigma: torch.Tensor) -> torch.Tensor:
    """The network's time input: ln(sigma) / 4 (EDM Table 1)."""
    return 0.25 * sigma.log()


def karras_sigmas(
    num_steps: int,
    sigma_min: float = 0.002,
    sigma_max: float = 700.0,
    rho: float = 7.0,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """EDM eq. 5: sigma_i = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho.

    Returns N + 1 values, the last one 0, computed in float64 and cast once so that the
    schedule does not depend on the sampling dtype.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    ramp = torch.linspace(0.0, 1.0, num_steps, dtype=torch.float64)
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    sigmas = (hi + ramp * (lo - hi)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros(1)]).to(dtype)


def initial_noise_scale(sigma_max: float | torch.Tensor) -> float:
    """Scale of the starting latent: sqrt(1 + sigma_max^2).

    Both sgm (``x *= sqrt(1 + sigmas[0]^2)``) and diffusers' ``init_noise_sigma`` with
    "leading" spacing start SVD from this, not from sigma_max; we keep the published
    behaviour so that the same latents give the same video.
    """
    s = float(sigma_max)
    return math.sqrt(1.0 + s * s)


def sample_log_normal_sigmas(n: int, p_mean: float, p_std: float, generator=None, device=None) -> torch.Tensor:
    """Training noise levels: ln sigma ~ N(P_mean, P_std^2) (EDM §5; SVD App. D uses
    (-1.2, 1) for images, (0.7, 1.6) then (1.0, 1.6) for image-to-video)."""
    return torch.exp(torch.randn(n, generator=generator, device=device) * p_std + p_mean)


def loss_weight(sigma: torch.Tensor, sigma_data: float = 1.0) -> torch.Tensor:
    """lambda(sigma) = (sigma^2 + sd^2) / (sigma sd)^2 (EDM eq. 8), which makes the effective
    weight of the network's own target F equal to 1 at every noise level."""
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def edm_loss(network, x0: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor, sigma_data: float = 1.0,
             **cond) -> torch.Tensor:
    """Per-sample EDM loss lambda(sigma) |D(x0 + sigma n; sigma) - x0|^2, averaged over all but
    the batch dimension. ``network(c_in x, c_noise, **cond)`` is the raw (v-prediction) net;
    the preconditioning is the same :func:`scalings` the samplers use."""
    s = sigma.view(-1, *([1] * (x0.ndim - 1)))
    c_skip, c_out, c_in, cn = scalings(s, sigma_data)
    x = x0 + s * noise
    denoised = c_skip * x + c_out * network(c_in * x, cn.flatten(), **cond)
    return loss_weight(sigma, sigma_data) * ((denoised - x0) ** 2).flatten(1).mean(1)
