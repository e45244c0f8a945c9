"""A prompt without ``AND`` whose end reads as a term weight (A1111's ``:number``): the parse
still computes it (``"a cinematic shot, 16:9"`` guides at 9 times the scale, as in A1111), but
it warns once, in the parse, so ``video prompt`` and renders both say so; and the report shows
the weight of a lone term, which it used to hide."""

from __future__ import annotations

import warnings

import pytest

from video.prompts import PromptEncoder, format_prompt_report, split_and


def _warned(fn, *args) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = fn(*args)
    return out, [str(w.message) for w in seen]


def test_a_lone_trailing_weight_is_kept_and_warned():
    terms, msgs = _warned(split_and, "a cinematic shot, 16:9")
    assert terms == [("a cinematic shot, 16", 9.0)]  # A1111's parse, unchanged
    assert len(msgs) == 1
    assert msgs[0].startswith("prompt ends in ':9', read as a weight x9 of the guidance (A1111's AND syntax)")
    assert "'16:9,'" in msgs[0] and "no escape" in msgs[0]
    terms, msgs = _warned(split_and, "a cat : 1.5")
    assert terms == [("a cat", 1.5)] and "': 1.5'" in msgs[0] and "'cat : 1.5,'" in msgs[0]


def test_a_lone_weight_of_one_still_warns_that_the_text_loses_it():
    terms, msgs = _warned(split_and, "square 1:1")
    assert terms == [("square 1", 1.0)] and len(msgs) == 1
    assert "the guidance is unchanged, but the text loses it" in msgs[0] and "'1:1,'" in msgs[0]


@pytest.mark.parametrize("prompt", ["a cat", "a AND b:2", "shot, 16:9,", "16:9 widescreen", "a (cat:1.5)"])
def test_no_warning_without_a_lone_weight(prompt):
    _, msgs = _warned(split_and, prompt)
    assert msgs == []


def test_the_suggested_spelling_is_read_as_text():
    assert split_and("a cinematic shot, 16:9,") == [("a cinematic shot, 16:9,", 1.0)]
    # neither a backslash nor spaces keep the colon as text (what the warning says)
    for prompt in ("a cinematic shot, 16\\:9", "a cinematic shot, 16 : 9"):
        terms, msgs = _warned(split_and, prompt)
        assert terms[0][1] == 9.0 and len(msgs) == 1


def test_the_report_shows_a_lone_terms_weight():
    report, msgs = _warned(format_prompt_report, "a cat:1.5", 1)
    assert report.splitlines() == ["prompt: 'a cat:1.5'", "steps: 1",
                                   "term weight: 1.5 (the guidance is multiplied by it)",
                                   "step 1: 'a cat'", "  weights: 'a cat' x1"]
    assert len(msgs) == 1
    assert "term weight" not in format_prompt_report("a cat", 1)


def test_video_prompt_and_encode_warn(capsys, clip_tokenizer, clip_model):
    from video.cli import main

    assert main(["prompt", "a cinematic shot, 16:9", "--steps", "1"]) == 0
    out, err = capsys.readouterr()
    assert "term weight: 9" in out
    assert [line for line in err.splitlines() if "prompt ends in" in line] == [
        line for line in err.splitlines() if line.startswith("warning: prompt ends in ':9'")]
    assert err.count("prompt ends in") == 1
    cond, msgs = _warned(PromptEncoder(clip_tokenizer, clip_model).encode, "a cat:0.5", "", 2)
    assert [m for m in msgs if m.startswith("prompt ends in ':0.5'")] and cond[0].conds[0][1] == 0.5
