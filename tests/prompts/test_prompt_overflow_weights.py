"""A weight float32 cannot hold, or one that makes the encoder's states overflow, is a one-line
error naming the prompt part. 1000 nested ``(`` (1.1 ** 1000 = 2.5e41) or ``(a cat:9...9)``
used to give inf/NaN conditioning and an all-black video reported as a success."""

from __future__ import annotations

import pytest
import torch
from prompt_tiny_models import make_t5_model

from video.prompts import PromptEncoder
from video.prompts.encode import PromptError

HUGE = [("(" * 1000 + "a cat", "'a cat'"), ("a (red cat:" + "9" * 50 + ") dog", "'red cat'"),
        ("a (dog:" + "9" * 400 + ")", "'dog'")]


@pytest.fixture(scope="module")
def t5(t5_tokenizer):
    return PromptEncoder(t5_tokenizer, make_t5_model(t5_tokenizer), max_length=32)


@pytest.fixture(scope="module")
def clip(clip_tokenizer, clip_model):
    return PromptEncoder(clip_tokenizer, clip_model)


@pytest.mark.parametrize("which", ["t5", "clip"])
@pytest.mark.parametrize("prompt, part", HUGE, ids=["1000-brackets", "50-digits", "400-digits"])
def test_a_weight_past_float32_is_refused_naming_its_part(request, which, prompt, part):
    enc = request.getfixturevalue(which)
    with pytest.raises(PromptError) as e:
        enc.encode(prompt, "", steps=2)
    assert "\n" not in str(e.value) and part in str(e.value) and "float32" in str(e.value)
    assert prompt not in enc.cache


def test_an_and_term_weight_past_float32_is_refused(t5):
    with pytest.raises(PromptError, match="'a dog' has AND term weight inf"):
        t5.encode("a cat AND a dog:" + "9" * 400, "", steps=2)


def test_a_finite_weight_that_overflows_the_states_is_refused(t5):
    """3e38 fits float32, but times a state of size ~1 it does not: the states are checked too."""
    prompt = "a (red:3" + "0" * 38 + ") cat"
    assert all(abs(s.weight) < torch.finfo(torch.float32).max for s in t5.segments(prompt))
    with pytest.raises(PromptError, match="'red' has weight 3e\\+38, which makes the text encoder's states overflow"):
        t5.encode_text(prompt)


def test_large_finite_weights_and_tiny_ones_still_encode(t5, clip):
    for enc in (t5, clip):
        for prompt in ("(" * 40 + "a cat", "[" * 8000 + "a cat", "(a cat:0)", "(a cat:-2)"):
            assert torch.isfinite(enc.encode_text(prompt)).all()


def test_the_pipeline_refuses_before_denoising():
    from video.runtime.img2vid import InputError
    from video.runtime.txt2vid import TextToVideo, build_tiny

    pipe = TextToVideo(build_tiny())
    steps = []
    for prompt, part in HUGE:
        with pytest.raises(InputError) as e:
            pipe(prompt, num_frames=1, height=32, width=32, num_inference_steps=2, on_step=lambda d, n: steps.append(d))
        assert "\n" not in str(e.value) and part in str(e.value)
    assert steps == []
