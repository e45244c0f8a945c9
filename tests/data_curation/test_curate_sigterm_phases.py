"""SIGTERM (timeout, Slurm, docker stop) outside the scoring loop: the README promises Ctrl-C's
one line and exit 130 for the whole run. Only the ``--workers 0`` loop and Ray's task wait took
it; after the last part (compaction, filters, the manifest's write) the process died silently
(exit -15, no manifest), and while Ray started it exited 15 without a word, crashed with a C++
dump or hung, leaving Ray's agents running.

Real ``curate run`` processes and real signals, sent when the run is in a phase seen from
outside: the last part file written (many parts already there, so that compacting them takes a
while), or Ray's session folder made under OUT."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from data_curation.engine import _write_part
from data_curation.manifest import part_path, source_stat
from data_curation.recipe import load_recipe

CLI = [sys.executable, "-m", "data_curation.cli", "run"]
DONE_BEFORE = 600  # parts already written: compacting them takes about a second here


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended before {path} appeared: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.001)


def _holders(folder: Path) -> list[str]:
    """Processes of this machine holding a file under ``folder`` open (Ray's logs are under
    OUT/.ray): what a Ray session left running."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(folder)) for fd in fds):
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120])
        except OSError:  # gone meanwhile, or not ours to look at
            continue
    return found


INTERRUPTED = "curate run: interrupted; rerun the same command to resume (finished sources are kept)"


def _terminated(proc: subprocess.Popen, what=None) -> tuple[str, str]:
    """SIGTERM to ``proc``; its stdout and stderr once it has ended as an interrupted run: exit
    130, the interrupted line last on stderr, no traceback, nothing on stdout. ``what``: said
    with a failure (a delay)."""
    proc.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"no exit 90 s after SIGTERM: {proc.communicate()}") from None
    assert proc.returncode == 130, (what, proc.returncode, stderr)
    assert stderr.splitlines()[-1:] == [INTERRUPTED], (what, stderr)
    assert "Traceback" not in stderr and not stdout, (what, stdout, stderr)
    return stdout, stderr


def test_sigterm_after_the_last_part_is_one_line_and_exit_130(tmp_path, pan):
    """--workers 0, SIGTERM as the last part file appears: the run is compacting the parts into
    the manifest. Before: killed by the signal (rc -15), not a word on stderr."""
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    last = pan(src / "zz_last.mp4")
    recipe = load_recipe("quick")
    for i in range(DONE_BEFORE):  # scored already (as a rerun finds them), each a source without clips
        p = src / f"s{i:04d}.mp4"
        os.link(last, p)
        _write_part(str(p), recipe, out, [{"source": str(p), "keep": False, "clip_id": f"s{i}:none", "error": None}],
                    source_stat(p))
    proc = subprocess.Popen([*CLI, str(src), "--out", str(out), "--workers", "0", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(part_path(out, last), proc)
    stdout, stderr = _terminated(proc)
    assert stderr == INTERRUPTED + "\n"
    assert stdout == ""


def test_sigterm_while_ray_starts_is_one_line_and_leaves_no_ray_process(tmp_path, pan):
    """SIGTERM once the local session's folder is made, while ``ray.init`` still starts its
    processes: held until the session is up, then Ctrl-C's line, exit 130, every Ray process
    ended with the run (the OUT it made, holding only ``.ray``, removed) and none left holding
    a file of the session. Before: exit 15 in silence, a C++ crash dump (exit -6), or a hang,
    with Ray's agents left behind."""
    root = Path(os.path.realpath(f"/tmp/rsig{os.getpid()}"))  # short: Ray's socket paths
    shutil.rmtree(root, ignore_errors=True)
    src, out = root / "src", root / "out"
    src.mkdir(parents=True)
    pan(src / "a.mp4")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    try:
        proc = subprocess.Popen([*CLI, str(src), "--out", str(out), "--workers", "1", "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        _wait_for(out / ".ray" / "session_latest", proc)
        _terminated(proc)
        assert not out.exists()
        deadline = time.monotonic() + 10  # Ray's shutdown waits for its processes; a little grace
        while (left := _holders(root)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not left, left
    finally:
        shutil.rmtree(root, ignore_errors=True)


SHUTDOWN_DELAYS = (0.5, 0.8, 1.1)  # after the last part: Ray's shutdown runs, here ~0.3 to 1.4 s in


def test_sigterm_while_ray_shuts_down_is_one_line_and_exit_130(tmp_path, pan):
    """SIGTERM while ``ray.shutdown`` ends the local session, once all parts are written: it sets
    SIGTERM back to the default action in C (Python still reports its handler), and the run died
    in silence (exit -15: no line, no summary, no manifest). One run per delay after the last part
    appears, so that one of them falls inside the shutdown; each must end as an interrupted run."""
    root = Path(os.path.realpath(f"/tmp/rsd{os.getpid()}"))  # short: Ray's socket paths
    shutil.rmtree(root, ignore_errors=True)
    src = root / "src"
    src.mkdir(parents=True)
    pan(src / "a.mp4")
    last = pan(src / "b.mp4")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    try:
        for i, delay in enumerate(SHUTDOWN_DELAYS):
            out = root / f"out{i}"
            proc = subprocess.Popen([*CLI, str(src), "--out", str(out), "--workers", "1", "--quiet"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            _wait_for(part_path(out, last), proc)
            _wait_for(part_path(out, src / "a.mp4"), proc)
            time.sleep(delay)
            _terminated(proc, delay)
    finally:
        shutil.rmtree(root, ignore_errors=True)
