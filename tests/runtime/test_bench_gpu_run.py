"""bench/gpu_run.sh: a capped target that ignores the TERM at its cap is killed BENCH_KILL_AFTER
seconds later (``timeout -k``), so a process stuck in teardown cannot hold the device call past
its limit. Run on a copy of the script with stand-ins for ``python3`` and ``nvidia-smi`` (there
is no GPU here): the stand-in benchmark ignores SIGTERM and sleeps a minute."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _stand_in_repo(tmp_path, python3: str) -> tuple:
    """A copy of gpu_run.sh with its wheels as empty files, and stand-ins for ``python3`` (the
    shell script ``python3``) and ``nvidia-smi`` first on PATH: (the copy's root, the PATH)."""
    work = tmp_path / "repo"
    (work / "bench").mkdir(parents=True)
    shutil.copy(BENCH / "gpu_run.sh", work / "bench" / "gpu_run.sh")
    (work / ".whl").mkdir()
    for name in ("diffusers-0-py3-none-any.whl", "omegaconf-0-py3-none-any.whl"):
        (work / ".whl" / name).write_bytes(b"")
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "python3").write_text(python3)
    (shims / "nvidia-smi").write_text("#!/bin/sh\necho name\necho stand-in\n")
    for f in shims.iterdir():
        f.chmod(0o755)
    return work, f"{shims}:{os.environ['PATH']}"


def test_capped_target_ignoring_term_is_killed(tmp_path):
    stuck = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('started', flush=True); " \
            "time.sleep(60)"
    work, path = _stand_in_repo(  # pip install: nothing to do; a benchmark: stuck after the TERM
        tmp_path, f'#!/bin/sh\n[ "$1" = -m ] && exit 0\nexec {sys.executable} -c "{stuck}"\n')
    env = {**os.environ, "PATH": path, "OUT": str(tmp_path / "out"),
           "TMPDIR": str(tmp_path), "BENCH_TIMEOUT": "1", "BENCH_KILL_AFTER": "1",
           "BENCH_COMPILE_CACHE": str(tmp_path / "cache")}
    t0 = time.monotonic()
    p = subprocess.run(["bash", "bench/gpu_run.sh", "dit_levers"], cwd=work, env=env, capture_output=True,
                       text=True, timeout=40)
    took = time.monotonic() - t0
    assert "started" in p.stdout  # the stand-in ran under the cap
    assert took < 15, f"the stuck benchmark held gpu_run.sh {took:.0f} s"
    assert p.returncode == 137  # pipefail: timeout's SIGKILL (128 + 9) is the target's status
    assert "gpu_run.sh: failed: dit_levers (exit 137)" in p.stderr


def test_a_failed_target_is_not_hidden_by_a_later_one(tmp_path):
    """``gpu_run.sh img2vid txt2vid`` exited with the last target's status: a failed img2vid
    under a good txt2vid was exit 0."""
    work, path = _stand_in_repo(  # pip install: nothing to do; img2vid fails, txt2vid succeeds
        tmp_path, '#!/bin/sh\n[ "$1" = -m ] && exit 0\ncase "$1" in *img2vid*) echo broke; exit 3;; esac\necho fine\n')
    env = {**os.environ, "PATH": path, "OUT": str(tmp_path / "out"),
           "TMPDIR": str(tmp_path), "BENCH_COMPILE_CACHE": str(tmp_path / "cache"), "failed": "stale"}
    p = subprocess.run(["bash", "bench/gpu_run.sh", "img2vid", "txt2vid"], cwd=work, env=env, capture_output=True,
                       text=True, timeout=40)
    assert "broke" in p.stdout and "fine" in p.stdout  # both ran
    assert p.returncode == 3 and "gpu_run.sh: failed: img2vid (exit 3)" in p.stderr, (p.returncode, p.stderr)
    p = subprocess.run(["bash", "bench/gpu_run.sh", "txt2vid"], cwd=work, env=env, capture_output=True, text=True,
                       timeout=40)
    assert p.returncode == 0 and "failed" not in p.stderr, p.stderr  # a stale $failed in the environment is not read
