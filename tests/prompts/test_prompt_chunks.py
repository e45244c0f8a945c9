"""The 75-token chunker on its own (A1111 ``tokenize_line`` rules)."""

from __future__ import annotations

import pytest
import torch

from video.prompts.chunks import BREAK, Token, chunk_units, frame_chunk


def toks(ids):
    return [(Token(i, 1.0),) for i in ids]


def ids_of(chunks):
    return [[t.id for t in c] for c in chunks]


def test_exact_fill_and_overflow():
    assert ids_of(chunk_units(toks(range(75)))) == [list(range(75))]
    assert ids_of(chunk_units(toks(range(76)))) == [list(range(75)), [75]]


def test_break_positions():
    assert ids_of(chunk_units([BREAK, *toks([1])])) == [[], [1]]  # leading BREAK: empty first chunk
    assert ids_of(chunk_units([*toks([1]), BREAK])) == [[1]]  # trailing BREAK adds nothing
    assert ids_of(chunk_units([])) == [[]]


def test_embedding_is_never_split():
    vec = torch.zeros(4)
    emb = tuple(Token(0, 1.0, vec) for _ in range(3))
    chunks = chunk_units([*toks(range(73)), emb, *toks([99])])
    assert [len(c) for c in chunks] == [73, 4]
    assert all(t.vector is not None for t in chunks[1][:3])
    with pytest.raises(ValueError):
        chunk_units([tuple(Token(0, 1.0, vec) for _ in range(76))])


def test_comma_backtrack_window():
    comma = 7
    near = [*toks([1] * 60), (Token(comma, 1.0),), *toks([2] * 20)]  # comma at index 60: 15 from the end
    assert [len(c) for c in chunk_units(near, comma_id=comma, comma_backtrack=20)] == [61, 20]
    assert [len(c) for c in chunk_units(near, comma_id=comma, comma_backtrack=10)] == [75, 6]


def test_frame_chunk_pads_and_places_fixes():
    vec = torch.ones(4)
    ids, weights, fixes = frame_chunk([Token(5, 1.5), Token(0, 2.0, vec)], bos_id=100, eos_id=101, pad_id=101)
    assert ids == [100, 5, 0] + [101] * 74 and len(ids) == 77
    assert weights == [1.0, 1.5, 2.0] + [1.0] * 74
    assert len(fixes) == 1 and fixes[0][0] == 2 and fixes[0][1] is vec
    ids, _, _ = frame_chunk([Token(5, 1.0)], bos_id=100, eos_id=101, pad_id=0)
    assert ids == [100, 5, 101] + [0] * 74
