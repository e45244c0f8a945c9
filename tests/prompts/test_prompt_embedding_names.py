"""Where a textual-inversion name is recognised in a CLIP prompt: A1111's rule, transcribed
below as the reference (``EmbeddingDatabase.register_embedding_by_name`` and
``find_embedding_at_position`` from modules/textual_inversion/textual_inversion.py, and the
loop of ``FrozenCLIPEmbedderWithCustomWordsBase.tokenize_line`` that calls it). A name is its
token ids, looked for inside each weighted run's ids, so with CLIP's tokenizer ``mystyle2``,
``mystyle_v`` and ``2mystyle`` contain ``mystyle``; a whole-word text match missed them."""

from __future__ import annotations

import pytest
import torch
from prompt_tiny_models import make_clip_model, make_clip_tokenizer
from safetensors.torch import save_file
from test_prompt_encode_clip import extended_vocab_reference

from video.prompts import PromptEncoder, parse_weights
from video.prompts.chunks import BREAK
from video.prompts.embeddings import match_name_ids

NAMES = {"mystyle": 2, "style-v2": 1, "style": 3}  # name -> vectors


def a1111_lookup(tokenizer, names):
    """register_embedding_by_name, for each name in load order."""
    ids_lookup: dict[int, list] = {}
    for name in names:
        ids = tokenizer([name], truncation=False, add_special_tokens=False)["input_ids"][0]
        first_id = ids[0]
        lookup = ids_lookup.setdefault(first_id, [])
        lookup += [(ids, name)]
        ids_lookup[first_id] = sorted(lookup, key=lambda x: len(x[0]), reverse=True)
    return ids_lookup


def a1111_find_embedding_at_position(ids_lookup, tokens, offset):
    token = tokens[offset]
    possible_matches = ids_lookup.get(token, None)
    if possible_matches is None:
        return None, None
    for ids, embedding in possible_matches:
        if tokens[offset:offset + len(ids)] == ids:
            return embedding, len(ids)
    return None, None


def a1111_stream(tokenizer, ids_lookup, line):
    """tokenize_line's walk over each run's tokens, chunking left out: (id or name, weight)."""
    parsed = parse_weights(line)
    tokenized = tokenizer([text for text, _ in parsed], truncation=False, add_special_tokens=False)["input_ids"]
    out = []
    for tokens, (text, weight) in zip(tokenized, parsed, strict=True):
        if text == "BREAK" and weight == -1:
            out.append(("BREAK", -1))
            continue
        position = 0
        while position < len(tokens):
            embedding, length = a1111_find_embedding_at_position(ids_lookup, tokens, position)
            if embedding is None:
                out.append((tokens[position], weight))
                position += 1
                continue
            out.append((embedding, weight))
            position += length
    return out


def ours_stream(enc, line):
    out = []
    for unit in enc.units(line):
        if unit is BREAK:
            out.append(("BREAK", -1))
        elif unit[0].vector is None:
            out.append((unit[0].id, unit[0].weight))
        else:
            [name] = [n for n, v in enc.embeddings.items() if len(v) == len(unit)
                      and all(torch.equal(t.vector, row) for t, row in zip(unit, v, strict=True))]
            assert {t.weight for t in unit} == {unit[0].weight}
            out.append((name, unit[0].weight))
    return out


@pytest.fixture(scope="module")
def tokenizer():
    return make_clip_tokenizer()


@pytest.fixture(scope="module")
def model(tokenizer):
    return make_clip_model(tokenizer)


@pytest.fixture(scope="module")
def enc(tmp_path_factory, tokenizer, model):
    folder = tmp_path_factory.mktemp("embeddings")
    gen = torch.Generator().manual_seed(7)
    for name, n in NAMES.items():
        save_file({"emb_params": torch.randn(n, 32, generator=gen)}, str(folder / f"{name}.safetensors"))
    return PromptEncoder(tokenizer, model, embeddings_dir=folder)


PROMPTS = [
    "mystyle2", "mystyle_v", "2mystyle", "MyStyle", "mystyles", "my style", "a mystyle, cat",
    "a (mystyle:1.2)2 cat", "(my)style", "mystylemystyle", "mystyle BREAK mystyle",
    "a style-v2 b", "style - v2", "style v2", "stylev2", "[style]-v2", "style-v2-v2",
]


@pytest.mark.parametrize("line", PROMPTS)
def test_names_match_where_a1111_matches_them(enc, tokenizer, line):
    lookup = a1111_lookup(tokenizer, sorted(NAMES))  # our loader reads files in sorted order
    assert ours_stream(enc, line) == a1111_stream(tokenizer, lookup, line)


def test_the_cases_the_word_rule_missed(enc):
    """Spelled out (not only 'same as the reference'): these contain the name."""
    for line in ("mystyle2", "mystyle_v", "2mystyle", "a (mystyle:1.2)2 cat"):
        assert "mystyle" in [x for x, _ in ours_stream(enc, line)], line
    assert "mystyle" not in [x for x, _ in ours_stream(enc, "mystyles")]  # another word's tokens
    assert [x for x, _ in ours_stream(enc, "a style-v2 b") if isinstance(x, str)] == ["style-v2"]  # longest first


def test_name_followed_by_digit_reaches_the_encoder(enc, tokenizer, model):
    """``mystyle2``: the two vectors, then ``2</w>``, as a vocabulary extended by the vectors
    would encode it."""
    expected = extended_vocab_reference(model, tokenizer, "", enc.embeddings["mystyle"], "2")
    torch.testing.assert_close(enc.encode_text("mystyle2"), expected, rtol=1e-5, atol=1e-6)


def test_match_name_ids_by_hand():
    table = {7: [((7, 8, 9), "long"), ((7,), "short")]}
    assert match_name_ids([7, 8, 7, 8, 9, 1], table) == [("short",), 8, ("long",), 1]
    assert match_name_ids([], table) == []
