"""Cutting a weighted token stream into CLIP's 75-token chunks (A1111 ``sd_hijack_clip``).

CLIP sees at most 77 positions; a longer prompt is encoded 75 tokens at a time, each chunk
framed by BOS ... EOS, and the hidden states are concatenated. Two rules decide where a chunk
ends before it is full:

* ``BREAK`` ends it at once (the rest padded), so the next words start a fresh context;
* when a chunk fills up and a comma lies within the last ``comma_backtrack`` tokens, the words
  after that comma move to the next chunk instead of being split across two contexts.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CHUNK_LENGTH = 75


@dataclass(frozen=True)
class Token:
    """One position of the prompt: a token id, its weight, and for a textual-inversion vector
    the vector that replaces the id's embedding (the id is then only a placeholder)."""

    id: int
    weight: float
    vector: torch.Tensor | None = None


# A unit is what may not be split between chunks: one token, or all vectors of an embedding.
Unit = tuple[Token, ...]
BREAK = None  # in a unit stream, a BREAK


def chunk_units(
    units: list[Unit | None],
    chunk_length: int = CHUNK_LENGTH,
    comma_id: int | None = None,
    comma_backtrack: int = 20,
) -> list[list[Token]]:
    """Chunks of at most ``chunk_length`` tokens, not yet framed or padded.

    ``None`` in ``units`` is a BREAK. A prompt gives at least one (maybe empty) chunk; a BREAK
    at the very end adds no empty chunk after it, one at the start gives an empty first chunk
    (both as in A1111)."""
    chunks: list[list[Token]] = []
    current: list[Token] = []
    last_comma = -1

    def close() -> None:
        nonlocal current, last_comma
        chunks.append(current)
        current = []
        last_comma = -1

    for unit in units:
        if unit is BREAK:
            close()
            continue
        if len(unit) > chunk_length:
            raise ValueError(f"an embedding of {len(unit)} vectors does not fit a {chunk_length}-token chunk")
        if len(unit) == 1 and comma_id is not None and unit[0].id == comma_id and unit[0].vector is None:
            last_comma = len(current)
        elif (
            comma_backtrack > 0
            and len(current) == chunk_length
            and last_comma != -1
            and len(current) - last_comma <= comma_backtrack
        ):
            moved = current[last_comma + 1:]
            current = current[: last_comma + 1]
            close()
            current = moved
        if len(current) == chunk_length or len(current) + len(unit) > chunk_length:
            close()
        current.extend(unit)
    if current or not chunks:
        close()
    return chunks


def frame_chunk(
    chunk: list[Token], bos_id: int, eos_id: int, pad_id: int, chunk_length: int = CHUNK_LENGTH
) -> tuple[list[int], list[float], list[tuple[int, torch.Tensor]]]:
    """``[BOS] tokens [EOS ...] [EOS]`` as ids (``chunk_length + 2`` of them), weights (1 for
    the frame), and ``(position, vector)`` replacements.

    Like diffusers' ``padding="max_length"``: where the pad token differs from EOS (SD 2.x),
    everything after the first EOS is the pad token."""
    fill = chunk_length - len(chunk)
    ids = [bos_id] + [t.id for t in chunk] + [eos_id] * (fill + 1)
    weights = [1.0] + [t.weight for t in chunk] + [1.0] * (fill + 1)
    if pad_id != eos_id:
        first_eos = len(chunk) + 1
        ids = ids[: first_eos + 1] + [pad_id] * (len(ids) - first_eos - 1)
    fixes = [(1 + k, t.vector) for k, t in enumerate(chunk) if t.vector is not None]
    return ids, weights, fixes


__all__ = ["Token", "Unit", "BREAK", "chunk_units", "frame_chunk", "CHUNK_LENGTH"]
