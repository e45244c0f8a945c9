"""T5 / UMT5 token ids are those of the whole prompt tokenized in one call, as diffusers'
``WanPipeline`` tokenizes it (``prompt_clean``, then one tokenizer call), with the brackets
removed; weights land on the tokens their characters became. Tokenizing each weighted run
apart made SentencePiece start a word (``▁``) at every weight boundary."""

from __future__ import annotations

import pytest
import torch
from diffusers.pipelines.wan.pipeline_wan import prompt_clean
from prompt_tiny_models import make_t5_model
from test_prompt_encode_t5 import wan_reference

from video.prompts import PromptEncoder
from video.prompts.t5text import join_pieces, token_weights

R = 1.1  # one round bracket
S = 1 / 1.1  # one square bracket

# prompt -> the same prompt as plain text (brackets and escapes resolved by hand)
PLAIN = [
    ("a (red), cat", "a red, cat"),
    ("(cat)s", "cats"),
    ("c(ats)", "cats"),
    ("(red:1.0)", "red"),
    ("a ((red) [cat]), sky", "a red cat, sky"),
    ("a (((house:1.3)) [on] a (hill:0.5), sky", "a house on a hill, sky"),
    ("[dog] (of:1.3)in", "dog ofin"),
    ("a red BREAK cat", "a red cat"),
    ("a (red BREAK cat)", "a red cat"),
    ("  a   (red)\n\n cat  ", "a red cat"),
    ("\\(cat\\), (sky)", "(cat), sky"),
    ("a &amp;amp; (cat)", "a & cat"),  # html unescaped twice, as diffusers does
    ("caf\u00c3\u00a9 (cat)", "café cat"),  # mojibake fixed by ftfy, as diffusers does
    ("(", ""),
]


@pytest.fixture(scope="module")
def encoder(t5_tokenizer):
    return PromptEncoder(t5_tokenizer, make_t5_model(t5_tokenizer))


@pytest.mark.parametrize(("prompt", "plain"), PLAIN)
def test_ids_are_the_one_call_ids_of_the_plain_prompt(encoder, t5_tokenizer, prompt, plain):
    want = t5_tokenizer(prompt_clean(plain), add_special_tokens=False).input_ids
    assert [t.id for t in encoder.t5_tokens(prompt)] == want


def test_no_word_start_mark_at_a_weight_boundary(encoder, t5_tokenizer):
    """The reviewer's case: ``▁a ▁red , ▁cat``, not ``▁a ▁red ▁ , ▁cat``."""
    ids = [t.id for t in encoder.t5_tokens("a (red), cat")]
    assert t5_tokenizer.convert_ids_to_tokens(ids) == ["▁a", "▁red", ",", "▁cat"]


@pytest.mark.parametrize(
    ("prompt", "tokens", "weights"),
    [
        ("a (red), cat", ["▁a", "▁red", ",", "▁cat"], [1, R, 1, 1]),
        ("(cat)s", ["▁cat", "s"], [R, 1]),
        ("c(ats)", ["▁cat", "s"], [R, R]),  # "▁cat" is c a t: two of three characters weigh R
        ("a ((red) [cat]), sky", ["▁a", "▁red", "▁cat", ",", "▁sky"], [1, R * R, R * S, 1, 1]),
        ("a (((house:1.3)) [on] a (hill:0.5), sky", ["▁a", "▁house", "▁", "o", "n", "▁a", "▁hill", ",", "▁sky"],
         [1, 1.3 * R * R, R * S, R * S, R * S, R, 0.5 * R, R, R]),  # the first "(" is never closed
        ("[dog] (of:1.3)in", ["▁dog", "▁of", "i", "n"], [S, 1.3, 1, 1]),
    ],
)
def test_weights_land_on_the_tokens_of_their_characters(encoder, t5_tokenizer, prompt, tokens, weights):
    got = encoder.t5_tokens(prompt)
    assert t5_tokenizer.convert_ids_to_tokens([t.id for t in got]) == tokens
    assert [t.weight for t in got] == pytest.approx(weights, rel=1e-12)


def test_weights_reach_the_encoder_on_one_call_ids(encoder, t5_tokenizer):
    """``a (red), cat`` is diffusers' ``a red, cat`` with ``▁red`` weighted. A1111's rule on the
    real tokens (asked for: T5's default is ComfyUI's, tests/prompts/test_t5_weights_stay_local.py)
    makes the weight's position visible in every token."""
    ref, n = wan_reference(encoder.model, t5_tokenizer, "a red, cat")  # ▁a ▁red , ▁cat </s>
    a1111 = PromptEncoder(t5_tokenizer, encoder.model, weight_mode="a1111")
    out = a1111.encode_text("a (red:1.5), cat")
    z = ref[0, :n]
    m = torch.tensor([1.0, 1.5, 1.0, 1.0, 1.0])
    scaled = z * m[:, None]
    torch.testing.assert_close(out[0, :n], scaled * (z.mean() / scaled.mean()), rtol=1e-6, atol=1e-6)
    assert out[0, n:].abs().sum() == 0


def test_unweighted_prompt_is_cleaned_as_diffusers_cleans(encoder, t5_tokenizer):
    text = "  a&amp;amp;b   red\n\tcat,  caf\u00c3\u00a9  "
    assert torch.equal(encoder.encode_text(text), wan_reference(encoder.model, t5_tokenizer, text)[0])


def test_embedding_between_weights_keeps_one_call_ids(tmp_path, t5_tokenizer):
    """``a (mystyle:1.2), cat``: the name's tokens are its vectors, the comma stays ``,``."""
    from safetensors.torch import save_file

    model = make_t5_model(t5_tokenizer)
    vector = torch.randn(1, 32, generator=torch.Generator().manual_seed(5))
    save_file({"emb_params": vector}, str(tmp_path / "mystyle.safetensors"))
    enc = PromptEncoder(t5_tokenizer, model, embeddings_dir=tmp_path)
    tokens = enc.t5_tokens("a (mystyle:1.2), cat")
    plain_ids = t5_tokenizer("a mystyle, cat", add_special_tokens=False).input_ids  # ▁a ▁mystyle , ▁cat
    assert [t.id for t in tokens][:1] + [t.id for t in tokens][2:] == plain_ids[:1] + plain_ids[2:]
    assert tokens[1].vector is not None and torch.equal(tokens[1].vector, vector[0])
    assert [t.weight for t in tokens] == [1.0, 1.2, 1.0, 1.0]


def test_join_and_token_weights_by_hand():
    text, weights, owners = join_pieces([("  a ", 1.0, -1), ("\n red", 2.0, -1), (" ", 1.0, -1), ("x", 3.0, 0)])
    assert text == "a red x"
    assert weights == [1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 3.0] and owners == [-1] * 6 + [0]
    # spans: "a", " red" (a space counted in), empty span at 6, past the end
    assert token_weights([(0, 1), (1, 5), (6, 6), (9, 9)], text, weights, owners) == [
        (1.0, -1), (2.0, -1), (3.0, 0), (1.0, -1)]


def test_a_tokenizer_without_offsets_tokenizes_runs_apart():
    """ByT5's tokenizer is a slow one (no offsets) and byte-level, so tokenizing runs apart
    gives the one-call ids; the encoder says once that it fell back."""
    from transformers import ByT5Tokenizer

    tok = ByT5Tokenizer()
    model = make_t5_model(tok, "T5EncoderModel")
    enc = PromptEncoder(tok, model)
    with pytest.warns(UserWarning, match="no character offsets"):
        got = enc.t5_tokens("a (red), cat")
    assert [t.id for t in got] == tok("a red, cat", add_special_tokens=False).input_ids
    assert [t.weight for t in got] == [1, 1, R, R, R, 1, 1, 1, 1, 1]
