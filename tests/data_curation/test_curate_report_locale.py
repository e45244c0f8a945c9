"""``curate report`` under a C locale (a minimal container, cron, ``LC_ALL=C``): the page, which
declares UTF-8, was written in the locale's encoding and failed on the first accented source
name ("'ascii' codec can't encode character"), and that source's frame could not be read."""

from __future__ import annotations

import os
import subprocess
import sys

from data_curation.engine import run

C_LOCALE = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


def test_report_under_a_c_locale_is_utf8_with_every_frame(tmp_path, pan):
    src = tmp_path / "src"
    src.mkdir()
    pan(src / "ünïcödé clip 1.mp4")
    out = tmp_path / "out"
    assert run(str(src), out, "quick", workers=0, progress=False)["clips"] == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k != "LANG"} | C_LOCALE
    p = subprocess.run([sys.executable, "-m", "data_curation.cli", "report", str(out)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # no "frame(s) could not be read" warning
    page = (out / "report.html").read_bytes().decode("utf-8")
    assert page.startswith("<!doctype html><meta charset=utf-8>")
    assert "ünïcödé clip 1.mp4" in page and page.count('<img src="data:image/jpeg') == 1
