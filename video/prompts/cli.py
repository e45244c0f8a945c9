"""``video prompt "..." --steps N``: print how a prompt is parsed (see :mod:`.report`)."""

from __future__ import annotations

import argparse


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def run_prompt_command(args: argparse.Namespace) -> int:
    """Print the report; always succeeds (any string is a valid prompt). The report is imported
    here: it imports torch (via :mod:`video.prompts.composable`), which building the parser for
    ``video --help`` does not need."""
    from video.prompts.report import format_prompt_report

    print(format_prompt_report(args.text, args.steps))
    return 0


def add_prompt_command(subparsers) -> argparse.ArgumentParser:
    """Register ``prompt`` on an ``add_subparsers()`` object; the handler is ``args.func``."""
    p = subparsers.add_parser(
        "prompt",
        help="show how a prompt is parsed: weights, schedule, AND terms",
        description="Show the AND terms of a prompt, its text on each step ([a:b:t], [a|b]) and the "
        "weight of every run of text ((x), [x], (x:w), BREAK).",
    )
    p.add_argument("text", help="the prompt (quote it)")
    p.add_argument("--steps", type=_positive_int, default=20, help="sampling steps (default 20)")
    p.set_defaults(func=run_prompt_command)
    return p


__all__ = ["add_prompt_command", "run_prompt_command"]
