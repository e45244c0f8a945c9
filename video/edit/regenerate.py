"""Masked regeneration, training-free, for any model with a one-step solver: the mechanism
behind every edit.

SDEdit (Meng et al. 2022) starts from the input's latent noised to the level ``strength``
and solves the ODE from there; RePaint (Lugmayr et al. 2022) puts the known content back
after every step, noised to the level the sampler has reached, so the generated region is
solved in the presence of the untouched one. We use one noise draw ``eps`` per run for both
the start and every re-noising, so outside the mask the latent follows exactly the path a
pure noising of the input would: ``x_t = (1 - t) x0 + t eps`` for rectified flow (our DiT,
Wan 2.1), ``x_sigma = x0 + sigma eps`` for EDM (SVD).

Per-pixel strength (the idea of Differential Diffusion, Levin & Fried 2023, as in ComfyUI's
``DifferentialDiffusion`` node): a latent cell with grey level g in [0, 1] behaves as if
edited at strength ``g * strength``. Precisely, with ``tau(level) = strength_of(level) /
strength`` (1 at the start, 0 at the end), after each step the cell keeps the solver's value
iff ``g > tau(next level)``, and is reset to the re-noised input otherwise. So g = 1 is
regenerated at every step, g = 0 never, and g = 0.5 is pinned to the input's noisy path until
the level falls to that of strength ``0.5 * strength``, then regenerated from there (ComfyUI
thresholds the same way: ``mask >= (t - t_min) / (t_max - t_min)``). A binary mask is the
special case g in {0, 1}.

Strength s in (0, 1] maps to a starting level on the model's own schedule, and the
``num_inference_steps`` steps all run below it:

- flow: start at t = s exactly; the steps are the shifted grid of :func:`flow_schedule`
  restricted to [0, s] (evenly spaced in the unshifted time, then shifted), so s = 1 is
  text-to-video's own grid;
- EDM: start at the Karras ramp's position s, sigma(s) = (sigma_min^(1/rho) + s
  (sigma_max^(1/rho) - sigma_min^(1/rho)))^rho, and take N Karras steps from there to
  sigma_min, then 0 (s = 1 is image-to-video's grid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from video.diffusion.edm import karras_sigmas
from video.diffusion.flow import interpolate, time_shift

Step = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x at levels[0], levels[0:2]) -> x at levels[1]
Renoise = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
StepCallback = Callable[[int, torch.Tensor, torch.Tensor], None] | None


@dataclass(frozen=True)
class EditSchedule:
    """N + 1 noise levels from the start to 0, and each level's normalised strength tau."""

    levels: torch.Tensor
    taus: torch.Tensor

    @property
    def num_steps(self) -> int:
        return len(self.levels) - 1


def _check(strength: float, steps: int) -> None:
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"strength must be in (0, 1] to run steps; got {strength}")
    if steps < 1:
        raise ValueError(f"need at least one step; got {steps}")


def unshift(t: torch.Tensor, shift: float) -> torch.Tensor:
    """Inverse of :func:`time_shift`: u = t / (shift - (shift - 1) t)."""
    return t / (shift - (shift - 1) * t)


def flow_edit_schedule(strength: float, steps: int, shift: float = 1.0, device=None) -> EditSchedule:
    """Rectified-flow times from t = strength to 0 (module docstring); tau = t / strength."""
    _check(strength, steps)
    u0 = unshift(torch.tensor(strength, dtype=torch.float64), shift)
    t = time_shift(torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64) * u0, shift)
    t[0] = strength
    return EditSchedule(t.to(device=device, dtype=torch.float32), (t / strength).to(device=device, dtype=torch.float32))


def karras_ramp(sigma: torch.Tensor, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    """Position of sigma on the Karras ramp: 0 at sigma_min (and below, 0 included), 1 at sigma_max."""
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return ((sigma.double().clamp(min=0) ** (1 / rho) - lo) / (hi - lo)).clamp(0, 1)


def karras_edit_schedule(strength: float, steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0,
                         device=None) -> EditSchedule:
    """EDM sigmas from the ramp position ``strength`` to sigma_min, then 0; tau = ramp / strength."""
    _check(strength, steps)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    start = (lo + strength * (hi - lo)) ** rho
    sigmas = karras_sigmas(steps, sigma_min, start, rho, dtype=torch.float64)
    taus = karras_ramp(sigmas, sigma_min, sigma_max, rho) / strength
    taus[0] = 1.0
    return EditSchedule(sigmas.to(device=device, dtype=torch.float32), taus.to(device=device, dtype=torch.float32))


def renoise_flow(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - t) x0 + t eps (exactly x0 at t = 0)."""
    return interpolate(x0, eps, t.reshape(1))


def renoise_edm(x0: torch.Tensor, eps: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x_sigma = x0 + sigma eps (exactly x0 at sigma = 0)."""
    return x0 + sigma * eps


def regenerate(step: Step, x0: torch.Tensor, eps: torch.Tensor, schedule: EditSchedule, strength_map: torch.Tensor,
               renoise: Renoise, callback: StepCallback = None) -> torch.Tensor:
    """Solve from ``renoise(x0, eps, levels[0])`` to level 0, one ``step`` at a time; after each,
    cells with ``strength_map <= tau`` (all of them where the map is 0) are set to the input
    re-noised to the new level. ``strength_map`` broadcasts against ``x0``.
    ``callback(i, level, x)`` sees the latent after step i's blend."""
    levels, taus = schedule.levels, schedule.taus
    x = renoise(x0, eps, levels[0])
    for i in range(schedule.num_steps):
        x = step(x, levels[i:i + 2])
        x = torch.where(strength_map > taus[i + 1], x, renoise(x0, eps, levels[i + 1]))
        if callback is not None:
            callback(i, levels[i + 1], x)
    return x


__all__ = ["EditSchedule", "flow_edit_schedule", "karras_edit_schedule", "karras_ramp", "regenerate", "renoise_edm",
           "renoise_flow", "unshift"]
