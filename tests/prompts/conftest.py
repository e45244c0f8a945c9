"""Fixtures for the prompt tests: tiny random text encoders (see prompt_tiny_models)."""

from __future__ import annotations

import pytest
from prompt_tiny_models import make_clip_model, make_clip_tokenizer, make_t5_tokenizer


@pytest.fixture(scope="session")
def clip_tokenizer():
    return make_clip_tokenizer()


@pytest.fixture(scope="session")
def clip_model(clip_tokenizer):
    return make_clip_model(clip_tokenizer)


@pytest.fixture(scope="session")
def t5_tokenizer():
    return make_t5_tokenizer()
