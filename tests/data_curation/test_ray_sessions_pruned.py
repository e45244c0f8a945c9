"""Each local Ray run left its session folder (~200 KB of logs) under OUT/.ray and nothing
removed them: after its ``ray.shutdown`` a run now deletes all but the newest few, never one
whose driver is another live process (a session in use)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from data_curation.engine import run
from data_curation.ray_runner import KEEP_RAY_SESSIONS


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid  # reaped: no process has it (pids are not reused this soon)


def test_a_ray_run_prunes_old_sessions_but_not_live_ones(src):
    short = Path(tempfile.mkdtemp(prefix="rs", dir="/tmp"))  # pytest's tmp_path is too long for Ray's sockets
    try:
        _check(src, short / "out")
    finally:
        shutil.rmtree(short, ignore_errors=True)


def _check(src, out: Path) -> None:
    ray_dir = out / ".ray"
    dead = _dead_pid()
    old = [ray_dir / f"session_2020-01-0{d}_00-00-00_000000_{dead}" for d in range(1, 6)]
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        in_use = ray_dir / f"session_2019-01-01_00-00-00_000000_{live.pid}"  # oldest of all, but its driver lives
        for d in [*old, in_use]:
            (d / "logs").mkdir(parents=True)
            (d / "logs" / "raylet.out").write_text("x" * 1000)
        s = run(str(src), out, "quick", [], workers=1, progress=False)
        assert s["processed"] == 1, s
        left = sorted(p.name for p in ray_dir.iterdir() if p.name.startswith("session_2"))
    finally:
        live.kill()
        live.wait()
    new = [n for n in left if not n.startswith(("session_2019", "session_2020"))]
    assert len(new) == 1 and new[0].endswith(f"_{os.getpid()}"), left  # this run's session
    assert in_use.name in left
    kept_old = [n for n in left if n.startswith("session_2020")]
    assert kept_old == [p.name for p in old[-(KEEP_RAY_SESSIONS - 1):]], left
