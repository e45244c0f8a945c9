import math

import pytest
import torch

from video.diffusion.flow import (
    FLOW_SAMPLERS,
    check_shift,
    flow_schedule,
    interpolate,
    logit_normal_timesteps,
    shift_for_tokens,
    time_shift,
    velocity_target,
)


def test_path_and_target():
    x0, eps = torch.randn(3, 4), torch.randn(3, 4)
    t = torch.tensor([0.0, 0.5, 1.0])
    xt = interpolate(x0, eps, t)
    assert torch.allclose(xt[0], x0[0]) and torch.allclose(xt[2], eps[2])
    # The velocity is the time derivative of the path.
    h = 1e-3
    num = (interpolate(x0, eps, t + h) - interpolate(x0, eps, t - h)) / (2 * h)
    assert torch.allclose(num, velocity_target(x0, eps), atol=1e-3)


@pytest.mark.parametrize("name", list(FLOW_SAMPLERS))
@pytest.mark.parametrize("shift", [1.0, 3.0])
def test_samplers_integrate_point_mass_field_exactly(name, shift):
    """For data at one point x0 the field is v(x, t) = (x - x0) / t and the paths are straight:
    every step of Euler (and Heun) lands exactly on the path, whatever the schedule."""
    x0 = torch.randn(2, 5, dtype=torch.float64)
    x1 = torch.randn(2, 5, dtype=torch.float64)
    ts = flow_schedule(7, shift=shift, dtype=torch.float64)
    out = FLOW_SAMPLERS[name](lambda x, t, _step: (x - x0) / t, x1, ts)
    assert torch.allclose(out, x0, atol=1e-12)


def test_heun_beats_euler_on_gaussian_data():
    """Data N(0, s^2): v(x, t) = x (t - (1 - t) s^2) / ((1 - t)^2 s^2 + t^2), exact
    x(0) = x(1) * s (the flow maps N(0,1) to N(0,s^2) linearly)."""
    s = 0.3

    def v(x, t, _step):
        return x * (t - (1 - t) * s * s) / ((1 - t) ** 2 * s * s + t * t)

    x1 = torch.randn(100, dtype=torch.float64)
    ts = flow_schedule(10, dtype=torch.float64)
    err = {n: (f(v, x1, ts) - x1 * s).abs().max().item() for n, f in FLOW_SAMPLERS.items()}
    assert err["heun"] < err["euler"] / 3


def test_time_shift_and_token_rule():
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    assert torch.allclose(time_shift(t, 1.0), t)
    s = time_shift(t, 3.0)
    assert s[0] == 0 and s[-1] == 1 and torch.all(s >= t)
    assert shift_for_tokens(4096) == 1.0
    assert shift_for_tokens(4 * 4096) == pytest.approx(2.0)
    assert shift_for_tokens(32760) == pytest.approx(math.sqrt(32760 / 4096))
    assert shift_for_tokens(10**9) == 12.0 and shift_for_tokens(16) == 1.0


def test_logit_normal_median_and_range():
    t = logit_normal_timesteps(20000, generator=torch.Generator().manual_seed(0))
    assert 0 < t.min() and t.max() < 1
    assert abs(t.median().item() - 0.5) < 0.02
    t2 = logit_normal_timesteps(20000, mean=1.0, generator=torch.Generator().manual_seed(0))
    assert abs(t2.median().item() - 1 / (1 + math.exp(-1))) < 0.02



def test_flow_loss_zero_for_exact_velocity():
    from video.diffusion.flow import flow_loss

    x0, n = torch.randn(3, 2, 4), torch.randn(3, 2, 4)
    t = torch.tensor([0.1, 0.5, 0.9])
    assert torch.allclose(flow_loss(lambda x, t: n - x0, x0, t, n), torch.zeros(3))
    assert torch.allclose(flow_loss(lambda x, t: n - x0 + 2.0, x0, t, n), torch.full((3,), 4.0))


def test_shift_rule_is_where_the_schedule_is_a_schedule():
    """For shift > 0 the shifted grid runs from 1 down to 0, strictly decreasing; at 0 it
    collapses, below 0 it passes through a pole: refused in one line, as are NaN and inf."""
    t = torch.linspace(1.0, 0.0, 9, dtype=torch.float64)
    for shift in (0.1, 1.0, 3.0, 12.0):
        check_shift(shift)
        ts = flow_schedule(8, shift, dtype=torch.float64)
        assert ts[0] == pytest.approx(1.0) and ts[-1] == 0 and bool((ts[1:] < ts[:-1]).all())
    for shift in (0.0, -0.5, -1.0, -3.0):
        s = time_shift(t, shift)
        assert not (bool(torch.isfinite(s).all()) and bool((s[1:] < s[:-1]).all()) and bool(((s >= 0) & (s <= 1)).all()))
    for shift in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="shift must be a finite number > 0"):
            flow_schedule(4, shift)
