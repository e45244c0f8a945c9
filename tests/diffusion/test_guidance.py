import pytest
import torch

from video.diffusion.guidance import FramewiseLinearCFG, composable_cfg


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
