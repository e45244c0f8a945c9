"""A run begun before ``data.clip_window`` existed trained on each clip's first frames; resumed,
it goes on so, with a note, instead of switching silently to random windows (a key missing
from an old config counts as its default, and the default is ``random``)."""

from __future__ import annotations

from video.config import load_config, to_dict
from video.training.config import TrainConfig
from video.training.resume import resume_changes


def _cfg(*extra):
    return load_config(TrainConfig, "configs/train/dit_stage2_video.yaml",
                       ["data.kind=manifest", "data.path=m.parquet", "steps=10", *extra])


def test_an_old_manifest_run_goes_on_with_first_windows(capsys):
    cfg = _cfg()
    before = to_dict(cfg)
    del before["data"]["clip_window"]
    assert cfg.data.clip_window == "random"
    now = resume_changes(before, cfg, 4, rank=0)
    assert now.data.clip_window == "start"
    assert "note: this run began before data.clip_window: it goes on from step 4 with each clip's first frames" \
        in capsys.readouterr().out


def test_a_run_that_records_the_key_keeps_it(capsys):
    cfg = _cfg()
    assert resume_changes(to_dict(cfg), cfg, 4, rank=0).data.clip_window == "random"
    assert "began before" not in capsys.readouterr().out
