"""A readable account of how a prompt is understood, for ``video prompt "..."``."""

from __future__ import annotations

from video.prompts.composable import split_and
from video.prompts.emphasis import parse_segments
from video.prompts.schedule import schedule


def _format_weights(text: str) -> str:
    parts = []
    for seg in parse_segments(text):
        parts.append("BREAK" if seg.is_break else f"{seg.text!r} x{seg.weight:.4g}")
    return " | ".join(parts)


def _step_range(first: int, last: int) -> str:
    return f"step {first}" if first == last else f"steps {first}-{last}"


def format_prompt_report(prompt: str, steps: int = 20) -> str:
    """What a prompt becomes: its ``AND`` terms, each term's text per step range, and the
    weighted runs of each text (``BREAK`` shown as its own run). A term's weight is shown
    whenever it is not 1, a lone term's too (``"a cat:1.5"`` guides at 1.5 times the scale).

    Steps are numbered from 1, as in ``[a:b:t]``."""
    terms = split_and(prompt)
    lines = [f"prompt: {prompt!r}", f"steps: {steps}"]
    if len(terms) > 1:
        lines.append(f"AND terms: {len(terms)}")
    elif terms[0][1] != 1:  # a lone term's trailing ":w" still scales the guidance (A1111), so say so
        lines.append(f"term weight: {terms[0][1]:g} (the guidance is multiplied by it)")
    for k, (text, weight) in enumerate(terms, 1):
        indent = "  " if len(terms) > 1 else ""
        if len(terms) > 1:
            lines.append(f"term {k} (weight {weight:g}): {text!r}")
        first = 1
        for end, scheduled in schedule(text, steps):
            lines.append(f"{indent}{_step_range(first, end)}: {scheduled!r}")
            lines.append(f"{indent}  weights: {_format_weights(scheduled)}")
            first = end + 1
    return "\n".join(lines)


__all__ = ["format_prompt_report"]
