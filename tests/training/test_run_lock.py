"""One run folder, one ``video train`` at a time: a second run of the same ``out=`` stops in
one line naming the holder's pid before it touches the folder (it pruned the first's
checkpoints mid-load); a lock file a killed run left does not block; where flock is missing the
run goes on with a warning."""

import os
import subprocess
import sys

import pytest

from video import atomic
from video.config import load_config
from video.training.config import TrainConfig
from video.training.resume import LOCK, RunBusy, RunLock
from video.training.trainer import train

HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"{os.getpid()}\\n".encode())
print("held", flush=True)
sys.stdin.read()
"""


def tiny(run) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml",
                       [f"out={run}", "steps=1", "batch_size=1", "data.frames=1", "data.height=16", "data.width=16",
                        "data.size=2", "init_from="])


def test_a_second_run_of_a_folder_in_use_stops_before_touching_it(tmp_path):
    run = tmp_path / "conc"
    partial = run / "checkpoints" / ".step_0000005.partial"  # the first run's save under way
    partial.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run / LOCK)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(RunBusy) as e:
            train(tiny(run), progress=False)
        assert str(e.value).startswith(f"{run} is being trained by another process (pid {holder.pid})")
        assert "\n" not in str(e.value)
        assert partial.is_dir() and not (run / "config.yaml").exists()
    finally:
        holder.stdin.close()
        holder.wait()
    # the holder died without removing its lock file: the kernel dropped the lock, the file does not block
    assert (run / LOCK).is_file()
    summary = train(tiny(run), progress=False)
    assert summary["step"] == 1 and (run / "final").is_dir() and not (run / LOCK).exists()


def test_a_lock_makes_no_folder_it_does_not_leave_used(tmp_path):
    run = tmp_path / "a" / "b"
    with RunLock(run):
        assert (run / LOCK).read_text() == f"{os.getpid()}\n"
        with pytest.raises(RunBusy, match=r"\(pid \d+\)"):  # another open file: as another process
            RunLock(run).acquire()
    assert not (tmp_path / "a").exists()


def test_without_flock_a_run_goes_on_with_a_warning(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(atomic, "fcntl", None)  # Windows has no fcntl module
    with RunLock(tmp_path / "r"):
        pass
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "cannot be locked" in err and err.count("\n") == 1
