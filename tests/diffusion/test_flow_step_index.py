"""The flow samplers tell the velocity which sampler step each evaluation belongs to: the
index that picks the prompt schedule's conditioning. Heun's corrector runs at ts[i + 1] but
belongs to step i; looking the step up from the time gave it step i + 1, and at large shifts
float32 times of different steps coincide."""

from __future__ import annotations

import pytest
import torch

from video.diffusion.flow import FLOW_SAMPLERS, flow_schedule, sample_flow_euler, sample_flow_heun


def recorded_steps(sampler, ts: torch.Tensor, **kw) -> list[int]:
    """The step index of every velocity evaluation the real sampler makes, in order."""
    seen: list[int] = []

    def velocity(x: torch.Tensor, t: torch.Tensor, step: int) -> torch.Tensor:
        seen.append(step)
        return -x  # any field: the indices must not depend on it

    sampler(velocity, torch.ones(2, 3), ts, **kw)
    return seen


@pytest.mark.parametrize("n", [1, 2, 6])
def test_euler_evaluates_step_i_once_as_step_i(n):
    assert recorded_steps(sample_flow_euler, flow_schedule(n, 3.0)) == list(range(n))


@pytest.mark.parametrize("n", [1, 2, 6])
def test_heun_gives_both_evaluations_of_a_step_its_index(n):
    """Two evaluations per step, one on the last (its Euler step to t = 0)."""
    expected = [i for i in range(n - 1) for _ in range(2)] + [n - 1]
    assert recorded_steps(sample_flow_heun, flow_schedule(n, 3.0)) == expected
    if n == 6:
        assert expected == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5]


@pytest.mark.parametrize("name", list(FLOW_SAMPLERS))
def test_huge_shift_keeps_the_indices_though_times_coincide(name):
    """flow_schedule(30, 1e6) in float32 has fewer distinct times than steps (the first ones
    all round to 1.0); the indices do not come from the times, so every step still has its own."""
    ts = flow_schedule(30, 1e6)
    assert len(set(ts.tolist())) < 31  # the premise: times of different steps coincide
    steps = recorded_steps(FLOW_SAMPLERS[name], ts)
    assert sorted(set(steps)) == list(range(30))
    assert steps == sorted(steps)  # in order, each step's evaluations together


@pytest.mark.parametrize("name", list(FLOW_SAMPLERS))
def test_first_step_offsets_a_slice_of_a_longer_schedule(name):
    """Solving ts one step at a time with first_step=i evaluates exactly as solving it whole."""
    ts = flow_schedule(5, 3.0)
    whole = recorded_steps(FLOW_SAMPLERS[name], ts)
    sliced = [s for i in range(5) for s in recorded_steps(FLOW_SAMPLERS[name], ts[i:i + 2], first_step=i)]
    assert sliced == whole
