"""The emphasis pass: ``(x)``, ``[x]``, ``(x:w)``, escapes and ``BREAK``.

The semantics follow the AUTOMATIC1111 web UI's ``parse_prompt_attention`` so that prompts
written for it weigh the same here:

* each kind of bracket has its own stack, so ``([x)]`` closes ``(`` at ``)`` and ``[`` at ``]``;
* an opener that is never closed still applies its multiplier to everything after it;
* a closer with nothing open is literal text;
* ``(x:w)`` replaces the ×1.1 of ``)`` with ×w; ``w`` is the text between ``:`` and ``)``
  (spaces allowed around it) when it reads as a plain decimal number;
* ``\\(`` ``\\)`` ``\\[`` ``\\]`` ``\\\\`` are literal; any other backslash is dropped;
* braces ``{}`` are plain text, as in A1111 (NovelAI reads ``{x}`` as x1.05, ComfyUI's
  front end ``{a|b}`` as a random choice: neither is A1111's language, and either would change
  a prompt that works there);
* the word ``BREAK`` (a whole word, its surrounding spaces swallowed) becomes its own item.

Deliberate differences from A1111 (each one removes a crash or an accident, none changes a
prompt that works there):

* A weight that is not a number (``(x:1.2.3)``) makes A1111 raise; here the ``:`` and the
  text stay literal and ``)`` closes with ×1.1.
* ``BREAK`` is never multiplied by the brackets around it (A1111 turns ``(a BREAK b)`` into a
  ``BREAK`` item of weight -1.1, which its chunker then no longer recognises), and never merges
  with a neighbour.
* Empty text items are dropped (A1111 keeps ``['', 1.0]`` around a lone ``BREAK``); a prompt
  with no text at all still gives ``[("", 1.0)]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROUND_MULTIPLIER = 1.1
SQUARE_MULTIPLIER = 1 / 1.1  # multiplied, not divided, so results match A1111 to the last bit

_OPENERS = {"(": ROUND_MULTIPLIER, "[": SQUARE_MULTIPLIER}
_CLOSERS = {")": "(", "]": "["}
_ESCAPABLE = frozenset("()[]\\")
_SPECIAL = frozenset("()[]\\:")
# ``:`` + number + ``)``: the explicit-weight closer. The number is A1111's loose ``[.\d]+``;
# whether it really is a number is checked with float() afterwards.
_WEIGHT_CLOSE = re.compile(r":\s*([+-]?[.\d]+)\s*\)")
_BREAK = re.compile(r"\s*\bBREAK\b\s*")

BREAK_WEIGHT = -1.0


@dataclass
class Segment:
    """A run of prompt text and its weight; ``is_break`` marks a ``BREAK`` (its text is "BREAK").

    The encoder uses this rather than the ``("BREAK", -1)`` tuples of :func:`parse_weights`
    because a flag cannot be forged by text such as ``(BREAK:-1)``.
    """

    text: str
    weight: float
    is_break: bool = False


def _split_breaks(text: str) -> list[Segment]:
    """A plain-text run, cut at each ``BREAK`` word into text / break / text ..."""
    parts = _BREAK.split(text)
    out = [Segment(parts[0], 1.0)]
    for part in parts[1:]:
        out.append(Segment("BREAK", BREAK_WEIGHT, is_break=True))
        out.append(Segment(part, 1.0))
    return out


def _multiply_from(segments: list[Segment], start: int, factor: float) -> None:
    """Apply a bracket's factor to everything since it opened (breaks excepted)."""
    for seg in segments[start:]:
        if not seg.is_break:
            seg.weight *= factor


def _merge(segments: list[Segment]) -> list[Segment]:
    """Drop empty text, then join neighbours of exactly equal weight (A1111 compares with ==)."""
    out: list[Segment] = []
    for seg in segments:
        if not seg.is_break and seg.text == "":
            continue
        prev = out[-1] if out else None
        if prev is not None and not prev.is_break and not seg.is_break and prev.weight == seg.weight:
            prev.text += seg.text
        else:
            out.append(Segment(seg.text, seg.weight, seg.is_break))
    return out or [Segment("", 1.0)]


def parse_segments(text: str) -> list[Segment]:
    """The emphasis pass as :class:`Segment` objects; see the module docstring for the rules.

    Multipliers are applied in the order A1111 applies them (innermost bracket first as it
    closes; at the end the unclosed ``(`` outermost first, then ``[``), because
    floating-point products depend on order and runs are merged only on exact equality.
    """
    segments: list[Segment] = []
    stacks: dict[str, list[int]] = {"(": [], "[": []}
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 < n and text[i + 1] in _ESCAPABLE:
                segments.append(Segment(text[i + 1], 1.0))
                i += 2
            else:
                i += 1  # a lone backslash escapes nothing and is dropped, as in A1111
            continue
        if c in _OPENERS:
            stacks[c].append(len(segments))
            i += 1
            continue
        if c == ":":
            m = _WEIGHT_CLOSE.match(text, i)
            weight = _as_float(m.group(1)) if m else None
            if weight is not None and stacks["("]:
                _multiply_from(segments, stacks["("].pop(), weight)
                i = m.end()
            else:
                segments.append(Segment(":", 1.0))
                i += 1
            continue
        if c in _CLOSERS:
            stack = stacks[_CLOSERS[c]]
            if stack:
                _multiply_from(segments, stack.pop(), _OPENERS[_CLOSERS[c]])
            else:
                segments.append(Segment(c, 1.0))
            i += 1
            continue
        j = i + 1
        while j < n and text[j] not in _SPECIAL:
            j += 1
        segments.extend(_split_breaks(text[i:j]))
        i = j
    for opener in ("(", "["):
        for start in stacks[opener]:
            _multiply_from(segments, start, _OPENERS[opener])
    return _merge(segments)


def _as_float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def parse_weights(text: str) -> list[tuple[str, float]]:
    """``(text, weight)`` runs of a prompt; a ``BREAK`` is the item ``("BREAK", -1.0)``.

    >>> parse_weights("an (important) word")
    [('an ', 1.0), ('important', 1.1), (' word', 1.0)]
    >>> parse_weights("a BREAK b")
    [('a', 1.0), ('BREAK', -1.0), ('b', 1.0)]
    """
    return [(s.text, s.weight) for s in parse_segments(text)]


__all__ = ["Segment", "parse_segments", "parse_weights", "BREAK_WEIGHT"]
