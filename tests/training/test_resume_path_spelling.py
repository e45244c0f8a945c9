"""A resume compares path settings as the files they name: ``runs/x``, ``./runs/x`` and the
absolute path are one model (it was refused as "trained as another model"); a built-in name
such as ``tiny`` and a path that is not there compare as strings."""

import pytest

from video.config import load_config, to_dict
from video.training.config import TrainConfig
from video.training.resume import changed_keys, resume_changes


def cfg(**keys) -> TrainConfig:
    return load_config(TrainConfig, None, [f"{k}={v}" for k, v in keys.items()])


def test_one_model_spelled_three_ways_is_no_change(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "qs" / "vae" / "model").mkdir(parents=True)
    before = to_dict(cfg(model="runs/qs/vae/model", init_from="runs/qs"))
    for model in ("./runs/qs/vae/model", str(tmp_path / "runs/qs/vae/model"), "runs/qs/vae/model/"):
        now = cfg(model=model, init_from="./runs/qs")
        assert changed_keys(before, now) == {}
        assert resume_changes(before, now, 2, 0) == now
    with pytest.raises(ValueError, match="trained as another model"):
        resume_changes(before, cfg(model="tiny", init_from="runs/qs"), 2, 0)


def test_names_and_missing_paths_compare_as_strings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert changed_keys(to_dict(cfg(model="tiny")), cfg(model="tiny")) == {}
    assert changed_keys(to_dict(cfg(model="gone/model")), cfg(model="./gone/model")) == {
        "model": ("gone/model", "./gone/model")}
