"""``video.prompts`` and the ``video prompt`` command's parser import no torch: building
``video``'s parser (``video --help``, every subcommand's ``--help``, a mistyped flag) imported it
through ``video.prompts.cli -> video.prompts -> video.prompts.composable``, seconds before any
output. The package's names still import as before, on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_the_prompt_parser_imports_no_torch():
    out = _fresh("import argparse, sys\n"
                 "from video.prompts.cli import add_prompt_command\n"
                 "import video.prompts\n"
                 "p = argparse.ArgumentParser(); add_prompt_command(p.add_subparsers())\n"
                 "p.parse_args(['prompt', 'a (cat:1.2)'])\n"
                 "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    assert out == "[]"


def test_video_prompt_still_prints_its_report():
    out = _fresh("import argparse\n"
                 "from video.prompts.cli import add_prompt_command\n"
                 "p = argparse.ArgumentParser(); add_prompt_command(p.add_subparsers())\n"
                 "a = p.parse_args(['prompt', '[a:b:2]', '--steps', '3']); a.func(a)")
    assert "a" in out and "b" in out and "step" in out.lower()


def test_every_name_of_the_package_imports():
    import importlib

    import video.prompts as vp

    composable, encode, report, schedule = (importlib.import_module(f"video.prompts.{m}")
                                            for m in ("composable", "encode", "report", "schedule"))
    assert vp.schedule is schedule.schedule  # the function, not its module of the same name
    assert vp.PromptEncoder is encode.PromptEncoder and vp.split_and is composable.split_and
    assert vp.format_prompt_report is report.format_prompt_report
    for name in vp.__all__:
        assert callable(getattr(vp, name)), name
    assert set(vp.__all__) <= set(dir(vp))
    with pytest.raises(AttributeError, match="has no attribute 'nosuch'"):
        vp.nosuch  # noqa: B018
