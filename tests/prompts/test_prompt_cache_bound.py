"""The prompt encoder's cache stays bounded. It kept every text it ever encoded: a long-lived
pipeline (the ComfyUI node keeps its TextToVideo) held 81 texts after 40 renders, each
(512, 4096) on real Wan's GPU. Now it keeps the ``cache_size`` most recently used texts and the
empty prompt, and a text that left it encodes to the same states again."""

from __future__ import annotations

import torch
from prompt_tiny_models import make_t5_model

from video.prompts import PromptEncoder


def test_the_cache_keeps_the_recent_texts_and_the_empty_prompt(t5_tokenizer):
    enc = PromptEncoder(t5_tokenizer, make_t5_model(t5_tokenizer), max_length=32, cache_size=3)
    first = enc.encode_text("a red cat").clone()
    enc.encode_text("")  # comfy's anchor and CFG's padding: never dropped
    for i in range(20):
        enc.encode(f"a cat number {i} [in|of] the sky", "a dog", steps=2)
        assert len(enc.cache) <= 3 + 1
    assert "" in enc.cache
    assert "a dog" in enc.cache  # the negative of every call: recently used
    assert "a cat number 19 of the sky" in enc.cache and "a cat number 18 of the sky" not in enc.cache
    assert "a red cat" not in enc.cache
    assert torch.equal(enc.encode_text("a red cat"), first)  # encoded again, the same states


def test_renders_do_not_grow_the_cache():
    """Renders of different prompts on the tiny pipeline: the cache stays at its bound (it
    held two more texts after each render)."""
    from video.runtime.txt2vid import TextToVideo, build_tiny

    pipe = TextToVideo(build_tiny())
    bound = pipe.prompts.cache_size + 1
    assert 2 <= bound <= 17
    for i in range(bound + 3):
        pipe(f"a red kite number {i} [over|under] the sea", num_frames=1, height=32, width=32, num_inference_steps=2)
    assert len(pipe.prompts.cache) <= bound
    assert "" in pipe.prompts.cache
