"""Prompt editing against AUTOMATIC1111's ``get_learned_conditioning_prompt_schedules``
doctests (10 steps; copied verbatim as the independent reference) and the issue's table."""

from __future__ import annotations

import pytest

from video.prompts import schedule, text_at_step
from video.prompts.schedule import MAX_DEPTH, switch_step

ALT = [[1, "a"], [2, "(b:1.1)"], [3, "a"], [4, "(b:1.1)"], [5, "a"], [6, "(b:1.1)"], [7, "a"], [8, "(b:1.1)"], [9, "a"], [10, "(b:1.1)"]]
A1111_DOCTESTS = [
    ("test", [[10, "test"]]),
    ("a [b:3]", [[3, "a "], [10, "a b"]]),
    ("a [b: 3]", [[3, "a "], [10, "a b"]]),
    ("a [[[b]]:2]", [[2, "a "], [10, "a [[b]]"]]),
    ("[(a:2):3]", [[3, ""], [10, "(a:2)"]]),
    ("a [b : c : 1] d", [[1, "a b  d"], [10, "a  c  d"]]),
    ("a[b:[c:d:2]:1]e", [[1, "abe"], [2, "ace"], [10, "ade"]]),
    ("a [unbalanced", [[10, "a [unbalanced"]]),
    ("a [b:.5] c", [[5, "a  c"], [10, "a b c"]]),
    ("a [{b|d{:.5] c", [[5, "a  c"], [10, "a {b|d{ c"]]),
    ("((a][:b:c [d:3]", [[3, "((a][:b:c "], [10, "((a][:b:c d"]]),
    ("[a|(b:1.1)]", ALT),
    ("[fe|]male", [[1, "female"], [2, "male"], [3, "female"], [4, "male"], [5, "female"], [6, "male"], [7, "female"], [8, "male"], [9, "female"], [10, "male"]]),
    ("[fe|||]male", [[1, "female"], [2, "male"], [3, "male"], [4, "male"], [5, "female"], [6, "male"], [7, "male"], [8, "male"], [9, "female"], [10, "male"]]),
]


@pytest.mark.parametrize(("prompt", "expected"), A1111_DOCTESTS)
def test_a1111_doctests_exactly(prompt, expected):
    assert schedule(prompt, 10) == [tuple(x) for x in expected]


def test_a1111_file_header_example():
    # the worked example at the top of A1111's prompt_parser.py, 100 steps
    prompt = ("fantasy landscape with a [mountain:lake:0.25] and [an oak:a christmas tree:0.75]"
              "[ in foreground::0.6][ in background:0.25] [shoddy:masterful:0.5]")
    assert schedule(prompt, 100) == [
        (25, "fantasy landscape with a mountain and an oak in foreground shoddy"),
        (50, "fantasy landscape with a lake and an oak in foreground in background shoddy"),
        (60, "fantasy landscape with a lake and an oak in foreground in background masterful"),
        (75, "fantasy landscape with a lake and an oak in background masterful"),
        (100, "fantasy landscape with a lake and a christmas tree in background masterful"),
    ]


def test_table_rows():
    assert schedule("[a:b:4]", 10) == [(4, "a"), (10, "b")]  # t >= 1: a step number
    assert schedule("[a:b:0.3]", 10) == [(3, "a"), (10, "b")]  # t < 1: a fraction
    assert schedule("x[ y:4]", 10) == [(4, "x"), (10, "x y")]  # add after t
    assert schedule("x[ y::4]", 10) == [(4, "x y"), (10, "x")]  # remove after t
    assert schedule("[a|b|c]", 4) == [(1, "a"), (2, "b"), (3, "c"), (4, "a")]


@pytest.mark.parametrize(
    ("when", "steps", "expected"),
    [(0.5, 10, 5), (0.25, 10, 2), (0.99, 10, 9), (1, 10, 1), (1.5, 10, 1), (3, 10, 3), (25, 10, 10), (0, 10, 0), (-2, 10, 0), (0.05, 10, 0)],
)
def test_switch_step_rule(when, steps, expected):
    # the rule: t < 1 a fraction (truncated), t >= 1 a step number, capped at steps
    assert switch_step(when, steps) == expected


def test_switch_before_first_step_means_after_throughout():
    assert schedule("[a:b:0]", 10) == [(10, "b")]
    assert schedule("[a:b:-3]", 10) == [(10, "b")]
    assert schedule("[a:b:0.05]", 10) == [(10, "b")]


def test_switch_after_last_step_means_before_throughout():
    assert schedule("[a:b:50]", 10) == [(10, "a")]
    assert schedule("[a: b :1e1]", 10) == [(10, "a")]  # exponent numbers as in lark's SIGNED_NUMBER


def test_nesting_and_emphasis_inside_schedules():
    assert schedule("[[a:b:3]]", 10) == [(3, "[a]"), (10, "[b]")]
    assert schedule("(a:[b:c:3])", 10) == [(3, "(a:b)"), (10, "(a:c)")]
    assert schedule("[(x:1.2):[y|z]:2]", 4) == [(1, "(x:1.2)"), (2, "(x:1.2)"), (3, "y"), (4, "z")]
    assert schedule("[a|[b:c:2]]", 4) == [(1, "a"), (2, "b"), (3, "a"), (4, "c")]


def test_malformed_constructs_are_text():
    for prompt in ["[a:b:c:3]", "[a:(b:3]", "[a:b:x]", "a [b:3", "a b:3]", "[a|b", "(a|b"]:
        assert schedule(prompt, 10) == [(10, prompt)]


def test_escaped_brackets_do_not_schedule():
    assert schedule("\\[a:b:3\\]", 10) == [(10, "\\[a:b:3\\]")]
    # escapes are kept for the emphasis pass
    assert schedule("[\\(a\\):b:3]", 10) == [(3, "\\(a\\)"), (10, "b")]


def test_stray_bar_is_text_and_does_not_disable_schedules():
    # A1111 (lark) would give the whole prompt verbatim here
    assert schedule("a | b [c:d:5]", 10) == [(5, "a | b c"), (10, "a | b d")]


def test_last_entry_ends_at_steps_and_text_at_step():
    entries = schedule("[a:b:0.5]", 7)
    assert entries[-1][0] == 7
    assert [text_at_step(entries, s) for s in range(1, 8)] == ["a", "a", "a", "b", "b", "b", "b"]


def test_deep_nesting_falls_back_to_verbatim():
    deep = "[" * (MAX_DEPTH + 5) + "a:b:2" + "]" * (MAX_DEPTH + 5)
    assert schedule(deep, 4) == [(4, deep)]
    shallow = "(" * 20 + "[a:b:2]" + ")" * 20
    assert schedule(shallow, 4) == [(2, "(" * 20 + "a" + ")" * 20), (4, "(" * 20 + "b" + ")" * 20)]


def test_steps_must_be_positive():
    with pytest.raises(ValueError):
        schedule("a", 0)
