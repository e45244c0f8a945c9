"""``out`` is where a run is, not a setting of it: a copied or moved run folder resumes without
a "changed settings" line or a ``config.until_*.yaml``, and a finished one is not exported again."""

import shutil

from video.config import load_config
from video.training.config import TrainConfig
from video.training.trainer import train


def cfg(out, *overrides) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
        f"out={out}", "init_from=", "steps=4", "ckpt_every=2", "log_every=1", "batch_size=1", "data.size=4",
        "data.height=16", "data.width=16", "optim.warmup_steps=0", *overrides])


def test_a_moved_run_resumes_unchanged(tmp_path, capsys):
    full = train(cfg(tmp_path / "full"), progress=False)
    train(cfg(tmp_path / "A"), progress=False, stop_after=2)
    shutil.move(tmp_path / "A", tmp_path / "A2")
    capsys.readouterr()
    resumed = train(cfg(tmp_path / "A2"), progress=False)
    said = capsys.readouterr().out
    assert "changed settings" not in said and "'out'" not in said
    assert not list((tmp_path / "A2").glob("config.until_*.yaml"))
    assert resumed["losses"] == full["losses"][2:]


def test_a_copied_finished_run_is_not_exported_again(tmp_path, capsys):
    train(cfg(tmp_path / "A"), progress=False)
    shutil.copytree(tmp_path / "A", tmp_path / "B")
    capsys.readouterr()
    train(cfg(tmp_path / "B"), progress=False)
    assert f"{tmp_path / 'B' / 'final'} already holds step 4 of this config" in capsys.readouterr().out
    assert not list((tmp_path / "B").glob("config.until_*.yaml"))
