"""Strength-truncated schedules and re-noising against hand-computed values."""

import pytest
import torch

from video.diffusion.edm import karras_sigmas
from video.diffusion.flow import flow_schedule, time_shift
from video.diffusion.strength import (
    check_strength,
    flow_edit_schedule,
    flow_skip_schedule,
    karras_edit_schedule,
    karras_ramp,
    karras_start,
    renoise_edm,
    renoise_flow,
    unshift,
)


def test_flow_unshifted_is_linear_from_strength():
    s = flow_edit_schedule(0.5, 4, shift=1.0)
    assert s.levels.tolist() == pytest.approx([0.5, 0.375, 0.25, 0.125, 0.0])
    assert s.taus.tolist() == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert s.num_steps == 4


def test_flow_shifted_by_hand():
    # shift 3, strength 0.6: u0 = 0.6 / (3 - 2 * 0.6) = 1/3; the midpoint u = 1/6 shifts to
    # 3 (1/6) / (1 + 2 (1/6)) = 0.375.
    s = flow_edit_schedule(0.6, 2, shift=3.0)
    assert s.levels.tolist() == pytest.approx([0.6, 0.375, 0.0])
    assert s.taus.tolist() == pytest.approx([1.0, 0.625, 0.0])
    # strength 1 is the generation grid itself
    assert torch.allclose(flow_edit_schedule(1.0, 7, 5.0).levels, flow_schedule(7, 5.0))


def test_unshift_inverts_time_shift():
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    for shift in (1.0, 3.0, 7.5):
        assert torch.allclose(unshift(time_shift(t, shift), shift), t)
        assert torch.allclose(time_shift(unshift(t, shift), shift), t)
    assert unshift(torch.tensor(0.75, dtype=torch.float64), 3.0).item() == pytest.approx(0.5)  # 1.5 / 2 = 0.75


def test_karras_rho_1_is_linear():
    # rho = 1: sigma(s) = sigma_min + s (sigma_max - sigma_min) = 1 + 0.5 * 8 = 5
    s = karras_edit_schedule(0.5, 2, sigma_min=1.0, sigma_max=9.0, rho=1.0)
    assert s.levels.tolist() == pytest.approx([5.0, 1.0, 0.0])
    assert s.taus.tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_karras_rho_2_by_hand():
    # rho = 2, sigma in [1, 9]: sqrt ramp from 1 to 3; strength 0.5 starts at 2^2 = 4 and three
    # steps walk sqrt(sigma) 2, 1.5, 1, i.e. sigma 4, 2.25, 1, then 0. tau = ramp / 0.5.
    s = karras_edit_schedule(0.5, 3, sigma_min=1.0, sigma_max=9.0, rho=2.0)
    assert s.levels.tolist() == pytest.approx([4.0, 2.25, 1.0, 0.0])
    assert s.taus.tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0])
    assert karras_start(0.5, 1.0, 9.0, 2.0) == pytest.approx(4.0)


def test_karras_ends_and_full_strength():
    assert karras_start(1.0, 0.002, 700.0) == pytest.approx(700.0)
    assert karras_start(0.0, 0.002, 700.0) == pytest.approx(0.002)
    ramp = karras_ramp(torch.tensor([0.0, 0.002, 700.0, 1e4]), 0.002, 700.0)
    assert ramp.tolist() == pytest.approx([0.0, 0.0, 1.0, 1.0], abs=1e-7)
    assert torch.allclose(karras_edit_schedule(1.0, 6, 0.002, 700.0).levels, karras_sigmas(6, 0.002, 700.0))
    # ramp and start are inverses inside the range
    for st in (0.1, 0.37, 0.9):
        sig = torch.tensor(karras_start(st, 0.002, 700.0), dtype=torch.float64)
        assert karras_ramp(sig, 0.002, 700.0).item() == pytest.approx(st)


def test_skip_schedule_is_the_img2img_rule():
    # 10 steps at strength 0.25 run int(2.5) = 2 steps: the last two of the grid
    assert flow_skip_schedule(10, 0.25).tolist() == pytest.approx([0.2, 0.1, 0.0])
    assert torch.equal(flow_skip_schedule(8, 1.0, 3.0), flow_schedule(8, 3.0))
    with pytest.raises(ValueError, match="runs no step"):
        flow_skip_schedule(10, 0.05)


def test_renoise_closed_form():
    x0, eps = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    assert torch.equal(renoise_flow(x0, eps, torch.tensor(0.0)), x0)
    assert torch.allclose(renoise_flow(x0, eps, torch.tensor(1.0)), eps)
    assert torch.allclose(renoise_flow(x0, eps, torch.tensor(0.25)), 0.75 * x0 + 0.25 * eps)
    assert torch.equal(renoise_edm(x0, eps, torch.tensor(0.0)), x0)
    assert torch.allclose(renoise_edm(x0, eps, torch.tensor(2.5)), x0 + 2.5 * eps)


@pytest.mark.parametrize("strength,steps", [(0.0, 4), (1.5, 4), (-0.1, 4), (0.5, 0)])
def test_invalid_strength_or_steps(strength, steps):
    with pytest.raises(ValueError):
        check_strength(strength, steps)
    with pytest.raises(ValueError):
        flow_edit_schedule(strength, steps)
    with pytest.raises(ValueError):
        karras_edit_schedule(strength, steps, 0.002, 700.0)


@pytest.mark.parametrize("shift", [-1.0, 0.0, float("nan"), float("inf")])
def test_flow_edit_schedule_refuses_a_shift_outside_0_inf(shift):
    """At -1 the grid was [0.5, nan, ...] (a black video), at 0 every level after the first 0."""
    with pytest.raises(ValueError, match="shift"):
        flow_edit_schedule(0.5, 4, shift)
