"""A disk that fills while ``video train`` writes is one line naming what was being written and
the checkpoint a rerun resumes from (a checkpoint's save read "a .safetensors file is
damaged", and a user might delete good checkpoints; the lock file's write was a traceback that
left the lock file and its descriptor). The disk is made "full" portably with the process's
file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored: a write past it fails with EFBIG), which
safetensors reports as the same SafetensorError as ENOSPC; the tiny model's checkpoint files
are at most about 1.1 MB (the optimizer's), its export's largest (the VAE) about 1.5 MB."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from video.cli import main
from video.config import load_config
from video.training.config import TrainConfig
from video.training.resume import LOCK
from video.training.trainer import train

resource = pytest.importorskip("resource")  # POSIX only

ARGS = ["dit_stage1_image", "batch_size=1", "data.frames=1", "data.height=16", "data.width=16", "data.size=2",
        "init_from=", "ckpt_every=2"]
LIMITED = """
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
from video.cli import main
import video.training.trainer  # imported before the limit (nothing is written while importing then)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
sys.exit(main(sys.argv[2:]))
"""
TOO_LARGE = "a file too large for the filesystem or the file-size limit"


def limited(limit: int, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", LIMITED, str(limit), *argv], capture_output=True, text=True,
                          env=env, timeout=300)


def last_line(r: subprocess.CompletedProcess) -> str:
    return r.stderr.strip().splitlines()[-1]


def test_a_checkpoint_save_that_runs_out_of_room_names_the_checkpoint_to_resume_from(tmp_path):
    run = tmp_path / "run"
    train(load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [*ARGS[1:], "steps=4", f"out={run}"]),
          progress=False, stop_after=2)  # a checkpoint of step 2, no export
    r = limited(700_000, "train", *ARGS, "steps=4", f"out={run}")  # model.safetensors fits, optim does not
    assert r.returncode == 2, r.stderr
    assert last_line(r) == (f"error: {TOO_LARGE} writing {run / 'checkpoints' / 'step_0000004'}; make room for it "
                            "(another filesystem: FAT32 holds 4 GB a file; or a higher limit) and rerun to resume "
                            "from step_0000002")
    assert "damaged" not in r.stderr
    assert sorted(os.listdir(run / "checkpoints")) == ["step_0000002"]  # whole, and no partial left
    assert not (run / LOCK).exists()


def test_an_export_that_runs_out_of_room_is_one_line_and_a_rerun_exports(tmp_path):
    run = tmp_path / "run"
    r = limited(1_300_000, "train", *ARGS, "steps=2", f"out={run}")  # the checkpoint fits, the VAE's file not
    assert r.returncode == 2, r.stderr
    assert last_line(r).startswith(f"error: {TOO_LARGE} writing {run / 'final'}; ")
    assert last_line(r).endswith(" and rerun to resume from step_0000002")
    assert not (run / "final").exists() and not list(run.glob(".final.*"))
    assert main(["train", *ARGS, "steps=2", f"out={run}"]) == 0  # room again: exported from the checkpoint
    assert (run / "final" / "trained.json").is_file()


def test_no_room_for_the_lock_is_one_line_and_leaves_nothing(tmp_path):
    run = tmp_path / "new" / "run"
    r = limited(0, "train", *ARGS, "steps=2", f"out={run}")
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == (f"error: {TOO_LARGE} writing {run / LOCK}; make room for it (another filesystem: "
                                f"FAT32 holds 4 GB a file; or a higher limit) and rerun ({run} has no checkpoint "
                                "yet: it starts from step 0)")
    assert not (tmp_path / "new").exists()  # the folders made for the lock are gone with it


LOCK_FD = """
import os, resource, signal, sys
from pathlib import Path
from video.training.disk_full import NoRoom
from video.training.resume import RunLock
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
open_fds = lambda: len(os.listdir("/proc/self/fd"))
before = open_fds()
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    RunLock(Path(sys.argv[1])).acquire()
except NoRoom as e:
    print(open_fds() - before, os.listdir(sys.argv[1]))
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_the_lock_file_and_its_descriptor_go_when_its_write_fails(tmp_path):
    (tmp_path / "run").mkdir()
    r = subprocess.run([sys.executable, "-c", LOCK_FD, str(tmp_path / "run")], capture_output=True, text=True,
                       timeout=120)
    assert r.stdout.strip() == "0 []", r.stdout + r.stderr
