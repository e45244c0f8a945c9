"""``curate`` without its ``.[curate]`` extra: a missing package is one line naming it and the
pip command, exit 2, before any work. Before, probe, cuts and report ended in a
ModuleNotFoundError traceback, and ``curate run`` wrote a manifest of error rows ("1 of 1 sources
failed ... No module named 'cv2'") with no install line. A package is made missing as Python
sees an uninstalled one: its name in ``sys.modules`` as None."""

from __future__ import annotations

import sys

import pytest

from data_curation.cli import main, missing_extra

CV2 = 'needs the opencv-python-headless package (import cv2): pip install -e ".[curate]"'


@pytest.mark.parametrize(("missing", "words", "line"), [
    ("cv2", ["probe", "{src}"], f"curate probe {CV2}"),
    ("cv2", ["cuts", "{src}/pan.mp4"], f"curate cuts {CV2}"),
    ("matplotlib", ["report", "{out}"],
     'curate report needs the matplotlib package (import matplotlib): pip install -e ".[curate]"'),
    ("cv2", ["run", "{src}", "--out", "{out}", "--workers", "0", "--quiet"], f"curate run {CV2}"),
    ("pyarrow", ["run", "{src}", "--out", "{out}", "--workers", "0", "--quiet"],
     'curate run needs the pyarrow package (import pyarrow): pip install -e ".[curate]"'),
    # a scorer's package (phash: imagehash), imported per clip: each clip was an error row
    ("imagehash", ["run", "{src}", "--out", "{out}", "--workers", "0", "--quiet"],
     'curate run needs the imagehash package (import imagehash): pip install -e ".[curate]"'),
])
def test_a_missing_package_is_one_line_and_nothing_written(missing, words, line, src, tmp_path, monkeypatch,
                                                             capsys):
    out = tmp_path / "out"
    monkeypatch.setitem(sys.modules, missing, None)
    rc = main([w.format(src=src, out=out) for w in words])
    err = capsys.readouterr().err
    assert (rc, err.splitlines()) == (2, [line]), err
    assert not out.exists()  # curate run: no manifest of error rows, no OUT


def test_debug_keeps_the_traceback(src, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ModuleNotFoundError):
        main(["--debug", "probe", str(src)])


def test_only_the_extras_packages_get_the_install_line():
    assert missing_extra("probe", ModuleNotFoundError("x", name="torchvision")) is None
    assert missing_extra("probe", ImportError("cannot import name")) is None
    # installed, but failing to load: "pip install" would say "already satisfied"
    assert missing_extra("cuts", ImportError("libGL.so.1: cannot open", name="cv2")) == (
        "curate cuts could not import cv2 (opencv-python-headless), which is installed: libGL.so.1: cannot open")
