"""Prompt editing: ``[a:b:t]``, ``[x:t]``, ``[x::t]`` and alternation ``[a|b|c]``.

A small recursive-descent parser for the grammar of the AUTOMATIC1111 web UI's
``get_learned_conditioning_prompt_schedules`` (a lark grammar there)::

    top        := (item | one of "[]():" taken literally)*
    prompt     := item*                      -- stops at "[]():" (and "|" inside alternation)
    item       := emphasized | scheduled | alternate | plain
    emphasized := "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"
    scheduled  := "[" [prompt ":"] prompt ":" ws? NUMBER ws? "]"
    alternate  := "[" prompt ("|" prompt)+ "]"
    plain      := (any char but "\\[]():" | "\\" any char)+

Only scheduling is resolved here; emphasis brackets and escapes are copied through untouched
for :mod:`video.prompts.emphasis`, which runs on each resulting text.

When does ``t`` switch? The issue's rule, which is A1111's original one: ``t < 1`` is a
fraction of the steps, ``t >= 1`` a step number; the product is truncated to an integer and
capped at ``steps``. ``[a:b:t]`` renders ``a`` on steps ``1..t`` and ``b`` from ``t+1`` on
(1-based), so ``[a:b:0.5]`` over 10 steps is 5 steps of each. (A1111's newer default instead
reads any number with a decimal point as a fraction, e.g. ``1.5`` as 150 % of the steps; we
do not follow it.)

Differences from A1111 (its lark parser), chosen to keep a prompt's other constructs working:

* a ``|`` outside an alternation is plain text. In A1111 a stray ``|`` anywhere makes the
  whole prompt fail to parse and be used verbatim, no schedule at all; its own doctest
  ``"a [{b|d{:.5] c"`` expects what we do.
* a trailing lone backslash is plain text (A1111: whole prompt verbatim).
* constructs nested deeper than :data:`MAX_DEPTH` make the whole prompt verbatim instead of
  overflowing the stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_DEPTH = 100

# lark's SIGNED_NUMBER: optional sign, INT | INT "." INT? | "." INT, optional exponent.
_NUMBER_CLOSE = re.compile(r"\s*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*\]")
_STOP = frozenset("[]():\\")


@dataclass(frozen=True)
class Scheduled:
    """``[before:after:when]``; ``before`` is None for ``[after:when]``."""

    before: tuple | None
    after: tuple
    when: float


@dataclass(frozen=True)
class Alternate:
    """``[a|b|c]``: option ``(step - 1) % len(options)`` on each step."""

    options: tuple[tuple, ...]


# A parsed prompt is a tuple of nodes: str (literal text), Scheduled, Alternate, or a nested
# tuple (an emphasized group, its brackets kept as literal strings).


class _TooDeep(Exception):
    pass


class _Parser:
    """Packrat recursive descent: every (position, context) is parsed once, so failed
    attempts at ``[`` (alternate, then scheduled, then emphasized) cost linear time, not
    exponential in the nesting depth."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self._constructs: dict[int, tuple[object, int] | None] = {}
        self._prompts: dict[tuple[int, bool], tuple[tuple, int]] = {}

    def _plain_end(self, i: int, stop_bar: bool) -> int:
        """End of the plain run at ``i`` (``\\x`` pairs are kept whole)."""
        t, n = self.text, self.n
        while i < n:
            c = t[i]
            if c == "\\":
                i += 2
                continue
            if c in _STOP or (stop_bar and c == "|"):
                break
            i += 1
        return min(i, n)

    def top(self) -> tuple:
        """The whole prompt: brackets that open nothing valid are kept as text."""
        items: list = []
        i = 0
        while i < self.n:
            c = self.text[i]
            if c in "[(":
                found = self.construct(i, 1)
                if found is not None:
                    items.append(found[0])
                    i = found[1]
                    continue
            if c in "[]():":
                items.append(c)
                i += 1
                continue
            j = self._plain_end(i, stop_bar=False)
            items.append(self.text[i:j])
            i = j
        return tuple(items)

    def prompt(self, i: int, in_alternate: bool, depth: int) -> tuple[tuple, int]:
        """A nested prompt from ``i``: the items, and where it stopped."""
        key = (i, in_alternate)
        if key in self._prompts:
            return self._prompts[key]
        start = i
        items: list = []
        while i < self.n:
            c = self.text[i]
            if c in "[(":
                found = self.construct(i, depth + 1)
                if found is None:
                    break
                items.append(found[0])
                i = found[1]
            elif c in "]):" or (in_alternate and c == "|"):
                break
            else:
                j = self._plain_end(i, stop_bar=in_alternate)
                items.append(self.text[i:j])
                i = j
        self._prompts[(start, in_alternate)] = (tuple(items), i)
        return tuple(items), i

    def _at(self, i: int, c: str) -> bool:
        return i < self.n and self.text[i] == c

    def _number_close(self, i: int) -> tuple[float, int] | None:
        m = _NUMBER_CLOSE.match(self.text, i)
        return (float(m.group(1)), m.end()) if m else None

    def construct(self, i: int, depth: int) -> tuple[object, int] | None:
        """The bracketed construct starting at ``i``, or None when there is none."""
        if depth > MAX_DEPTH:
            raise _TooDeep
        if i not in self._constructs:
            self._constructs[i] = self._round(i, depth) if self.text[i] == "(" else self._square(i, depth)
        return self._constructs[i]

    def _round(self, i: int, depth: int) -> tuple[object, int] | None:
        inner, j = self.prompt(i + 1, False, depth)
        if self._at(j, ")"):
            return ("(", inner, ")"), j + 1
        if self._at(j, ":"):
            weight, k = self.prompt(j + 1, False, depth)
            if self._at(k, ")"):
                return ("(", inner, ":", weight, ")"), k + 1
        return None

    def _square(self, i: int, depth: int) -> tuple[object, int] | None:
        options = [self.prompt(i + 1, True, depth)]
        while self._at(options[-1][1], "|"):
            options.append(self.prompt(options[-1][1] + 1, True, depth))
        if len(options) > 1 and self._at(options[-1][1], "]"):
            return Alternate(tuple(items for items, _ in options)), options[-1][1] + 1

        first, j = self.prompt(i + 1, False, depth)
        if self._at(j, "]"):
            return ("[", first, "]"), j + 1
        if not self._at(j, ":"):
            return None
        number = self._number_close(j + 1)
        if number is not None:  # [after:when]
            return Scheduled(None, first, number[0]), number[1]
        second, k = self.prompt(j + 1, False, depth)
        if self._at(k, ":"):
            number = self._number_close(k + 1)
            if number is not None:  # [before:after:when]
                return Scheduled(first, second, number[0]), number[1]
        return None


def parse_schedule(prompt: str) -> tuple | None:
    """The parse tree of ``prompt``, or None when it nests deeper than :data:`MAX_DEPTH`."""
    try:
        return _Parser(prompt).top()
    except _TooDeep:
        return None


def switch_step(when: float, steps: int) -> int:
    """The last step (1-based) that renders the "before" side of ``[a:b:when]``.

    ``when < 1`` is a fraction of ``steps``, otherwise a step number; truncated like A1111's
    ``int()`` and clamped to ``0..steps`` (0 or less: "after" from the first step)."""
    value = when * steps if when < 1 else when
    if value >= steps:
        return steps
    if value <= 0:
        return 0
    return int(value)


def _collect_steps(node: object, steps: int, out: set[int]) -> None:
    """Every step at which some part of the prompt changes, from all branches."""
    if isinstance(node, Scheduled):
        at = switch_step(node.when, steps)
        if at >= 1:
            out.add(at)
        for side in (node.before, node.after):
            if side is not None:
                _collect_steps(side, steps, out)
    elif isinstance(node, Alternate):
        out.update(range(1, steps + 1))
        for option in node.options:
            _collect_steps(option, steps, out)
    elif isinstance(node, tuple):
        for child in node:
            _collect_steps(child, steps, out)


def _render(node: object, step: int, steps: int) -> str:
    """The text of ``node`` at 1-based ``step``."""
    if isinstance(node, str):
        return node
    if isinstance(node, Scheduled):
        side = node.before if step <= switch_step(node.when, steps) else node.after
        return _render(side, step, steps) if side is not None else ""
    if isinstance(node, Alternate):
        return _render(node.options[(step - 1) % len(node.options)], step, steps)
    return "".join(_render(child, step, steps) for child in node)


def schedule(prompt: str, steps: int) -> list[tuple[int, str]]:
    """``(end_step, text)`` pairs: ``text`` is used on every step up to and including
    ``end_step`` (1-based) after the previous pair's; the last ``end_step`` is ``steps``.

    Pairs are not merged when their text repeats (A1111 does not either); the encoder's cache
    makes a repeat free.

    >>> schedule("a [b:c:2] d", 4)
    [(2, 'a b d'), (4, 'a c d')]
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    tree = parse_schedule(prompt)
    if tree is None:
        return [(steps, prompt)]
    ends: set[int] = {steps}
    _collect_steps(tree, steps, ends)
    return [(end, _render(tree, end, steps)) for end in sorted(ends)]


def text_at_step(entries: list[tuple[int, str]], step: int) -> str:
    """The text a schedule uses on 1-based ``step``."""
    for end, text in entries:
        if step <= end:
            return text
    return entries[-1][1]


__all__ = ["schedule", "parse_schedule", "switch_step", "text_at_step", "Scheduled", "Alternate", "MAX_DEPTH"]
