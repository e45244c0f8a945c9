"""Classifier-free guidance as a wrapper around a two-branch prediction (sgm ``guiders.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class FramewiseLinearCFG:
    """SVD's guidance: the scale grows linearly from ``min_scale`` on the first frame to
    ``max_scale`` on the last (sgm ``LinearPredictionGuider``), because the first frame is
    pinned by the conditioning image and needs little push while later frames drift.

    ``enabled``: whether the unconditional branch is computed, i.e. whether some frame's scale
    is above 1 (diffusers' per-frame rule, ``guidance_scale.max() > 1``). The scale ramp may
    fall (``min_scale > max_scale``, as sgm's guider allows): (3, 1) guides frame 0 at 3, so
    it is enabled; deciding on ``max_scale`` alone ran it unguided. With every scale <= 1 the
    branch is skipped and each frame gets the conditional prediction, as diffusers does (the
    parity tests' no-guidance case). ``num_frames`` (None: unknown, so at least two): one frame
    takes ``min_scale`` alone, so (1, 2.5) on one frame is no guidance, and the unconditional
    branch it ran only to be weighted by 0 is skipped.
    """

    min_scale: float
    max_scale: float
    num_frames: int | None = None

    @property
    def enabled(self) -> bool:
        if self.num_frames == 1:  # linspace(min, max, 1) is [min]
            return self.min_scale > 1.0
        return max(self.min_scale, self.max_scale) > 1.0

    def scales(self, num_frames: int, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
        """Per-frame scales, shape (F,)."""
        return torch.linspace(self.min_scale, self.max_scale, num_frames, dtype=dtype, device=device)

    def combine(self, uncond: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """uncond + s_f (cond - uncond) for tensors shaped (B, F, ...)."""
        s = self.scales(cond.shape[1], dtype=cond.dtype, device=cond.device)
        s = s.view(1, -1, *([1] * (cond.ndim - 2)))
        return uncond + s * (cond - uncond)


def composable_cfg(
    uncond: torch.Tensor, conds: Sequence[torch.Tensor], weights: Sequence[float], scale: float
) -> torch.Tensor:
    """Guidance with composable terms (Liu et al. 2022, the prompt language's ``AND``):
    ``uncond + scale * sum_i w_i (cond_i - uncond)``. One term of weight 1 is plain CFG; it
    applies to any prediction that is linear in the model output (velocity, v, denoised)."""
    if len(conds) != len(weights) or not conds:
        raise ValueError("need one weight per conditional prediction, and at least one")
    return uncond + scale * sum(w * (c - uncond) for c, w in zip(conds, weights, strict=True))


def needs_uncond(weights: Sequence[float], scale: float) -> bool:
    """Whether :func:`composable_cfg` needs the unconditional prediction: always, except for one
    term whose effective weight ``scale * w`` is exactly 1, where ``uncond + 1 (cond - uncond)``
    is the conditional prediction itself and its forward can be skipped. Deciding on ``scale``
    alone would drop a lone term's weight (``a cat:0.5`` at scale 1 must give
    ``uncond + 0.5 (cond - uncond)``, not ``cond``)."""
    return len(weights) != 1 or scale * weights[0] != 1.0


def needs_conds(weights: Sequence[float], scale: float) -> bool:
    """Whether :func:`composable_cfg` needs the conditional predictions: not when every term's
    effective weight ``scale * w`` is 0 (``--guidance 0``: the negative prompt alone), where
    ``uncond + 0 (cond - uncond)`` is the unconditional prediction itself and the batch of the
    forward halves."""
    return any(scale * w != 0.0 for w in weights)


def guided_batch(weights: Sequence[float], scale: float) -> int:
    """The batch of the forward that guidance needs per step: the unconditional item
    (:func:`needs_uncond`) and one per term (:func:`needs_conds`). Known from the prompt's
    ``AND`` weights before anything is encoded, so a memory check can count it first."""
    return int(needs_uncond(weights, scale)) + (len(weights) if needs_conds(weights, scale) else 0)
