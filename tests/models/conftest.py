"""Fixtures of the model tests: the tiny SVD (tests/conftest.py) as a single file in sgm's layout."""

from __future__ import annotations

import json

import pytest

from video.config import to_dict
from video.models.sgm import CONFIG_METADATA_KEY, to_sgm_state_dict


@pytest.fixture(scope="module")
def sd(tiny_models):
    """The tiny SVD's weights under Stability's (sgm) key names, as its published files hold them."""
    return to_sgm_state_dict(tiny_models)


@pytest.fixture(scope="module")
def meta(tiny_models):
    """The safetensors metadata our own exports carry: the model's config."""
    return {CONFIG_METADATA_KEY: json.dumps(to_dict(tiny_models.config))}
