"""A run records its input paths absolute (``config.yaml``, its checkpoints): the command ``video
info`` prints to finish a run, ``video train RUN/config.yaml out=RUN``, failed from any other
folder with ``manifest not found: curated`` (data.path as typed). A model name stays a name."""

from __future__ import annotations

import json

import numpy as np
from omegaconf import OmegaConf
from PIL import Image

from video.config import CONFIG_DIR, load_config
from video.training.config import TrainConfig, with_absolute_paths


def test_config_yaml_holds_absolute_paths_and_resumes_from_elsewhere(tmp_path, monkeypatch, capsys):
    from video.training.trainer import train

    project = tmp_path / "project"
    (project / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for j in range(2):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(project / "images" / f"{j}.png")
    monkeypatch.chdir(project)
    cfg = load_config(TrainConfig, CONFIG_DIR / "train" / "dit_stage1_image.yaml",
                      ["init_from=", "data.kind=images", "data.path=images", "out=runs/x", "steps=3", "batch_size=1",
                       "data.height=16", "data.width=16", "ckpt_every=1"])
    train(cfg, progress=False, stop_after=1)
    run = project / "runs" / "x"
    saved = OmegaConf.load(run / "config.yaml")
    assert saved.data.path == str(project / "images") and saved.model == "tiny" and saved.out == "runs/x"
    state = json.loads((run / "checkpoints" / "step_0000001" / "state.json").read_text())
    assert state["config"]["data"]["path"] == str(project / "images")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # `video train RUN/config.yaml out=RUN`, as `video info` says, from elsewhere
    capsys.readouterr()
    again = train(load_config(TrainConfig, run / "config.yaml", [f"out={run}"]), progress=False, stop_after=2)
    assert again["step"] == 2 and len(again["losses"]) == 1
    said = capsys.readouterr().out
    assert "resuming at step 1" in said and "changed settings" not in said  # the same paths: no change


def test_which_keys_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stage1").mkdir()
    (tmp_path / "tiny").mkdir()  # a folder named like the built-in model: the name stays the model's
    cfg = with_absolute_paths(load_config(TrainConfig, None, [
        "data.kind=manifest+images", "data.path=cur/manifest.parquet", "data.image_path=~/stills",
        "init_from=./stage1", "model=tiny"]))
    assert cfg.data.path == str(tmp_path / "cur" / "manifest.parquet")  # not there yet: absolute all the same
    assert cfg.data.image_path.startswith("/") and cfg.data.image_path.endswith("/stills") and "~" not in cfg.data.image_path
    assert cfg.init_from == str(tmp_path / "stage1") and cfg.model == "tiny" and cfg.out == "runs/train"
    same = with_absolute_paths(load_config(TrainConfig, None, ["init_from=nope/run"]))
    assert same.init_from == "nope/run" and same.data.path == ""  # no such run: left as typed; unset stays unset
