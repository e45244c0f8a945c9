"""Files a run rewrites in place (metrics.jsonl on resume, config.yaml, the quickstart's PNGs)
survive an interruption mid-write: the write is cut off deterministically (the writer puts half
its bytes down, then raises, as a kill would leave them) and the old file must be there whole.
And stage 2's init_from reads the stage-1 export's unet_image/ from safetensors only."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from video.config import load_config
from video.training.config import TrainConfig
from video.training.metrics import truncate_metrics


class Killed(BaseException):
    """What the cut-off write raises (a BaseException, as a KeyboardInterrupt: nothing catches it)."""


def test_a_kill_while_metrics_are_truncated_keeps_the_history(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    old = "".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(1, 101))
    path.write_text(old)
    real = Path.write_text

    def half_then_killed(self, data, *args, **kwargs):
        real(self, data[: len(data) // 2], *args, **kwargs)
        raise Killed

    monkeypatch.setattr(Path, "write_text", half_then_killed)
    with pytest.raises(Killed):
        truncate_metrics(path, 60)
    monkeypatch.setattr(Path, "write_text", real)
    assert path.read_text() == old
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]  # no temporary left behind
    truncate_metrics(path, 60)  # and the resume itself still cuts at the checkpoint
    assert [json.loads(ln)["step"] for ln in path.read_text().splitlines()] == list(range(1, 61))


@pytest.mark.parametrize("which", ["config.yaml", "config.until"])
def test_a_kill_while_the_config_is_saved_keeps_the_old_one(tmp_path, monkeypatch, which):
    from video.training.trainer import train

    run = tmp_path / "run"
    base = [f"out={run}", "steps=3", "ckpt_every=1", "batch_size=1", "data.size=2", "data.height=32",
            "data.width=32", "init_from="]
    train(load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", base), progress=False, stop_after=1)
    before = (run / "config.yaml").read_text()
    real = Path.write_text

    def write_text(f, text, *a, **k):  # the trainer writes each config's YAML text into its temporary
        if f.name.startswith(".config") and ("until" in f.name) == (which == "config.until"):  # cut this one off
            f.write_bytes(text[: len(text) // 2].encode())
            raise Killed
        return real(f, text, *a, **k)

    monkeypatch.setattr(Path, "write_text", write_text)
    with pytest.raises(Killed):  # resumed with a change: config.until_step_0000001.yaml, then config.yaml
        train(load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [*base, "steps=4"]), progress=False)
    monkeypatch.setattr(Path, "write_text", real)
    assert (run / "config.yaml").read_text() == before
    until = sorted(run.glob("*config.until*"))
    if which == "config.until":
        assert until == []  # neither a half file nor a temporary
    else:
        assert [p.name for p in until] == ["config.until_step_0000001.yaml"]
        assert OmegaConf.load(until[0]).steps == 3
    assert not [p for p in run.iterdir() if ".partial" in p.name]


def _cut_png_saves(monkeypatch):
    real = Image.Image.save

    def save(self, fp, *args, **kwargs):
        real(self, fp, *args, **kwargs)
        data = Path(fp).read_bytes()
        Path(fp).write_bytes(data[: len(data) // 2])
        raise Killed

    monkeypatch.setattr(Image.Image, "save", save)


def test_a_kill_while_the_quickstart_pictures_are_saved_keeps_the_old_ones(tmp_path, monkeypatch):
    from video.media import write_video
    from video.training.quickstart import contact_sheet, plot_losses

    curve = plot_losses({"stage": [3.0, 2.0, 1.0]}, tmp_path / "loss.png")
    clip = write_video(np.full((2, 8, 8, 3), 200, np.uint8), tmp_path / "clip.mp4")
    sheet = contact_sheet({"stage": str(clip)}, tmp_path / "samples.png")
    old = {p: p.read_bytes() for p in (curve, sheet)}
    _cut_png_saves(monkeypatch)
    with pytest.raises(Killed):
        plot_losses({"stage": [5.0, 1.0]}, curve)
    with pytest.raises(Killed):
        contact_sheet({"stage": str(clip)}, sheet, zoom=2)
    monkeypatch.undo()
    for p, data in old.items():
        assert p.read_bytes() == data
        Image.open(p).load()  # a whole PNG
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_stage2_refuses_a_pickled_unet_image_in_one_line(tmp_path):
    from video.models.svd import CheckpointError
    from video.training.tasks import TASKS

    s1 = load_config(TrainConfig, "configs/train/stage1_image.yaml",
                     ["init_from=", "data.height=32", "data.width=32", "data.frames=1"])
    image = TASKS["svd_image"](s1).model
    stage2 = ["data.size=2", "data.frames=2", "data.height=32", "data.width=32"]

    image.save_pretrained(tmp_path / "good" / "final" / "unet_image", safe_serialization=True)
    task = TASKS["svd_i2v"](load_config(TrainConfig, "configs/train/stage2_video.yaml",
                                        [*stage2, f"init_from={tmp_path / 'good'}"]))
    assert torch.equal(task.model.state_dict()["conv_in.weight"][:, :4], image.state_dict()["conv_in.weight"])

    image.save_pretrained(tmp_path / "bad" / "final" / "unet_image", safe_serialization=False)
    assert [p.suffix for p in (tmp_path / "bad" / "final" / "unet_image").iterdir()
            if p.name.startswith("diffusion_pytorch_model")] == [".bin"]
    with pytest.raises(CheckpointError) as e:
        TASKS["svd_i2v"](load_config(TrainConfig, "configs/train/stage2_video.yaml",
                                     [*stage2, f"init_from={tmp_path / 'bad'}"]))
    msg = str(e.value)
    assert "\n" not in msg and "no .safetensors weights, only diffusion_pytorch_model.bin" in msg
