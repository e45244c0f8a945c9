"""Samplers against the closed-form ODE of Gaussian data.

For data x0 ~ N(0, s^2) the ideal denoiser is D(x; sigma) = x s^2 / (s^2 + sigma^2) and the
probability-flow ODE has the exact solution x(sigma) = x_T sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma_T^2).
"""

import math

import pytest
import torch

from video.diffusion.edm import karras_sigmas
from video.diffusion.samplers import network_evaluations, sample

S = 0.5


def gaussian_denoiser(calls):
    def d(x, sigma):
        calls.append(float(sigma))
        return x * S**2 / (S**2 + sigma**2)

    return d


def exact(x_t, sigma_t):
    return x_t * S / math.sqrt(S**2 + sigma_t**2)


def error(name, steps):
    sig = karras_sigmas(steps, 0.002, 80.0, dtype=torch.float64)
    x_t = torch.randn(64, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * math.sqrt(S**2 + 80.0**2)
    calls = []
    out = sample(name, gaussian_denoiser(calls), x_t, sig)
    assert len(calls) == network_evaluations(name, steps)
    return ((out - exact(x_t, 80.0)).abs().max() / exact(x_t, 80.0).abs().max()).item()


@pytest.mark.parametrize("name,tol", [("euler", 4e-2), ("heun", 3e-3), ("dpmpp_2m", 3e-3)])
def test_converges_to_exact_solution(name, tol):
    assert error(name, 100) < tol


def test_orders():
    e_euler = [error("euler", n) for n in (10, 20, 40)]
    e_heun = [error("heun", n) for n in (10, 20, 40)]
    e_dpm = [error("dpmpp_2m", n) for n in (10, 20, 40)]
    # Euler is first order: doubling the steps about halves the error.
    assert 1.5 < e_euler[1] / e_euler[2] < 3.0
    # The second-order solvers beat Euler at every budget and shrink faster.
    for a, b, c in zip(e_euler, e_heun, e_dpm, strict=True):
        assert b < a and c < a
    assert e_heun[1] / e_heun[2] > 3.0 and e_dpm[1] / e_dpm[2] > 3.0


def test_unknown_sampler():
    with pytest.raises(ValueError, match="unknown sampler"):
        sample("ddim", lambda x, s: x, torch.zeros(1), karras_sigmas(2))
