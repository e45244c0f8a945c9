"""Rectified flow (Liu et al. 2022; Esser et al. 2024 "SD3"), the objective of our DiT and
of Wan 2.1, as pure functions shared by the sampler, the trainer and the tests.

Convention (SD3, Wan): x_t = (1 - t) x_0 + t eps with t in [0, 1], t = 1 pure noise, and the
network predicts the velocity v = dx_t/dt = eps - x_0. Sampling integrates dx/dt = v from
t = 1 down to t = 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

# v(x, t, step): the velocity at x and time t during sampler step ``step``, the index in the
# sampler's ``ts`` of the step's start time (plus ``first_step``). Every evaluation of one step
# gets the same index, Heun's corrector at ts[i + 1] included: the index is what picks the
# prompt schedule's conditioning, and recovering it from t cannot work (Heun's corrector runs
# at the next step's time, and at large shifts float32 times of different steps coincide).
Velocity = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


def interpolate(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - t) x0 + t noise, with t broadcast over the batch dimension."""
    t = t.view(-1, *([1] * (x0.ndim - 1)))
    return (1 - t) * x0 + t * noise


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The training target v = noise - x0 (the constant speed of the straight path)."""
    return noise - x0


def logit_normal_timesteps(n: int, mean: float = 0.0, std: float = 1.0, generator=None, device=None) -> torch.Tensor:
    """t = sigmoid(u), u ~ N(mean, std): SD3 §3.1's density, which spends training on the
    middle of the path where the velocity is hardest to predict."""
    u = torch.randn(n, generator=generator, device=device) * std + mean
    return torch.sigmoid(u)


def check_shift(shift: float) -> None:
    """Refuse a shift outside (0, inf): only there is ``time_shift`` an increasing map of [0, 1]
    onto itself. At 0 every time is 0 (no denoising at all); below 0 the denominator
    1 + (shift - 1) t vanishes inside (0, 1), so the schedule passes through +-inf and the
    sampler returns NaN (an all-black video); NaN or inf propagates the same way."""
    try:
        ok = math.isfinite(float(shift)) and float(shift) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"shift must be a finite number > 0 (1: no shift; above 1: more steps at high noise), "
                         f"got {shift}")


def time_shift(t: torch.Tensor, shift: float) -> torch.Tensor:
    """t' = shift t / (1 + (shift - 1) t) (SD3 eq. 23): shift > 1 keeps more steps at high noise.
    Valid for shift > 0 (:func:`check_shift`)."""
    return shift * t / (1 + (shift - 1) * t)


def shift_for_tokens(num_tokens: int, base_tokens: int = 4096, base_shift: float = 1.0,
                     max_shift: float = 12.0) -> float:
    """The resolution- and length-dependent shift.

    SD3 §5.3.2 argues that with n tokens the noise level that destroys as much signal as
    level t at m tokens is shifted by alpha = sqrt(n / m); Open-Sora 1.2 applies the same
    sqrt ratio to frames times pixels. ``base_tokens`` is the size at which the shift is
    ``base_shift`` (4096 tokens: a 1024x1024 image in an 8x latent with 2x2 patches).
    """
    return float(min(max_shift, max(1.0, base_shift * math.sqrt(num_tokens / base_tokens))))


def flow_schedule(num_steps: int, shift: float = 1.0, device=None, dtype=torch.float32) -> torch.Tensor:
    """num_steps + 1 times from 1 to 0, evenly spaced then shifted (``shift`` > 0: :func:`check_shift`)."""
    check_shift(shift)
    t = torch.linspace(1.0, 0.0, num_steps + 1, dtype=torch.float64)
    return time_shift(t, shift).to(device=device, dtype=dtype)


def sample_flow_euler(velocity: Velocity, x: torch.Tensor, ts: torch.Tensor, callback=None,
                      first_step: int = 0) -> torch.Tensor:
    """x_{t'} = x_t + (t' - t) v(x_t, t, i): one evaluation per step, told its step ``i``
    (``first_step + i`` for a caller that solves a longer schedule a slice at a time)."""
    for i in range(len(ts) - 1):
        v = velocity(x, ts[i], first_step + i)
        x = x + (ts[i + 1] - ts[i]) * v
        if callback is not None:
            callback(i, x)
    return x


def sample_flow_heun(velocity: Velocity, x: torch.Tensor, ts: torch.Tensor, callback=None,
                     first_step: int = 0) -> torch.Tensor:
    """Heun's second-order method on the flow ODE; the last step (to t = 0) is Euler since the
    velocity is not evaluated at pure data. Both evaluations of step ``i`` are told step ``i``
    (``first_step + i``): the corrector runs at the next step's time but belongs to this step,
    so it sees this step's prompt and ``[a:b:3]`` / ``[a|b]`` change on step boundaries only."""
    for i in range(len(ts) - 1):
        step = first_step + i
        dt = ts[i + 1] - ts[i]
        v = velocity(x, ts[i], step)
        if ts[i + 1] == 0:
            x = x + dt * v
        else:
            x_pred = x + dt * v
            x = x + dt * 0.5 * (v + velocity(x_pred, ts[i + 1], step))
        if callback is not None:
            callback(i, x)
    return x


FLOW_SAMPLERS = {"euler": sample_flow_euler, "heun": sample_flow_heun}



def flow_loss(network, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, **cond) -> torch.Tensor:
    """Per-sample rectified-flow loss |v(x_t, t) - (noise - x0)|^2 (SD3 eq. 6 with the
    velocity target), averaged over all but the batch dimension."""
    v = network(interpolate(x0, noise, t), t, **cond)
    return ((v - velocity_target(x0, noise)) ** 2).flatten(1).mean(1)
