"""Kohya folders: tag shuffles differ from epoch to epoch (seeded by the trainer's step and the
index, so a resume reads the same), and clips shorter than data.frames are left out, counted."""

import numpy as np
from PIL import Image

from video.media import write_video
from video.training.kohya import KohyaFolder


def test_tag_order_changes_with_the_step_and_repeats_for_the_same_step(tmp_path):
    (tmp_path / "2_thing").mkdir()
    Image.new("RGB", (16, 16)).save(tmp_path / "2_thing" / "a.png")
    (tmp_path / "2_thing" / "a.txt").write_text("tok, a, b, c, d, e, f")
    data = KohyaFolder(tmp_path, 1, 16, 16, keep_tokens=1, shuffle=True, seed=0)
    by_step = []
    for step in range(6):
        data.set_step(step)
        by_step.append(data.caption(0))
        assert data.caption(0) == by_step[-1]  # a function of (seed, step, index)
    assert all(c.startswith("tok, ") for c in by_step)
    assert len(set(by_step)) > 1  # each epoch its own order, not one order for the whole run
    data.set_step(3)
    assert data.caption(0) == by_step[3]


def test_the_trainer_tells_the_step(tmp_path, monkeypatch):
    from video.config import load_config
    from video.training.config import TrainConfig
    from video.training.trainer import train

    (tmp_path / "data" / "1_thing").mkdir(parents=True)
    for j in range(2):
        Image.new("RGB", (16, 16), (90 * j, 0, 0)).save(tmp_path / "data" / "1_thing" / f"{j}.png")
    steps = []
    real = KohyaFolder.set_step
    monkeypatch.setattr(KohyaFolder, "set_step", lambda self, s: (steps.append(s), real(self, s))[1])
    train(load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
        f"out={tmp_path / 'run'}", "init_from=", "steps=4", "batch_size=1", "data.kind=kohya",
        f"data.path={tmp_path / 'data'}", "data.height=16", "data.width=16", "ckpt_every=10"]),
        progress=False, stop_after=3)
    assert steps == [0, 1, 2]


def test_short_clips_are_left_out_and_counted(tmp_path):
    (tmp_path / "3_clips").mkdir()
    rng = np.random.default_rng(0)
    for name, frames in (("long", 12), ("short", 3)):
        write_video(rng.integers(0, 255, (frames, 32, 32, 3), dtype=np.uint8), tmp_path / "3_clips" / f"{name}.mp4",
                    fps=8)
    data = KohyaFolder(tmp_path, 5, 16, 16, fps=8.0)
    assert len(data) == 3 and [p.name for p in data.short] == ["short.mp4"]
    assert data.describe().endswith("1 clips shorter than 5 frames at 8 fps left out")
    assert data[0]["video"].shape == (5, 3, 16, 16)
