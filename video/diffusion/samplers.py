"""ODE samplers in the EDM formulation (k-diffusion style): each is a function of
(denoiser, x, sigmas, callback), where ``denoiser(x, sigma)`` returns D(x; sigma).

All three are deterministic (no churn): the same latents give the same video.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[int, torch.Tensor], None] | None


def to_d(x: torch.Tensor, sigma: torch.Tensor, denoised: torch.Tensor) -> torch.Tensor:
    """dx/dsigma of the probability-flow ODE (EDM eq. 4 with s(t)=1, sigma(t)=t)."""
    return (x - denoised) / sigma


def sample_euler(denoiser: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback = None) -> torch.Tensor:
    """First-order Euler steps (EDM Alg. 1 without the Heun correction)."""
    for i in range(len(sigmas) - 1):
        denoised = denoiser(x, sigmas[i])
        x = x + to_d(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
        if callback is not None:
            callback(i, denoised)
    return x


def sample_heun(denoiser: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback = None) -> torch.Tensor:
    """EDM Alg. 1: Euler predictor, trapezoidal corrector; the last step (to 0) is Euler.

    Costs two network evaluations per step except the last.
    """
    for i in range(len(sigmas) - 1):
        denoised = denoiser(x, sigmas[i])
        d = to_d(x, sigmas[i], denoised)
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:
            x_pred = x + d * dt
            d_pred = to_d(x_pred, sigmas[i + 1], denoiser(x_pred, sigmas[i + 1]))
            x = x + 0.5 * (d + d_pred) * dt
        if callback is not None:
            callback(i, denoised)
    return x


def sample_dpmpp_2m(
    denoiser: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback = None
) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al. 2022, Alg. 2) in sigma = e^{-t} form: a second-order
    multistep that reuses the previous denoised estimate, one network call per step."""
    old_denoised = None
    for i in range(len(sigmas) - 1):
        denoised = denoiser(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            t, t_next = -sigmas[i].log(), -sigmas[i + 1].log()
            h = t_next - t
            if old_denoised is None:
                d = denoised
            else:
                h_last = t - (-sigmas[i - 1].log())
                r = h_last / h
                d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
            x = (sigmas[i + 1] / sigmas[i]) * x - torch.expm1(-h) * d
        old_denoised = denoised
        if callback is not None:
            callback(i, denoised)
    return x


SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {
    "euler": sample_euler,
    "heun": sample_heun,
    "dpmpp_2m": sample_dpmpp_2m,
}


def sample(name: str, denoiser: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, callback: Callback = None):
    try:
        fn = SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}") from None
    return fn(denoiser, x, sigmas, callback)


def network_evaluations(name: str, num_steps: int) -> int:
    """How many denoiser calls a sampler makes for ``num_steps`` (for progress bars)."""
    return 2 * num_steps - 1 if name == "heun" else num_steps
