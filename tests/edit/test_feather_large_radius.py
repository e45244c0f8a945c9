"""A --feather far beyond the mask's depth costs what the depth costs: the erosion loop stops
once the eroded mask stops changing (empty, or nothing kept to erode towards) and adds the
remaining steps at once. ``recolour --box 0,0,80,60 --feather 50000`` took 15 s against 0.9 s
at 2000 for the same output, one erosion per unit of radius. The loop is checked against the
plain loop of the definition (every erosion up to ``radius``)."""

from __future__ import annotations

import pytest
import torch

from video.edit import mask as mask_mod
from video.edit.mask import DEPTH_FRACTION, composite_alpha, feather


def _plain_depths(m: torch.Tensor, radius: int) -> tuple[torch.Tensor, torch.Tensor]:
    """d and r by the definition: every erosion up to ``radius``, no early stop."""
    rows = mask_mod._line_distance(m, -1)

    def eroded(k):
        return mask_mod._line_distance(rows >= k, -2) >= k

    d = m.to(torch.int32)
    for k in range(2, radius + 1):
        d += eroded(k)
    r = torch.ones_like(d)
    for j in range(2, radius + 1):
        k = DEPTH_FRACTION * j
        core = eroded(k)
        line = mask_mod._line_distance
        r += line(~(line(~core, -1) <= k - 1), -2) <= k - 1
    return d, r


def _masks() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    box = torch.zeros(2, 24, 40, dtype=torch.bool)
    box[0, 4:20, 6:30] = True
    box[1, :, 10:] = True  # touching three borders
    noise = torch.rand(2, 24, 40, generator=g) > 0.3
    full = torch.ones(2, 24, 40, dtype=torch.bool)  # nothing kept: every depth is capped at radius
    mixed = torch.stack([box[0], full[0]])  # one shallow frame, one full one
    return [box, noise, full, mixed, torch.zeros(1, 8, 8, dtype=torch.bool)]


@pytest.mark.parametrize("radius", [1, 3, 9, 60])
def test_depths_match_the_plain_loop(radius):
    for m in _masks():
        got, want = mask_mod._depths(m, radius), _plain_depths(m, radius)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def _calls(monkeypatch, fn):
    count = [0]
    real = mask_mod._line_distance

    def counted(*a):
        count[0] += 1
        return real(*a)

    monkeypatch.setattr(mask_mod, "_line_distance", counted)
    out = fn()
    monkeypatch.setattr(mask_mod, "_line_distance", real)
    return out, count[0]


@pytest.mark.parametrize("which", range(4))
def test_huge_radius_costs_what_the_depth_costs(monkeypatch, which):
    m = _masks()[which].float()
    small, n_small = _calls(monkeypatch, lambda: composite_alpha(m, 2000))
    large, n_large = _calls(monkeypatch, lambda: composite_alpha(m, 50000))
    assert torch.equal(small, large)
    assert n_large == n_small < 200  # 24x40 frames: at most ~24 erosions, not 50000


def test_feather_stops_once_eroded_away(monkeypatch):
    m = torch.zeros(1, 16, 16)
    m[0, 4:12, 4:12] = 1.0
    count = [0]
    real = mask_mod.erode

    def counted(x):
        count[0] += 1
        return real(x)

    monkeypatch.setattr(mask_mod, "erode", counted)
    out = feather(m, 50000)
    assert count[0] <= 5  # 8 pixels wide: empty after 4 erosions
    assert torch.equal(out * 50000, feather(m, 4) * 4)  # the same sum of erosions, over the radius
