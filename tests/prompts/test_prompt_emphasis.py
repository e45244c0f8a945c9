"""The emphasis pass against AUTOMATIC1111's ``parse_prompt_attention`` docstring examples
(copied verbatim as the independent reference) and the issue's table."""

from __future__ import annotations

import pytest

from video.prompts import parse_weights

# A1111 modules/prompt_parser.py, parse_prompt_attention's doctests: input -> expected output.
A1111_DOCTESTS = [
    ("normal text", [["normal text", 1.0]]),
    ("an (important) word", [["an ", 1.0], ["important", 1.1], [" word", 1.0]]),
    ("(unbalanced", [["unbalanced", 1.1]]),
    ("\\(literal\\]", [["(literal]", 1.0]]),
    ("(unnecessary)(parens)", [["unnecessaryparens", 1.1]]),
    (
        "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
        [
            ["a ", 1.0],
            ["house", 1.5730000000000004],
            [" ", 1.1],
            ["on", 1.0],
            [" a ", 1.1],
            ["hill", 0.55],
            [", sun, ", 1.1],
            ["sky", 1.4641000000000006],
            [".", 1.1],
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), A1111_DOCTESTS)
def test_a1111_docstring_examples_exactly(text, expected):
    # exact float equality: the merge of equal-weight runs depends on it
    assert parse_weights(text) == [tuple(x) for x in expected]


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("x", 1.0),
        ("(x)", 1.1),
        ("((x))", 1.1**2),
        ("(((x)))", 1.1**3),
        ("(x:1.7)", 1.7),
        ("(x: 0.25 )", 0.25),
        ("(x:-1)", -1.0),
        ("[x]", 1 / 1.1),
        ("[[[x]]]", (1 / 1.1) ** 3),
        ("((x:2))", 2 * 1.1),  # an explicit weight nested in a plain paren still gets x1.1
        ("[(x:2)]", 2 / 1.1),
        ("(x:１.２)", 1.2),  # full-width digits (A1111 reads them: \d, float())
    ],
)
def test_table_weights(text, weight):
    [(got_text, got)] = parse_weights(text)
    assert got_text == "x"
    assert got == pytest.approx(weight, rel=1e-12)


def test_issue_table_rounded_values():
    assert round(parse_weights("[[[x]]]")[0][1], 3) == 0.751
    assert round(parse_weights("(((x)))")[0][1], 3) == 1.331


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\(a\\)", [("(a)", 1.0)]),
        ("\\[a\\]", [("[a]", 1.0)]),
        ("\\{a\\}", [("{a}", 1.0)]),
        ("a\\\\b", [("a\\b", 1.0)]),
        ("(a\\)b)", [("a)b", 1.1)]),  # an escaped closer does not close
        ("\\q", [("q", 1.0)]),  # A1111 drops a backslash that escapes nothing
    ],
)
def test_escapes(text, expected):
    assert parse_weights(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a)", [("a)", 1.0)]),  # closer with nothing open: literal
        ("a]", [("a]", 1.0)]),
        ("a}", [("a}", 1.0)]),
        ("[unbalanced", [("unbalanced", 1 / 1.1)]),
        ("{unbalanced", [("{unbalanced", 1.0)]),
        ("a:1.5)", [("a:1.5)", 1.0)]),  # weight closer with no "(" open: literal
        ("((a)", [("a", 1.1 * 1.1)]),
        ("([a)]", [("a", 1.1 * (1 / 1.1))]),  # each bracket kind has its own stack
        ("(a:b)", [("a:b", 1.1)]),  # ":" + non-number is text; ")" closes with x1.1
    ],
)
def test_unbalanced_and_odd_brackets(text, expected):
    got = parse_weights(text)
    assert [t for t, _ in got] == [t for t, _ in expected]
    assert [w for _, w in got] == pytest.approx([w for _, w in expected], rel=1e-12)


def test_invalid_number_weight_does_not_raise():
    # A1111 raises ValueError on float("1.2.3"); here ":" and the text stay literal
    assert parse_weights("(a:1.2.3)") == [("a:1.2.3", 1.1)]
    assert parse_weights("(a:.)") == [("a:.", 1.1)]


def test_equal_weight_runs_merge():
    assert parse_weights("(a)(b) c") == [("ab", 1.1), (" c", 1.0)]
    assert parse_weights("(a:1.5)(b:1.5)") == [("ab", 1.5)]


def test_break_is_its_own_item():
    assert parse_weights("a BREAK b") == [("a", 1.0), ("BREAK", -1.0), ("b", 1.0)]
    assert parse_weights("a, BREAK, b") == [("a,", 1.0), ("BREAK", -1.0), (", b", 1.0)]
    assert parse_weights("BREAK") == [("BREAK", -1.0)]
    # only the whole upper-case word
    assert parse_weights("BREAKFAST break") == [("BREAKFAST break", 1.0)]


def test_break_inside_brackets_keeps_its_marker():
    # A1111 would multiply the marker to -1.1 and lose the break; we keep it
    assert parse_weights("(a BREAK b)") == [("a", 1.1), ("BREAK", -1.0), ("b", 1.1)]


def test_two_breaks_do_not_merge():
    assert parse_weights("a BREAK BREAK b") == [("a", 1.0), ("BREAK", -1.0), ("BREAK", -1.0), ("b", 1.0)]


def test_empty_prompt():
    assert parse_weights("") == [("", 1.0)]
    assert parse_weights("()") == [("", 1.0)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A1111's parse_prompt_attention has no brace rule: braces are text, weights unchanged
        ("{x}", [("{x}", 1.0)]),
        ("{{{x}}}", [("{{{x}}}", 1.0)]),
        ("a {red|blue} cat", [("a {red|blue} cat", 1.0)]),  # ComfyUI's random choice: text here
        ("({x})", [("{x}", 1.1)]),
        ("{(x:1.5)}", [("{", 1.0), ("x", 1.5), ("}", 1.0)]),
        ("[{x]}", [("{x", 1 / 1.1), ("}", 1.0)]),  # a brace neither opens nor closes anything
        ("\\{x\\}", [("{x}", 1.0)]),  # A1111 drops a backslash before a brace: nothing to escape
    ],
)
def test_braces_are_plain_text_as_in_a1111(text, expected):
    assert parse_weights(text) == expected
