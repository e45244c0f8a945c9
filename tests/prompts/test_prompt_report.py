"""``format_prompt_report`` and the ``video prompt`` subcommand."""

from __future__ import annotations

import argparse

import pytest

from video.prompts import format_prompt_report
from video.prompts.cli import add_prompt_command


def test_report_shows_schedule_weights_and_terms():
    report = format_prompt_report("a (cat:1.5) [on:off:0.5] BREAK x AND dog:0.5", steps=10)
    lines = report.splitlines()
    assert "AND terms: 2" in lines
    assert "term 1 (weight 1): 'a (cat:1.5) [on:off:0.5] BREAK x'" in lines
    assert "  steps 1-5: 'a (cat:1.5) on BREAK x'" in lines
    assert "    weights: 'a ' x1 | 'cat' x1.5 | ' on' x1 | BREAK | 'x' x1" in lines
    assert "  steps 6-10: 'a (cat:1.5) off BREAK x'" in lines
    assert "term 2 (weight 0.5): ' dog'" in lines


def test_report_single_step_and_single_term():
    report = format_prompt_report("[a|b]", steps=2)
    assert report.splitlines()[2:] == ["step 1: 'a'", "  weights: 'a' x1", "step 2: 'b'", "  weights: 'b' x1"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="video")
    add_prompt_command(parser.add_subparsers(dest="command", required=True))
    return parser


def test_prompt_subcommand(capsys):
    args = _parser().parse_args(["prompt", "a [b:c:0.5]", "--steps", "4"])
    assert args.steps == 4
    assert args.func(args) == 0
    assert capsys.readouterr().out == format_prompt_report("a [b:c:0.5]", 4) + "\n"
    assert _parser().parse_args(["prompt", "x"]).steps == 20


def test_prompt_subcommand_rejects_zero_steps(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["prompt", "x", "--steps", "0"])
