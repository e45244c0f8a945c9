"""TensorBoard gets the scalars metrics.jsonl gets, and a resumed run's curves have no doubled
segment (the steps logged after the checkpoint are purged from both logs)."""

import json

import pytest

from video.config import load_config
from video.training.config import TrainConfig
from video.training.metrics import TAGS
from video.training.trainer import train


def test_tensorboard_holds_the_logged_scalars_once_across_a_resume(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    c = load_config(TrainConfig, "configs/train/dit_stage1_image.yaml",
                    [f"out={tmp_path / 'run'}", "steps=4", "ckpt_every=2", "log_every=1", "batch_size=1",
                     "data.height=32", "data.width=32", "init_from="])
    train(c, progress=False, stop_after=3)  # steps 1-3 logged; resume starts from step 2's checkpoint
    train(c, progress=False)
    rows = [json.loads(ln) for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]

    acc = EventAccumulator(str(tmp_path / "run"))
    acc.Reload()
    assert set(TAGS.values()) <= set(acc.Tags()["scalars"])
    for key, tag in TAGS.items():
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [1, 2, 3, 4], tag
        assert [e.value for e in events] == pytest.approx([r[key] for r in rows], rel=1e-6), tag
    assert all(r["it_per_s"] > 0 for r in rows)
