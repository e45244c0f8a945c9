"""``(word:w)`` on a Wan (UMT5) text encoder weights only the word's own tokens, by ComfyUI's
rule ``empty + w * (z - empty)``. A1111's mean-preserving rescale (CLIP's default, kept there)
divided by the mean of UMT5's states, which sits near zero: one ``(green:1.3)`` scaled every
token of "dog city (green:1.3)" by about -3.6 and of "sea the sky (green:1.3)" by about -0.03.

``empty`` is ComfyUI's ``z_empty`` (comfy/sd1_clip.py ``ClipTokenWeightEncoder``): the empty
token row (EOS, then padding) through its UMT5 encoder, built with ``enable_attention_masks`` and
``zero_out_masked``, so every masked position of it is zero. The anchor used to be the raw
states under the mask (norm 5.7 at position 1 here), so ``(red:0)`` gave a padding vector."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from video.prompts import PromptEncoder

FIXTURES = Path(__file__).parents[1] / "edit" / "vace_fixtures.py"


@pytest.fixture(scope="module")
def umt5():
    spec = importlib.util.spec_from_file_location("vace_fixtures_for_t5_weights", FIXTURES)
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    return fx.tiny_text()  # the tiny random UMT5 of the tiny Wan folders


def _comfy_z_empty(tok, model) -> torch.Tensor:
    """ComfyUI's ``z_empty`` for UMT5: ``gen_empty_tokens`` (no start token: EOS, then padding),
    encoded with the attention mask, then ``z *= attention_mask`` (``zero_out_masked=True``)."""
    ids = torch.tensor([[tok.eos_token_id] + [tok.pad_token_id] * 511])
    mask = torch.tensor([[1] + [0] * 511])
    with torch.no_grad():
        z = model(input_ids=ids, attention_mask=mask).last_hidden_state
    return (z * mask.unsqueeze(-1).float())[0]


def _comfy_weighted(z: torch.Tensor, weights: list[float], z_empty: torch.Tensor) -> torch.Tensor:
    """``encode_token_weights``' loop, as ComfyUI writes it: each token j of weight != 1 becomes
    ``(z[j] - z_empty[j]) * weight + z_empty[j]``; the others stay."""
    out = z.clone()
    for j, weight in enumerate(weights):
        if weight != 1.0:
            out[j] = (z[j] - z_empty[j]) * weight + z_empty[j]
    return out


@pytest.mark.parametrize("plain, weighted", [("dog city green", "dog city (green:1.3)"),
                                             ("sea the sky green", "sea the sky (green:1.3)"),
                                             ("a red kite over the sea", "a (red:0.5) kite over the sea")])
def test_a_weight_moves_only_its_own_tokens(umt5, plain, weighted):
    tok, model = umt5
    enc = PromptEncoder(tok, model)
    assert enc.kind == "t5" and enc.weight_mode == "comfy"
    tokens = enc.t5_tokens(weighted)
    assert [t.id for t in tokens] == [t.id for t in enc.t5_tokens(plain)]  # the weight changes no id
    w = torch.tensor([t.weight for t in tokens] + [1.0])  # + EOS
    n, hit = len(w), w != 1
    assert hit.any() and (~hit).any()
    z, out = enc.encode_text(plain)[0], enc.encode_text(weighted)[0]
    assert torch.equal(out[:n][~hit], z[:n][~hit])  # every other token, EOS included: untouched
    want = _comfy_weighted(z[:n], w.tolist(), _comfy_z_empty(tok, model))
    torch.testing.assert_close(out[:n], want, rtol=1e-6, atol=1e-6)
    assert not torch.allclose(out[:n][hit], z[:n][hit])
    assert out[n:].abs().sum() == 0  # the padding stays zero, as WanPipeline's


def test_the_anchor_is_the_empty_prompt_as_encoded(umt5):
    """After the first token ComfyUI's ``z_empty`` is zero, so ``(word:w)`` is ``w * z`` there and
    ``(word:0)`` a zero vector; the anchor is what this encoder itself computes for ""."""
    tok, model = umt5
    enc = PromptEncoder(tok, model)
    z, n = enc.encode_text("a red kite")[0], len(enc.t5_tokens("a red kite"))
    empty = enc.encode_text("")[0]
    assert empty[1:].abs().sum() == 0 and empty[0].abs().sum() > 0  # EOS, then zeros
    assert torch.equal(enc._empty(), empty)
    hit = [j for j, t in enumerate(enc.t5_tokens("a (red:0) kite")) if t.weight == 0]
    assert hit and hit[0] > 0 and len(enc.t5_tokens("a (red:0) kite")) == n
    zero = enc.encode_text("a (red:0) kite")[0]
    assert zero[hit].abs().sum() == 0
    twice = enc.encode_text("a (red:2) kite")[0]
    torch.testing.assert_close(twice[hit], 2 * z[hit], rtol=1e-6, atol=1e-6)


def test_weight_one_is_no_weight(umt5):
    tok, model = umt5
    enc = PromptEncoder(tok, model)
    assert torch.equal(enc.encode_text("dog city (green:1.0)"), enc.encode_text("dog city green"))
    assert torch.equal(enc.encode_text("(a red kite:1)"), enc.encode_text("a red kite"))


def test_clip_keeps_a1111(clip_tokenizer, clip_model):
    """CLIP's weighting is unchanged: A1111's rescaled one, as A1111 and the SD prompts expect."""
    assert PromptEncoder(clip_tokenizer, clip_model).weight_mode == "a1111"
