import pytest
import torch

from video.diffusion.guidance import FramewiseLinearCFG, composable_cfg, needs_uncond


def test_framewise_scales_and_combine():
    g = FramewiseLinearCFG(1.0, 3.0)
    assert g.enabled
    assert torch.allclose(g.scales(5), torch.tensor([1.0, 1.5, 2.0, 2.5, 3.0]))
    u, c = torch.zeros(1, 5, 2, 3, 3), torch.ones(1, 5, 2, 3, 3)
    out = g.combine(u, c)
    assert torch.allclose(out[0, :, 0, 0, 0], g.scales(5))


def test_disabled_at_or_below_one():
    assert not FramewiseLinearCFG(1.0, 1.0).enabled
    assert not FramewiseLinearCFG(0.5, 0.9).enabled


def test_composable_terms():
    u, a, b = torch.zeros(3), torch.ones(3), torch.full((3,), 2.0)
    assert torch.allclose(composable_cfg(u, [a], [1.0], 5.0), torch.full((3,), 5.0))  # plain CFG
    assert torch.allclose(composable_cfg(u, [a, b], [1.0, 0.5], 2.0), torch.full((3,), 4.0))
    with pytest.raises(ValueError):
        composable_cfg(u, [a], [1.0, 2.0], 1.0)


def test_a_falling_ramp_is_guided():
    """(3, 1) asks for 3 on frame 0: guided (it ran unguided when only max_scale was read)."""
    g = FramewiseLinearCFG(3.0, 1.0)
    assert g.enabled
    assert torch.allclose(g.scales(3), torch.tensor([3.0, 2.0, 1.0]))
    assert FramewiseLinearCFG(1.5, 0.5).enabled and FramewiseLinearCFG(2.0, 3.0).enabled


def test_the_unconditional_pass_is_skipped_only_when_it_cancels():
    """One term with scale * w == 1 is the conditional prediction itself; anything else
    (a weighted lone term at scale 1 included) needs the unconditional one."""
    u, c = torch.zeros(3), torch.ones(3)
    for weights, scale in (([1.0], 1.0), ([0.5], 2.0)):
        assert not needs_uncond(weights, scale)
        assert torch.allclose(composable_cfg(u, [c], weights, scale), c)  # why skipping is exact
    for weights, scale in (([0.5], 1.0), ([1.0], 0.5), ([1.0], 3.0), ([1.0, 1.0], 1.0), ([0.5, 0.5], 1.0)):
        assert needs_uncond(weights, scale), (weights, scale)
    assert torch.allclose(composable_cfg(u, [c], [0.5], 1.0), torch.full((3,), 0.5))
