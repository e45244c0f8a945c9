"""``video eval`` without its ``.[eval]`` extra: a missing package is one ``error:`` line naming it
and the extra, before any video is read (it was a traceback from ``import cv2`` in
eval/temporal.py after the "skipped" notes). A package is made missing as Python sees an
uninstalled one: its name in ``sys.modules`` as None, so ``import`` raises ModuleNotFoundError."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from video.media import write_video

EXTRA = ("cv2", "matplotlib", "pandas", "pyarrow", "duckdb")  # the reviewer's set: all of .[eval] but scipy


@pytest.fixture
def generated(tmp_path):
    rng = np.random.default_rng(0)
    return write_video(rng.integers(0, 255, (4, 32, 32, 3), dtype=np.uint8), tmp_path / "a.mp4", fps=4)


@pytest.mark.parametrize(("missing", "module", "package"), [(EXTRA, "cv2", "opencv-python-headless"),
                                                             (("matplotlib",), "matplotlib", "matplotlib")])
def test_missing_eval_package_is_one_line(missing, module, package, generated, tmp_path, cli, monkeypatch):
    for name in missing:
        monkeypatch.setitem(sys.modules, name, None)
    out = tmp_path / "eval_out"
    p = cli("eval", generated, "--out", out, "--device", "cpu")
    assert p.returncode == 2, p.stderr
    assert p.errors == [f'error: video eval needs the {package} package (import {module}): pip install -e ".[eval]"'], \
        p.stderr
    assert "Traceback" not in p.stderr and "skipped" not in p.stderr  # nothing was scored first
    assert not out.exists()


def test_debug_keeps_the_traceback(generated, tmp_path, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ModuleNotFoundError):
        cli("--debug", "eval", generated, "--out", tmp_path / "o", "--device", "cpu")


def test_another_missing_module_is_not_called_the_extras():
    """Only the extra's own packages get the install line: any other ImportError is a bug."""
    from eval.cli import missing_extra

    assert missing_extra(ModuleNotFoundError("x", name="cv2")) == (
        'video eval needs the opencv-python-headless package (import cv2): pip install -e ".[eval]"')
    # a part of an installed cv2 missing (an old version): installed, so no install line
    assert "which is installed" in missing_extra(ModuleNotFoundError("no cv2.typing", name="cv2.typing"))
    assert missing_extra(ModuleNotFoundError("x", name="torchvision")) is None
    assert missing_extra(ImportError("cannot import name")) is None


def test_an_installed_package_that_fails_to_load_keeps_its_reason(generated, tmp_path, cli, monkeypatch):
    """opencv-python (not -headless) on a server without libGL is installed and fails to import:
    "pip install" would answer "already satisfied", so the line says why it fails instead."""
    fake = tmp_path / "site" / "cv2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ImportError('libGL.so.1: cannot open shared object file: No such file or directory', name='cv2')\n")
    monkeypatch.delitem(sys.modules, "cv2", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    p = cli("eval", generated, "--out", tmp_path / "o", "--device", "cpu")
    assert p.returncode == 2, p.stderr
    assert p.errors == ["error: video eval could not import cv2 (opencv-python-headless), which is installed: "
                        "libGL.so.1: cannot open shared object file: No such file or directory"], p.stderr
