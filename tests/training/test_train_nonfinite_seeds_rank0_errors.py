"""Every float of a training config refuses NaN and infinity in one line naming the key, at
``--dry-run`` (``objective.t_mean=nan`` trained for a minute and stopped as "diverged", naming
the learning rate); seeds are range-checked (a huge one was an overflow traceback, -1 is no
random seed for training); under torchrun an error line is printed by rank 0 only."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from video.config import ConfigError, load_config
from video.training.config import TrainConfig, _floats

FLOAT_KEYS = sorted({key for key, _ in _floats(TrainConfig())})


def test_the_float_keys_are_found():
    assert {"optim.lr", "optim.betas", "ema_decay", "objective.t_mean", "objective.p_mean",
            "objective.cond_aug_mean", "data.fps", "lora.alpha"} <= set(FLOAT_KEYS)


@pytest.mark.parametrize("key", FLOAT_KEYS)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_nonfinite_float_names_its_key_at_dry_run(key, value, cli, tmp_path):
    setting = f"{key}=[0.9,{value}]" if key == "optim.betas" else f"{key}={value}"
    p = cli("train", "dit_stage2_video", setting, f"out={tmp_path / 'run'}", "--dry-run")
    assert p.returncode == 2 and p.errors == [f"error: config key '{key}': must be a finite number; got {value}"], \
        p.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("key", ["seed", "data.seed"])
@pytest.mark.parametrize("value", [-1, 2**32, 10**20])
def test_a_seed_out_of_range_is_one_line(key, value):
    with pytest.raises(ConfigError, match=rf"^config key '{key}': training seeds are whole numbers from 0 to "
                                          rf"4294967295 \(-1, a random seed, is for renders only.*; got {value}$"):
        load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", [f"{key}={value}"])


def test_the_largest_seed_trains(tmp_path):
    from video.training.trainer import train

    cfg = load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
        f"out={tmp_path / 'run'}", "init_from=", "steps=1", "batch_size=1", "data.size=2", "data.frames=1",
        "data.height=16", "data.width=16", f"seed={2**32 - 1}", f"data.seed={2**32 - 1}"])
    assert train(cfg, progress=False)["step"] == 1


def test_an_error_line_is_printed_once_per_machine(cli, monkeypatch):
    """Under torchrun the line came once per rank; one process per machine says it now, with its
    rank off the first machine (an input missing on one node is still said)."""
    args = ("train", "dit_stage2_video", "init_from=", "data.kind=manifest", "data.path=/nope.parquet")
    line = "config key 'optim.lr': must be a finite number; got nan"
    for rank, local, said in [("1", "1", None), ("0", "0", f"error: {line}"), ("2", "0", f"error (rank 2): {line}")]:
        monkeypatch.setenv("RANK", rank)
        monkeypatch.setenv("LOCAL_RANK", local)
        p = cli(*args, "--dry-run", "optim.lr=nan")
        assert p.returncode == 2 and p.stderr == ("" if said is None else said + "\n"), (rank, p.stderr)


def test_torchrun_prints_the_error_once(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        pytest.skip("no torchrun beside this Python")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    p = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "video.cli", "train",
                        "dit_stage2_video", "init_from=", "data.kind=manifest", "data.path=/nope.parquet",
                        f"out={tmp_path / 'run'}"], capture_output=True, text=True, env=env, timeout=120)
    errors = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.startswith("error:")]
    assert p.returncode != 0 and errors == ["error: manifest not found: /nope.parquet"], p.stderr[-2000:]
