"""``(word:w)`` on a Wan (UMT5) text encoder weights only the word's own tokens, by ComfyUI's
rule ``empty + w * (z - empty)``. A1111's mean-preserving rescale (CLIP's default, kept there)
divided by the mean of UMT5's states, which sits near zero: one ``(green:1.3)`` scaled every
token of "dog city (green:1.3)" by about -3.6 and of "sea the sky (green:1.3)" by about -0.03."""

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


def _empty_states(tok, model) -> torch.Tensor:
    """The empty prompt's raw states, as the encoder reads it: EOS, then padding under the mask."""
    ids = torch.tensor([[tok.eos_token_id] + [tok.pad_token_id] * 511])
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=torch.tensor([[1] + [0] * 511])).last_hidden_state[0]


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
    empty = _empty_states(tok, model)[:n][hit]
    torch.testing.assert_close(out[:n][hit], empty + w[hit][:, None] * (z[:n][hit] - empty), rtol=1e-6, atol=1e-6)
    assert not torch.allclose(out[:n][hit], z[:n][hit])
    assert out[n:].abs().sum() == 0  # the padding stays zero, as WanPipeline's


def test_weight_one_is_no_weight(umt5):
    tok, model = umt5
    enc = PromptEncoder(tok, model)
    assert torch.equal(enc.encode_text("dog city (green:1.0)"), enc.encode_text("dog city green"))
    assert torch.equal(enc.encode_text("(a red kite:1)"), enc.encode_text("a red kite"))


def test_clip_keeps_a1111(clip_tokenizer, clip_model):
    """CLIP's weighting is unchanged: A1111's rescaled one, as A1111 and the SD prompts expect."""
    assert PromptEncoder(clip_tokenizer, clip_model).weight_mode == "a1111"
