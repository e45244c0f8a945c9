"""The EMA warms up (decay_n = min(decay, (1 + n) / (10 + n))), so a short stage exports its own
average rather than mostly the weights it started from."""

import pytest
import torch

from video.training.state import EMA


def test_a_short_stage_exports_its_own_average():
    start, trained = {"w": torch.ones(3)}, {"w": torch.zeros(3)}
    ema = EMA(start, decay=0.999)
    for _ in range(100):  # stage 3: 100 steps; the weights moved from 1 to 0 at once
        ema.update(trained)
    assert ema.updates == 100
    assert ema.shadow["w"].max() < 1e-3  # without warm-up: 0.999 ** 100 = 0.90 of the old weights


def test_the_decay_follows_the_warm_up_then_the_cap():
    ema = EMA({"w": torch.zeros(1)}, decay=0.9)
    seen = []
    for _ in range(100):
        seen.append(ema.current_decay())
        ema.update({"w": torch.zeros(1)})
    assert seen[:3] == pytest.approx([0.1, 2 / 11, 3 / 12])
    assert seen[-1] == 0.9 and max(seen) == 0.9
