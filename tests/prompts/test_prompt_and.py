"""``AND`` terms (A1111 ``get_multicond_prompt_list`` semantics) and composable guidance."""

from __future__ import annotations

import pytest
import torch

from video.prompts import composable_cfg, split_and


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a cat", [("a cat", 1.0)]),
        ("a cat AND a dog", [("a cat", 1.0), (" a dog", 1.0)]),
        ("a AND b:0.5", [("a", 1.0), (" b", 0.5)]),
        ("a AND b:０.５", [("a", 1.0), (" b", 0.5)]),  # full-width digits (A1111 reads them: \d, float())
        ("a:1.5 AND b : -0.3 ", [("a", 1.5), (" b", -0.3)]),
        ("a:2. AND b:.5", [("a", 2.0), (" b", 0.5)]),
        ("(x:1.2) AND y", [("(x:1.2)", 1.0), (" y", 1.0)]),  # a weight must end the term
        ("a:1:2", [("a:1", 2.0)]),
        ("ANDROID and AND_x", [("ANDROID and AND_x", 1.0)]),  # AND only as a whole upper-case word
        ("AND", [("", 1.0), ("", 1.0)]),
        ("a\nAND b:3\n", [("a", 1.0), (" b", 3.0)]),
    ],
)
def test_split_and(prompt, expected):
    import warnings

    with warnings.catch_warnings():  # a lone weighted term ("a:1:2") also warns: the parse is what counts here
        warnings.simplefilter("ignore")
        assert split_and(prompt) == expected


def test_composable_cfg_closed_form():
    g = torch.Generator().manual_seed(0)
    u, c1, c2 = (torch.randn(2, 3, generator=g) for _ in range(3))
    out = composable_cfg(u, [c1, c2], [1.0, 0.5], scale=7.0)
    assert torch.allclose(out, u + 7.0 * ((c1 - u) + 0.5 * (c2 - u)))
    # one term of weight 1 is plain classifier-free guidance
    assert torch.allclose(composable_cfg(u, [c1], [1.0], 5.0), u + 5.0 * (c1 - u))
    with pytest.raises(ValueError):
        composable_cfg(u, [c1], [1.0, 2.0], 5.0)
