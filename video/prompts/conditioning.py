"""What the prompt encoder hands the sampler: one entry per sampling step."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class StepConditioning:
    """The text conditioning of one sampling step.

    ``conds``: one ``(hidden_states, weight)`` per ``AND`` term, hidden states shaped
    ``(1, L, C)``; predict once per term and combine with
    :func:`video.prompts.composable.composable_cfg`. ``uncond``: the negative prompt's
    hidden states, same shape. All tensors of one encode call share ``L``."""

    conds: tuple[tuple[torch.Tensor, float], ...]
    uncond: torch.Tensor

    @property
    def cond_batch(self) -> torch.Tensor:
        """The terms stacked on the batch axis, ``(n_terms, L, C)``."""
        return torch.cat([c for c, _ in self.conds], dim=0)

    @property
    def weights(self) -> list[float]:
        return [w for _, w in self.conds]


@dataclass(frozen=True)
class PromptConditioning:
    """Per-step conditioning for ``len(self)`` steps: ``cond[i]`` is sampling step ``i``
    (0-based), which is step ``i + 1`` in the prompt's ``[a:b:t]`` numbering.

    Steps that use the same text share one tensor object.

    A1111 looks its schedule up with the 0-based sampler step (``step <= end``), so there
    ``[a:b:3]`` renders ``a`` for 4 sampler steps and ``[a|b]`` starts ``a, a, b, a``; here
    ``[a:b:3]`` is exactly 3 steps of ``a`` and alternation changes on every step."""

    steps: tuple[StepConditioning, ...]

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> StepConditioning:
        return self.steps[i]


__all__ = ["StepConditioning", "PromptConditioning"]
