"""No string makes the parsers raise, and some invariants hold for every string."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from video.prompts import parse_weights, schedule, split_and

# Mostly the language's own characters and words, so the fuzzing reaches deep into the grammar.
PIECES = list("ab ()[]{}:|\\.,-+1e0\n") + ["BREAK", "AND", "0.5", ":1.2)", "[x:y:3]", "[a|b]", "\\(", "::", "é"]
prompts = st.one_of(st.lists(st.sampled_from(PIECES), max_size=40).map("".join), st.text(max_size=60))


@settings(max_examples=300, deadline=None)
@given(prompts)
def test_parse_weights_never_raises(text):
    out = parse_weights(text)
    assert out and all(isinstance(t, str) and isinstance(w, float) for t, w in out)
    if out != [("", 1.0)]:
        assert all(t for t, _ in out)  # no empty runs
    for (t1, w1), (t2, w2) in zip(out, out[1:], strict=False):
        assert w1 != w2 or "BREAK" in (t1, t2)  # equal neighbours were merged


@settings(max_examples=300, deadline=None)
@given(prompts, st.integers(min_value=1, max_value=30))
def test_schedule_never_raises(text, steps):
    out = schedule(text, steps)
    ends = [end for end, _ in out]
    assert ends == sorted(set(ends)) and ends[-1] == steps and ends[0] >= 1
    if "[" not in text:  # only square brackets schedule
        assert out == [(steps, text)]


@pytest.mark.filterwarnings("ignore:prompt ends in")  # random prompts end in ':number' now and then
@settings(max_examples=300, deadline=None)
@given(prompts)
def test_split_and_never_raises(text):
    terms = split_and(text)
    assert len(terms) == len(re.findall(r"\bAND\b", text)) + 1
    assert all(t in text and isinstance(w, float) for t, w in terms)
