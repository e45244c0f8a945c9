"""A folder that cannot be read is said, never skipped in silence: inside SRC it is yielded by
``discover`` and becomes an error row (counted as a failed source); as SRC itself it is one
line, "cannot read folder SRC: Permission denied" (it said "no videos found"). Permissions
mean nothing to root, so as root the checks run with the capabilities that bypass them
dropped (``setpriv``), and are skipped where that cannot be done."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from video.media import write_video

NOCAP = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps",
         "-dac_override,-dac_read_search", "--"]


def unprivileged(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    prefix = NOCAP if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *cmd], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def src(tmp_path):
    frames = (np.random.default_rng(0).random((6, 16, 16, 3)) * 255).astype(np.uint8)
    write_video(frames, tmp_path / "src" / "ok.mp4", fps=8)
    write_video(frames, tmp_path / "src" / "locked" / "x.mp4", fps=8)
    locked = tmp_path / "src" / "locked"
    os.chmod(locked, 0)
    if os.geteuid() == 0 and (shutil.which("setpriv") is None or
                              unprivileged(["ls", str(locked)], tmp_path).returncode == 0):
        os.chmod(locked, 0o755)
        pytest.skip("running as root without a way to drop the permission-bypassing capabilities")
    yield tmp_path / "src"
    os.chmod(locked, 0o755)


SNIPPET = """
import json, sys
from data_curation.probe import discover, probe_row
print(json.dumps([probe_row(p) for p in discover([sys.argv[1]])]))
"""


def test_an_unreadable_folder_inside_src_is_an_error_row(src):
    r = unprivileged([sys.executable, "-c", SNIPPET, "src"], src.parent)
    assert r.returncode == 0, r.stderr
    rows = {row["path"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"src/ok.mp4", "src/locked"}
    assert rows["src/ok.mp4"]["error"] is None
    assert rows["src/locked"]["error"] == ("src/locked: a folder that cannot be read (Permission denied); "
                                           "its videos are left out")


def test_an_unreadable_src_is_one_line(src):
    curate = Path(sys.executable).with_name("curate")
    r = unprivileged([str(curate), "probe", "src/locked"], src.parent)
    assert r.returncode == 2
    assert r.stderr.strip() == "curate probe: cannot read folder src/locked: Permission denied"
    assert r.stdout == ""
