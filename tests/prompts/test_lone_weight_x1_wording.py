"""The lone-weight warning for a weight of 1 (``a:1.``, ``square 1:1``) reads as a sentence:
it said "read as the guidance is unchanged, but the text loses it"."""

from __future__ import annotations

import warnings

import pytest

from video.prompts import split_and


def _warning(prompt: str) -> str:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        split_and(prompt)
    assert len(seen) == 1
    return str(seen[0].message)


@pytest.mark.parametrize("prompt,tail", [("a:1.", "':1.'"), ("square 1:1", "':1'"), ("a cat : 1.0", "': 1.0'")])
def test_a_weight_of_one_names_the_weight_then_what_it_does(prompt, tail):
    msg = _warning(prompt)
    assert msg.startswith(f"prompt ends in {tail}, read as a weight x1 (A1111's AND syntax): the guidance is "
                          "unchanged, but the text loses it; if that is not meant, put something after the number")
    assert "read as the guidance" not in msg


def test_other_weights_read_as_before():
    assert _warning("a cat:0.5").startswith(
        "prompt ends in ':0.5', read as a weight x0.5 of the guidance (A1111's AND syntax); if that is not meant")
