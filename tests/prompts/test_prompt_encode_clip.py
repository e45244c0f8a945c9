"""PromptEncoder on a tiny random CLIP text model: every expectation is computed from the
plain model on token ids the tokenizer itself produces (diffusers' ``padding="max_length"``),
or from a closed form on those hidden states."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import pytest
import torch
from prompt_tiny_models import make_clip_model, make_clip_tokenizer
from safetensors.torch import save_file

from video.prompts import PromptEncoder, split_and


def plain(model, tokenizer, text: str) -> torch.Tensor:
    """The reference: one 77-token window exactly as diffusers' SD pipelines encode it."""
    ids = tokenizer(text, padding="max_length", max_length=77, return_tensors="pt").input_ids
    assert ids.shape[1] == 77, "reference text must fit one window"
    with torch.no_grad():
        return model(input_ids=ids).last_hidden_state


@pytest.fixture()
def encoder(clip_tokenizer, clip_model):
    return PromptEncoder(clip_tokenizer, clip_model)


def test_weight_one_is_exactly_the_plain_encoder(encoder, clip_model, clip_tokenizer):
    text = "a red cat, photo of the sky"
    assert torch.equal(encoder.encode_text(text), plain(clip_model, clip_tokenizer, text))
    # escapes are literal characters, not weights
    assert torch.equal(encoder.encode_text("a \\(cat\\)"), plain(clip_model, clip_tokenizer, "a (cat)"))


def test_long_prompt_is_cut_into_75_token_chunks(encoder, clip_model, clip_tokenizer):
    words = ["a"] * 100  # "a" is one token
    out = encoder.encode_text(" ".join(words))
    assert out.shape == (1, 2 * 77, 32)
    first = plain(clip_model, clip_tokenizer, " ".join(words[:75]))  # BOS, 75 tokens, EOS
    second = plain(clip_model, clip_tokenizer, " ".join(words[75:]))
    assert torch.equal(out[:, :77], first)
    assert torch.equal(out[:, 77:], second)


def test_break_starts_a_new_chunk(encoder, clip_model, clip_tokenizer):
    out = encoder.encode_text("red cat BREAK dog")
    assert out.shape == (1, 154, 32)
    assert torch.equal(out[:, :77], plain(clip_model, clip_tokenizer, "red cat"))
    assert torch.equal(out[:, 77:], plain(clip_model, clip_tokenizer, "dog"))


def test_full_chunk_breaks_after_last_comma(clip_tokenizer, clip_model):
    text = "a " * 70 + ", " + "b " * 10  # 70 + comma + 10 = 81 tokens
    enc = PromptEncoder(clip_tokenizer, clip_model, comma_backtrack=20)
    out = enc.encode_text(text)
    assert torch.equal(out[:, :77], plain(clip_model, clip_tokenizer, "a " * 70 + ","))
    assert torch.equal(out[:, 77:], plain(clip_model, clip_tokenizer, "b " * 10))
    # without backtracking the chunk is simply cut at 75 tokens
    out = PromptEncoder(clip_tokenizer, clip_model, comma_backtrack=0).encode_text(text)
    assert torch.equal(out[:, :77], plain(clip_model, clip_tokenizer, "a " * 70 + ", " + "b " * 4))
    assert torch.equal(out[:, 77:], plain(clip_model, clip_tokenizer, "b " * 6))


def test_a1111_weight_scales_token_and_restores_mean(encoder, clip_model, clip_tokenizer):
    z = plain(clip_model, clip_tokenizer, "red cat dog")[0]  # BOS red cat dog EOS ...
    out = encoder.encode_text("red (cat:1.5) dog")[0]
    multipliers = torch.ones(77)
    multipliers[2] = 1.5
    scaled = z * multipliers[:, None]
    expected = scaled * (z.mean() / scaled.mean())
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(out.mean(), z.mean(), rtol=1e-5, atol=1e-6)
    # every row is the plain row times one common factor, the weighted row times 1.5 more
    c = z.mean() / scaled.mean()
    torch.testing.assert_close(out[2], 1.5 * c * z[2])
    torch.testing.assert_close(out[5], c * z[5])


def test_nested_emphasis_weight_reaches_the_encoder(encoder, clip_model, clip_tokenizer):
    z = plain(clip_model, clip_tokenizer, "red cat")[0]
    out = encoder.encode_text("[[red]] cat")[0]
    m = torch.ones(77)
    m[1] = (1 / 1.1) ** 2
    expected = z * m[:, None]
    torch.testing.assert_close(out, expected * (z.mean() / expected.mean()), rtol=1e-6, atol=1e-6)


def test_comfy_mode_interpolates_from_the_empty_prompt(clip_tokenizer, clip_model):
    enc = PromptEncoder(clip_tokenizer, clip_model, weight_mode="comfy")
    z = plain(clip_model, clip_tokenizer, "red cat dog")[0]
    empty = plain(clip_model, clip_tokenizer, "")[0]
    out = enc.encode_text("red (cat:1.5) [dog]")[0]
    torch.testing.assert_close(out[2], empty[2] + 1.5 * (z[2] - empty[2]))
    torch.testing.assert_close(out[3], empty[3] + (1 / 1.1) * (z[3] - empty[3]))
    keep = [i for i in range(77) if i not in (2, 3)]
    assert torch.equal(out[keep], z[keep])  # weight-1 tokens untouched, no mean restoration


def test_schedule_repeats_encode_once(clip_tokenizer):
    model = make_clip_model(clip_tokenizer)
    calls = []
    model.register_forward_pre_hook(lambda *_: calls.append(1))
    enc = PromptEncoder(clip_tokenizer, model)
    cond = enc.encode("a [cat|dog] photo", "", steps=10)  # 10 schedule entries, 2 distinct texts
    assert len(calls) == 3  # "a cat photo", "a dog photo", "" (negative)
    assert len(cond) == 10
    assert cond[0].conds[0][0] is cond[2].conds[0][0] is enc.cache["a cat photo"]
    assert cond[1].conds[0][0] is enc.cache["a dog photo"]
    enc.encode("a [cat|dog] photo", "", steps=30)
    assert len(calls) == 3  # all cache hits


def test_steps_follow_the_schedule(encoder, clip_model, clip_tokenizer):
    cond = encoder.encode("a [cat:dog:0.5]", steps=10)
    cat, dog = plain(clip_model, clip_tokenizer, "a cat"), plain(clip_model, clip_tokenizer, "a dog")
    for i in range(5):
        assert torch.equal(cond[i].conds[0][0], cat)
    for i in range(5, 10):
        assert torch.equal(cond[i].conds[0][0], dog)


def test_negative_prompt_is_uncond(encoder, clip_model, clip_tokenizer):
    cond = encoder.encode("red cat", "dog", steps=3)
    for step in cond.steps:
        assert torch.equal(step.uncond, plain(clip_model, clip_tokenizer, "dog"))
    cond = encoder.encode("red cat", steps=2)
    assert torch.equal(cond[0].uncond, plain(clip_model, clip_tokenizer, ""))
    # the negative prompt schedules too, but AND in it is just a word
    cond = encoder.encode("x", "[red:dog:1] AND", steps=2)
    assert torch.equal(cond[0].uncond, encoder.encode_text("red AND"))
    assert torch.equal(cond[1].uncond, encoder.encode_text("dog AND"))


def test_and_terms_with_weights(encoder, clip_model, clip_tokenizer):
    cond = encoder.encode("red cat AND dog:0.5", steps=2)
    assert cond[0].weights == [1.0, 0.5]
    assert torch.equal(cond[0].conds[0][0], plain(clip_model, clip_tokenizer, "red cat"))
    assert torch.equal(cond[0].conds[1][0], plain(clip_model, clip_tokenizer, " dog"))
    assert cond[0].cond_batch.shape == (2, 77, 32)
    assert [t for t, _ in split_and("red cat AND dog:0.5")] == ["red cat", " dog"]


def test_shorter_texts_are_padded_with_empty_chunks(encoder, clip_model, clip_tokenizer):
    cond = encoder.encode("a " * 100, "dog", steps=1)
    assert cond[0].conds[0][0].shape == cond[0].uncond.shape == (1, 154, 32)
    empty = plain(clip_model, clip_tokenizer, "")
    assert torch.equal(cond[0].uncond, torch.cat([plain(clip_model, clip_tokenizer, "dog"), empty], dim=1))


def test_shorter_and_terms_repeat_their_last_state(encoder, clip_model, clip_tokenizer):
    """A1111's ``stack_conds``: an AND term with fewer chunks than another term of the same step
    repeats its last hidden state; the negative is then padded with empty chunks."""
    cond = encoder.encode("a " * 100 + "AND dog", "cat", steps=1)
    (long, _), (short, _) = cond[0].conds
    dog = plain(clip_model, clip_tokenizer, " dog")
    assert long.shape == short.shape == cond[0].uncond.shape == (1, 154, 32)
    assert torch.equal(short, torch.cat([dog, dog[:, -1:].expand(-1, 77, -1)], dim=1))
    empty = plain(clip_model, clip_tokenizer, "")
    assert torch.equal(cond[0].uncond, torch.cat([plain(clip_model, clip_tokenizer, "cat"), empty], dim=1))


def test_lengths_are_matched_per_step(encoder, clip_model, clip_tokenizer):
    """A schedule that lengthens a term only at later steps leaves the earlier steps one chunk."""
    cond = encoder.encode("[dog:" + "a " * 100 + ":1] AND cat", steps=2)
    assert cond[0].conds[0][0].shape == cond[0].uncond.shape == (1, 77, 32)
    assert cond[1].conds[1][0].shape == cond[1].uncond.shape == (1, 154, 32)


def test_sd2_style_pad_token_matches_diffusers_padding():
    tok = make_clip_tokenizer(pad_token="!")  # SD 2.x pads with "!" (id 0), not EOS
    model = make_clip_model(tok, seed=1)
    enc = PromptEncoder(tok, model)
    assert tok.pad_token_id != tok.eos_token_id
    assert torch.equal(enc.encode_text("red cat"), plain(model, tok, "red cat"))


def test_clip_skip_takes_an_earlier_layer_through_the_final_norm(clip_tokenizer, clip_model):
    enc = PromptEncoder(clip_tokenizer, clip_model, clip_skip=2)
    ids = clip_tokenizer("red cat", padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        hidden = clip_model(input_ids=ids, output_hidden_states=True).hidden_states[-2]
        expected = clip_model.final_layer_norm(hidden)
    assert torch.equal(enc.encode_text("red cat"), expected)


# -- textual inversion -------------------------------------------------------------------


def extended_vocab_reference(model, tokenizer, before: str, vectors: torch.Tensor, after: str) -> torch.Tensor:
    """Independent reference for an embedding: a copy of the model whose vocabulary gains one
    row per vector (ComfyUI's way), run on ids that use those rows."""
    import copy

    ref = copy.deepcopy(model)
    table = ref.get_input_embeddings().weight.data
    first_new = table.shape[0]
    ref.resize_token_embeddings(first_new + len(vectors))
    ref.get_input_embeddings().weight.data[first_new:] = vectors
    ids = (
        [tokenizer.bos_token_id]
        + tokenizer(before, add_special_tokens=False).input_ids
        + list(range(first_new, first_new + len(vectors)))
        + tokenizer(after, add_special_tokens=False).input_ids
    )
    ids += [tokenizer.eos_token_id] * (77 - len(ids))
    with torch.no_grad():
        return ref(input_ids=torch.tensor([ids])).last_hidden_state


def test_textual_inversion_safetensors(tmp_path, clip_tokenizer, clip_model):
    vectors = torch.randn(2, 32, generator=torch.Generator().manual_seed(3))
    save_file({"emb_params": vectors}, str(tmp_path / "mystyle.safetensors"))
    enc = PromptEncoder(clip_tokenizer, clip_model, embeddings_dir=tmp_path)
    out = enc.encode_text("red mystyle photo")
    expected = extended_vocab_reference(clip_model, clip_tokenizer, "red", vectors, "photo")
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    # positions before the embedding are untouched (causal attention), later ones change
    base = PromptEncoder(clip_tokenizer, clip_model).encode_text("red x x photo")
    assert torch.equal(out[0, :2], base[0, :2])
    assert not torch.allclose(out[0, 2:4], base[0, 2:4])


def test_textual_inversion_pt_weights_only(tmp_path, clip_tokenizer, clip_model):
    vectors = torch.randn(3, 32, generator=torch.Generator().manual_seed(4))
    torch.save({"string_to_param": {"*": vectors}, "name": "mystyle", "step": 100}, tmp_path / "mystyle.pt")
    enc = PromptEncoder(clip_tokenizer, clip_model, embeddings_dir=tmp_path)
    out = enc.encode_text("red (mystyle:1.2) photo")
    z = extended_vocab_reference(clip_model, clip_tokenizer, "red", vectors, "photo")[0]
    m = torch.ones(77)
    m[2:5] = 1.2  # the weight applies to every vector of the embedding
    scaled = z * m[:, None]
    torch.testing.assert_close(out[0], scaled * (z.mean() / scaled.mean()), rtol=1e-5, atol=1e-6)


class _Tripwire:
    """Unpickling this would create a file: proof of whether a loader runs pickled code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_code_is_refused_not_run(tmp_path, clip_tokenizer, clip_model):
    marker = tmp_path / "ran"
    folder = tmp_path / "embeddings"
    folder.mkdir()
    with open(folder / "evil.pt", "wb") as f:
        pickle.dump({"string_to_param": {"*": _Tripwire(marker)}}, f)
    save_file({"a": torch.zeros(1, 8), "b": torch.zeros(1, 8)}, str(folder / "ambiguous.safetensors"))
    save_file({"emb_params": torch.zeros(1, 16)}, str(folder / "narrow.safetensors"))  # wrong width
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = PromptEncoder(clip_tokenizer, clip_model, embeddings_dir=folder)
    assert enc.embeddings == {}
    assert not marker.exists()
    skipped = sorted(str(w.message).split(":")[1].strip() for w in caught if "embedding skipped" in str(w.message))
    assert skipped == ["ambiguous.safetensors", "evil.pt", "narrow.safetensors"]


def test_unknown_embedding_name_is_just_text(tmp_path, clip_tokenizer, clip_model):
    save_file({"emb_params": torch.ones(1, 32)}, str(tmp_path / "mystyle.safetensors"))
    enc = PromptEncoder(clip_tokenizer, clip_model, embeddings_dir=tmp_path)
    # not a whole word: tokenized as text
    assert torch.equal(enc.encode_text("mystyles"), plain(clip_model, clip_tokenizer, "mystyles"))
