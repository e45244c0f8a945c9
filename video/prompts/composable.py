"""Composable diffusion: ``a AND b:0.5`` (Liu et al. 2022, as in the AUTOMATIC1111 web UI).

Each ``AND`` term is encoded on its own; the sampler predicts noise once per term and sums the
guidance: ``uncond + scale * sum_i w_i * (cond_i - uncond)`` (:func:`composable_cfg`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

import torch

_AND = re.compile(r"\bAND\b")
# A term's weight is a trailing ``:number`` (A1111's ``get_multicond_prompt_list``): the text
# is everything before it, trailing spaces dropped, leading spaces kept.
_TERM = re.compile(r"(.*?)(?:\s*:\s*([-+]?(?:\d+\.?\d*|\.\d+)))?\s*\Z", re.S)


def split_and(prompt: str) -> list[tuple[str, float]]:
    """``(text, weight)`` per ``AND`` term; a term without ``:w`` weighs 1.

    ``AND`` must be a whole upper-case word. Identical terms are not merged (the encoder's
    cache encodes them once).

    >>> split_and("a cat AND a dog:0.5")
    [('a cat', 1.0), (' a dog', 0.5)]
    """
    terms = []
    for part in _AND.split(prompt):
        m = _TERM.match(part)
        text, weight = m.group(1), m.group(2)
        terms.append((text, float(weight) if weight is not None else 1.0))
    if len(terms) == 1 and m.group(2) is not None:
        _warn_lone_weight(prompt, m.end(1), terms[0][1])
    return terms


def _warn_lone_weight(prompt: str, end: int, weight: float) -> None:
    """A prompt without ``AND`` whose end (from ``end``) reads as a weight: A1111's rule, kept,
    but easy to hit unawares (``"a cinematic shot, 16:9"`` guides at 9 times the scale, and the
    text loses its ``:9``; ``"square 1:1"`` keeps the guidance but loses its ``:1``). Neither a
    backslash nor spaces escape it (the regex allows spaces around the colon, and a backslash
    stays in the text); only something after the number does."""
    words = prompt[:end].split()
    start = prompt.rfind(words[-1], 0, end) if words else end
    what = f"a weight x{weight:g} of the guidance (A1111's AND syntax)"
    if weight == 1.0:  # "read as the guidance is unchanged" did not parse: name the weight, then what it does
        what = "a weight x1 (A1111's AND syntax): the guidance is unchanged, but the text loses it"
    warnings.warn(f"prompt ends in {prompt[end:].strip()!r}, read as {what}; if that is "
                  f"not meant, put something after the number (e.g. '{prompt[start:].strip()},'): no escape keeps "
                  f"it as text", stacklevel=3)


def composable_cfg(
    uncond: torch.Tensor, conds: Sequence[torch.Tensor], weights: Sequence[float], scale: float
) -> torch.Tensor:
    """Guided prediction from one unconditional and several conditional predictions:
    ``uncond + scale * sum_i weights[i] * (conds[i] - uncond)``.

    With one term of weight 1 this is ordinary classifier-free guidance."""
    if len(conds) != len(weights) or not conds:
        raise ValueError("need one weight per conditional prediction, and at least one")
    guidance = sum(w * (c - uncond) for c, w in zip(conds, weights, strict=True))
    return uncond + scale * guidance


__all__ = ["split_and", "composable_cfg"]
