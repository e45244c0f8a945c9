"""Bucketed training under torchrun keeps the README's promises: 2 processes x batch 1 train
on the items, and with the noise, of 1 process x optim.grad_accum=2 (the same losses), and a
run stopped under 2 processes resumes in 1 process with 2-fold accumulation as the same run
(each step is one bucket's global batch, whatever its split)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from video.config import load_config
from video.training.config import TrainConfig
from video.training.trainer import train

ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_equal_one_with_accumulation_and_resume_across_the_split(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for j, (h, w) in enumerate([(40, 60), (60, 40), (50, 50)] * 3):  # three aspects, three of each
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / f"{j}.png")
        (folder / f"{j}.txt").write_text(f"picture {j}")
    common = ["init_from=", "batch_size=1", "steps=4", "ckpt_every=2", "log_every=1", "ckpt_keep=0", "ema_decay=0",
              "optim.lr=1e-3", "data.kind=images", f"data.path={folder}", "data.buckets=[[16,32],[32,32],[32,16]]",
              "data.height=32", "data.width=32"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(ROOT / "tests/training/bucket_split_worker.py"), str(tmp_path), *common],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)

    def one(name: str) -> TrainConfig:
        return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml",
                           [f"out={tmp_path / name}", *common, "optim.grad_accum=2"])

    try:  # the one-process reference trains meanwhile
        ref = train(one("one"), progress=False)["losses"]
        _, err = p.communicate(timeout=400)
    finally:
        p.kill()
    assert p.returncode == 0, err[-3000:]
    got = json.loads((tmp_path / "results.json").read_text())
    assert len(ref) == 4 and len(set(ref)) == 4
    torch.testing.assert_close(got["two"], ref, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(got["cut"], ref[:2], rtol=1e-4, atol=1e-6)
    capsys.readouterr()
    resumed = train(one("cut"), progress=False)  # processes traded for accumulation: the same run, silently
    out = capsys.readouterr().out
    assert "global batch" not in out and "warning" not in out, out
    torch.testing.assert_close(resumed["losses"], ref[2:], rtol=1e-4, atol=1e-6)


def test_epochs_count_global_batches_of_one_bucket(tmp_path, capsys):
    """epochs=N: a step is one bucket's global batch (each bucket's last one padded), so an
    epoch of three buckets of three images at 1 x accum 2 is ceil(3 / 2) x 3 = 6 steps."""
    folder = tmp_path / "images"
    folder.mkdir()
    for j, (h, w) in enumerate([(40, 60), (60, 40), (50, 50)] * 3):
        Image.new("RGB", (w, h), (20 * j, 0, 0)).save(folder / f"{j}.png")
        (folder / f"{j}.txt").write_text(f"picture {j}")
    c = load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
        f"out={tmp_path / 'run'}", "init_from=", "batch_size=1", "optim.grad_accum=2", "steps=0", "epochs=2",
        "data.kind=images", f"data.path={folder}", "data.buckets=[[16,32],[32,32],[32,16]]"])
    train(c, progress=False, stop_after=0)
    assert "accum 2, 12 steps = " in capsys.readouterr().out  # 6 global batches of 2 x 2 epochs
