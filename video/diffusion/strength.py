"""Sampling schedules truncated by an edit strength, and re-noising to a level: the maths of
SDEdit (Meng et al. 2022) that every partial regeneration shares, as pure functions.

Strength s in (0, 1] maps to a starting level on the model's own schedule, and the
``num_inference_steps`` steps all run below it:

- rectified flow (our DiT, Wan 2.1): start at t = s exactly; the steps are the shifted grid of
  :func:`video.diffusion.flow.flow_schedule` restricted to [0, s] (evenly spaced in the
  unshifted time u, then shifted by SD3 eq. 23), so s = 1 is text-to-video's own grid;
- EDM (SVD): start at the Karras ramp's position s, sigma(s) = (sigma_min^(1/rho) + s
  (sigma_max^(1/rho) - sigma_min^(1/rho)))^rho, and take N Karras steps (EDM eq. 5) from there
  to sigma_min, then 0, so s = 1 is image-to-video's grid.

Diffusers' image-to-image pipelines (``WanVideoToVideoPipeline.get_timesteps``, the rule the
VACE editor follows for parity) truncate differently: they build the full N-step grid and skip
its first ``N - int(N s)`` steps, so the start is a grid point near s, not s itself
(:func:`flow_skip_schedule`).

Each level also carries its normalised strength tau = strength_of(level) / s (1 at the start,
0 at the end): the per-pixel strength of :func:`video.edit.regenerate.regenerate` compares a
grey-level mask against it. Re-noising is the forward process itself: x_t = (1 - t) x0 + t eps
for flow, x_sigma = x0 + sigma eps for EDM, both exactly x0 at level 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from video.diffusion.edm import karras_sigmas
from video.diffusion.flow import check_shift, flow_schedule, interpolate, time_shift


@dataclass(frozen=True)
class EditSchedule:
    """N + 1 noise levels from the start to 0, and each level's normalised strength tau."""

    levels: torch.Tensor
    taus: torch.Tensor

    @property
    def num_steps(self) -> int:
        return len(self.levels) - 1


def check_strength(strength: float, steps: int) -> None:
    """A schedule needs a strength in (0, 1] (0 runs no step: the caller returns its input) and a step."""
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"strength must be in (0, 1] to run steps; got {strength}")
    if steps < 1:
        raise ValueError(f"need at least one step; got {steps}")


def unshift(t: torch.Tensor, shift: float) -> torch.Tensor:
    """Inverse of :func:`~video.diffusion.flow.time_shift`: u = t / (shift - (shift - 1) t)."""
    return t / (shift - (shift - 1) * t)


def flow_edit_schedule(strength: float, steps: int, shift: float = 1.0, device=None) -> EditSchedule:
    """Rectified-flow times from t = strength to 0 (module docstring); tau = t / strength.
    ``shift`` must be in (0, inf) (:func:`~video.diffusion.flow.check_shift`): below 0 the
    unshift/shift round trip divides by zero inside the grid (NaN levels, a black video), and
    0 collapses every level after the first to 0 (one step)."""
    check_strength(strength, steps)
    check_shift(shift)
    u0 = unshift(torch.tensor(strength, dtype=torch.float64), shift)
    t = time_shift(torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64) * u0, shift)
    t[0] = strength  # exact, not the round trip through unshift and shift
    return EditSchedule(t.to(device=device, dtype=torch.float32), (t / strength).to(device=device, dtype=torch.float32))


def flow_skip_schedule(steps: int, strength: float, shift: float = 1.0, device=None) -> torch.Tensor:
    """The shifted N-step flow grid with its first ``N - int(N strength)`` steps skipped: the
    ``int(N strength)`` steps that run, and the final 0 (diffusers' img2img rule)."""
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"strength must be in (0, 1]; got {strength}")
    run = min(int(steps * strength), steps)
    if run < 1:
        raise ValueError(f"strength {strength} with {steps} steps runs no step; raise either")
    return flow_schedule(steps, shift, device=device)[steps - run:]


def karras_ramp(sigma: torch.Tensor, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    """Position of sigma on the Karras ramp: 0 at sigma_min (and below, 0 included), 1 at sigma_max."""
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return ((sigma.double().clamp(min=0) ** (1 / rho) - lo) / (hi - lo)).clamp(0, 1)


def karras_start(strength: float, sigma_min: float, sigma_max: float, rho: float = 7.0) -> float:
    """sigma at ramp position ``strength``: the inverse of :func:`karras_ramp` on [sigma_min, sigma_max]."""
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (lo + strength * (hi - lo)) ** rho


def karras_edit_schedule(strength: float, steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0,
                         device=None) -> EditSchedule:
    """EDM sigmas from the ramp position ``strength`` to sigma_min, then 0; tau = ramp / strength."""
    check_strength(strength, steps)
    sigmas = karras_sigmas(steps, sigma_min, karras_start(strength, sigma_min, sigma_max, rho), rho,
                           dtype=torch.float64)
    taus = karras_ramp(sigmas, sigma_min, sigma_max, rho) / strength
    taus[0] = 1.0
    return EditSchedule(sigmas.to(device=device, dtype=torch.float32), taus.to(device=device, dtype=torch.float32))


def renoise_flow(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - t) x0 + t eps (exactly x0 at t = 0)."""
    return interpolate(x0, eps, t.reshape(1))


def renoise_edm(x0: torch.Tensor, eps: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x_sigma = x0 + sigma eps (exactly x0 at sigma = 0)."""
    return x0 + sigma * eps


__all__ = ["EditSchedule", "check_strength", "flow_edit_schedule", "flow_skip_schedule", "karras_edit_schedule", "karras_ramp",
           "karras_start", "renoise_edm", "renoise_flow", "unshift"]
