"""A ``video train`` run kept under ``models/checkpoints/`` (``out=models/checkpoints/mydit``):
``video models`` walked into its checkpoints and listed ``step_N/optim.safetensors`` and
``rng.safetensors`` as unknown models and ``step_N/model.safetensors`` as a DiT transformer,
where ``video info`` on the folder says training_checkpoint; and ``--model mydit`` suggested
those three files, not the run's ``final/model``. A checkpoint is now one row, and the run's
name is answered with its export. The run is written by the trainer's own writers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from video.models.detect import TRAINING_CHECKPOINT, list_models
from video.models.folder import NameNotFound, resolve_model_arg


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    from video.runtime.txt2vid import build_tiny, save_t2v
    from video.training.state import save_checkpoint

    root = tmp_path_factory.mktemp("m") / "models"
    run = root / "checkpoints" / "mydit"
    model = build_tiny().transformer
    optim = torch.optim.AdamW(model.parameters())
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: 1.0)
    save_checkpoint(run / "checkpoints" / "step_0000001", model.state_dict(), None, optim, sched,
                    {"step": 1, "config": {"task": "dit_t2v", "model": "tiny"}})
    save_t2v(build_tiny(), run / "final" / "model")
    return root


def test_a_checkpoint_is_one_row(models):
    rows = {r["name"]: r for r in list_models(models)}
    step = "mydit/checkpoints/step_0000001"
    assert [n for n in rows if n.startswith("mydit/checkpoints/")] == [step], sorted(rows)
    assert rows[step]["kind"] == TRAINING_CHECKPOINT
    assert rows["mydit/final/model"]["kind"] == "dit_t2v"


def test_the_runs_name_is_answered_with_its_export(models):
    with pytest.raises(NameNotFound) as e:
        resolve_model_arg("mydit", models_dir=models, keep=("tiny",))
    assert str(e.value).endswith(f"; mydit is a training run ({models / 'checkpoints' / 'mydit'}), not a model: its "
                                 "export is mydit/final/model)")
    assert resolve_model_arg("mydit/final/model", models_dir=models) == str(models / "checkpoints" / "mydit" / "final"
                                                                            / "model")
