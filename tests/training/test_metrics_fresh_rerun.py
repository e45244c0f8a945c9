"""A fresh run in a folder an earlier run left without a checkpoint (one that diverged or was
stopped before its first save) starts both logs anew: TensorBoard showed the old run's steps
beside the new one's under the same tags, while metrics.jsonl held only the new ones."""

import json

import pytest

from video.config import load_config
from video.training.config import TrainConfig
from video.training.trainer import train


def test_fresh_rerun_drops_the_old_runs_tensorboard_steps(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    base = [f"out={run}", "ckpt_every=100", "log_every=1", "batch_size=1", "data.height=32", "data.width=32",
            "init_from="]
    first = load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [*base, "steps=6"])
    train(first, progress=False, stop_after=3)  # steps 1-3 logged, no checkpoint: a rerun starts at step 0
    assert not (run / "checkpoints").exists() or not any((run / "checkpoints").iterdir())
    rerun = load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [*base, "steps=2", "optim.lr=1e-5"])
    train(rerun, progress=False)

    rows = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    acc = EventAccumulator(str(run))
    acc.Reload()
    lr = acc.Scalars("train/lr")
    assert [e.step for e in lr] == [1, 2]
    assert [e.value for e in lr] == pytest.approx([r["lr"] for r in rows], rel=1e-6)  # the rerun's rate, not the first's
    assert len(list(run.glob("events.out.tfevents.*"))) == 1
