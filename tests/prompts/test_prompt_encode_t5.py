"""PromptEncoder on tiny random T5 / UMT5 encoders, against the Wan convention as diffusers'
``WanPipeline._get_t5_prompt_embeds`` computes it: clean the text (``prompt_clean``), pad to
512 with a mask, encode, keep the real tokens, zero-pad back to 512."""

from __future__ import annotations

import pytest
import torch
from diffusers.pipelines.wan.pipeline_wan import prompt_clean
from prompt_tiny_models import make_t5_model

from video.prompts import PromptEncoder


@pytest.fixture(scope="module")
def t5_model(t5_tokenizer):
    return make_t5_model(t5_tokenizer, "UMT5EncoderModel")  # Wan's text encoder family


def wan_reference(model, tokenizer, text: str) -> tuple[torch.Tensor, int]:
    inputs = tokenizer(
        [prompt_clean(text)], padding="max_length", max_length=512, truncation=True, add_special_tokens=True,
        return_attention_mask=True, return_tensors="pt",
    )
    seq_len = int(inputs.attention_mask.gt(0).sum())
    with torch.no_grad():
        states = model(inputs.input_ids, inputs.attention_mask).last_hidden_state[0]
    real = states[:seq_len]
    return torch.cat([real, real.new_zeros(512 - seq_len, real.shape[1])])[None], seq_len


@pytest.mark.parametrize("cls_name", ["UMT5EncoderModel", "T5EncoderModel"])
def test_plain_prompt_matches_wan_padding(t5_tokenizer, cls_name):
    model = make_t5_model(t5_tokenizer, cls_name)
    enc = PromptEncoder(t5_tokenizer, model)
    assert enc.kind == "t5"
    text = "a red cat, photo of the sky"
    out = enc.encode_text(text)
    ref, n = wan_reference(model, t5_tokenizer, text)
    assert out.shape == (1, 512, 32)
    assert torch.equal(out, ref)
    assert out[0, n:].abs().sum() == 0 and out[0, :n].abs().sum(dim=1).min() > 0


def test_weights_a1111_on_real_tokens(t5_tokenizer, t5_model):
    enc = PromptEncoder(t5_tokenizer, t5_model, weight_mode="a1111")  # asked for: T5's default is comfy
    ref, n = wan_reference(t5_model, t5_tokenizer, "a red cat")  # ▁a ▁red ▁cat </s>
    out = enc.encode_text("a (red:1.5) cat")
    z = ref[0, :n]
    m = torch.tensor([1.0, 1.5, 1.0, 1.0])
    scaled = z * m[:, None]
    torch.testing.assert_close(out[0, :n], scaled * (z.mean() / scaled.mean()), rtol=1e-6, atol=1e-6)
    assert out[0, n:].abs().sum() == 0


def test_weights_comfy(t5_tokenizer, t5_model):
    """ComfyUI's anchor on UMT5 is the empty prompt with its masked positions zeroed
    (``zero_out_masked``), as the Wan convention zeroes them: position 1 of it is zero."""
    enc = PromptEncoder(t5_tokenizer, t5_model, weight_mode="comfy")
    ref, n = wan_reference(t5_model, t5_tokenizer, "a red cat")
    empty = wan_reference(t5_model, t5_tokenizer, "")[0][0]
    assert empty[1:].abs().sum() == 0
    out = enc.encode_text("a (red:0.5) cat")
    torch.testing.assert_close(out[0, 1], empty[1] + 0.5 * (ref[0, 1] - empty[1]))
    torch.testing.assert_close(out[0, 1], 0.5 * ref[0, 1])
    assert torch.equal(out[0, [0, 2, 3]], ref[0, [0, 2, 3]])
    assert out[0, n:].abs().sum() == 0


def test_break_is_ignored_and_and_terms_work(t5_tokenizer, t5_model):
    enc = PromptEncoder(t5_tokenizer, t5_model)
    assert torch.equal(enc.encode_text("a red BREAK cat"), wan_reference(t5_model, t5_tokenizer, "a red cat")[0])
    cond = enc.encode("a red cat AND sky:0.3", "dog", steps=2)
    assert cond[0].weights == [1.0, 0.3]
    assert torch.equal(cond[1].conds[1][0], wan_reference(t5_model, t5_tokenizer, " sky")[0])
    assert torch.equal(cond[0].uncond, wan_reference(t5_model, t5_tokenizer, "dog")[0])


def test_long_prompt_truncated_to_512_with_eos(t5_tokenizer, t5_model):
    enc = PromptEncoder(t5_tokenizer, t5_model)
    text = "cat " * 600
    with pytest.warns(UserWarning, match="truncated"):
        out = enc.encode_text(text)
    assert torch.equal(out, wan_reference(t5_model, t5_tokenizer, text)[0])


def test_textual_inversion_vectors_replace_token_embeddings(tmp_path, t5_tokenizer, t5_model):
    from safetensors.torch import save_file

    vector = torch.randn(1, 32, generator=torch.Generator().manual_seed(5))
    save_file({"emb_params": vector}, str(tmp_path / "mystyle.safetensors"))
    enc = PromptEncoder(t5_tokenizer, t5_model, embeddings_dir=tmp_path)
    out = enc.encode_text("a mystyle cat")
    # reference: the encoder run on inputs_embeds with row 1 swapped for the vector
    ids = t5_tokenizer("a cat cat", return_tensors="pt").input_ids  # ▁a ▁cat ▁cat </s>: 4 tokens
    with torch.no_grad():
        embeds = t5_model.get_input_embeddings()(ids)
        embeds[0, 1] = vector[0]
        ref = t5_model(inputs_embeds=embeds).last_hidden_state[0]
    torch.testing.assert_close(out[0, :4], ref, rtol=1e-5, atol=1e-5)
