"""T5 / UMT5 prompt text: the weighted runs joined back into the one text that diffusers'
``WanPipeline`` tokenizes, so that the token ids are the ones Wan was trained with.

A SentencePiece tokenizer marks every word start with ``▁`` and treats the start of its input
as a word start, so tokenizing each weighted run apart (as A1111 does for CLIP) inserts a
``▁`` at every weight boundary: ``a (red), cat`` gave ``▁a ▁red ▁ , ▁cat`` where the text gives
``▁a ▁red , ▁cat``. Here the runs are joined (brackets removed), cleaned as diffusers'
``prompt_clean`` cleans, tokenized in one call, and each token takes the weight of the
characters its offsets cover (:func:`token_weights`).
"""

from __future__ import annotations

import html
from collections import Counter

import regex

try:  # diffusers applies ftfy only where it is installed (our ``edit`` extra); so do we
    import ftfy
except ImportError:  # pragma: no cover - depends on the environment
    ftfy = None

_WHITESPACE = regex.compile(r"\s+")  # diffusers' whitespace_clean, with the same regex module

# (text, weight, name occurrence): the occurrence numbers textual-inversion names (-1: text)
Piece = tuple[str, float, int]


def basic_clean(text: str) -> str:
    """diffusers' ``basic_clean`` (``ftfy.fix_text`` when ftfy is importable, then HTML
    unescaped twice) without its ``strip``: runs are cleaned one by one and the joined text is
    stripped once, in :func:`join_pieces`."""
    if ftfy is not None:
        text = ftfy.fix_text(text)
    return html.unescape(html.unescape(text))


def join_pieces(pieces: list[Piece]) -> tuple[str, list[float], list[int]]:
    """The pieces' text joined, each whitespace run made one space and the ends stripped
    (diffusers' ``whitespace_clean``), with every character's weight and name occurrence.

    A collapsed run takes its first character's weight and occurrence.

    >>> join_pieces([("a  ", 1.0, -1), (" red", 1.1, -1)])
    ('a red', [1.0, 1.0, 1.1, 1.1, 1.1], [-1, -1, -1, -1, -1])
    """
    text = "".join(t for t, _, _ in pieces)
    weights = [w for t, w, _ in pieces for _ in t]
    owners = [o for t, _, o in pieces for _ in t]
    chars: list[str] = []
    out_w: list[float] = []
    out_o: list[int] = []
    pos = 0
    for m in [*_WHITESPACE.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        chars.append(text[pos:end])
        out_w += weights[pos:end]
        out_o += owners[pos:end]
        if m is not None:
            chars.append(" ")
            out_w.append(weights[m.start()])
            out_o.append(owners[m.start()])
            pos = m.end()
    joined = "".join(chars)
    start = len(joined) - len(joined.lstrip())
    stop = len(joined.rstrip())
    return joined[start:stop], out_w[start:stop], out_o[start:stop]


def token_weights(
    offsets: list[tuple[int, int]], text: str, weights: list[float], owners: list[int]
) -> list[tuple[float, int]]:
    """``(weight, occurrence)`` of each token from its character span ``text[a:b]``.

    The occurrence is the first name occurrence the span touches (-1: none), so every token a
    name was split into is known to be that name. The weight is the one most of the span's
    non-space characters carry, the earliest on a tie: ``(cat)s`` tokenized as one word keeps
    the bracket's weight, and a space the tokenizer counts into a token does not outvote a
    one-letter word. An empty span (a word-start mark of its own) reads the character at
    ``a``; a span past the end has weight 1.
    """
    out: list[tuple[float, int]] = []
    for a, b in offsets:
        span = range(a, min(max(b, a + 1), len(text)))
        if not span:
            out.append((1.0, -1))
            continue
        occurrence = next((owners[k] for k in span if owners[k] >= 0), -1)
        counted = [k for k in span if not text[k].isspace()] or list(span)
        votes = Counter(weights[k] for k in counted)  # insertion order breaks ties: earliest
        out.append((max(votes, key=votes.__getitem__), occurrence))
    return out


__all__ = ["Piece", "basic_clean", "join_pieces", "token_weights"]
