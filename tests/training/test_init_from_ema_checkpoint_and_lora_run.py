"""``init_from`` a checkpoint of a run with an EMA starts from the EMA weights, as ``init_from``
the run folder (its ``final/``) does, and says so; ``init_from`` a LoRA run (its folder,
``final/`` or a checkpoint: adapters only) is refused in one line naming its base."""

import pytest
import torch
from safetensors.torch import load_file

from video.config import CONFIG_DIR, load_config
from video.training.config import TrainConfig
from video.training.tasks import TASKS
from video.training.trainer import train

TINY = ["batch_size=1", "data.frames=1", "data.height=16", "data.width=16", "data.size=2", "init_from=",
        "log_every=1", "steps=2", "ckpt_every=2", "optim.lr=1e-2"]


def stage(name: str, *overrides: str) -> TrainConfig:
    return load_config(TrainConfig, CONFIG_DIR / "train" / f"{name}.yaml", list(overrides))


@pytest.fixture(scope="module")
def ema_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("ema") / "run"
    train(stage("dit_stage1_image", f"out={run}", *TINY, "ema_decay=0.5"), progress=False)
    return run


def test_init_from_a_checkpoint_gives_its_ema_weights(ema_run, capsys):
    ck = ema_run / "checkpoints" / "step_0000002"
    ema, raw = load_file(str(ck / "ema.safetensors")), load_file(str(ck / "model.safetensors"))
    assert any(not torch.equal(ema[k], raw[k]) for k in ema)  # the test tells them apart
    task = TASKS["dit_t2v"](stage("dit_stage2_video", *TINY, f"init_from={ck}"))
    assert f"init_from: {ck} (step 2): the EMA weights (ema.safetensors)" in capsys.readouterr().out.splitlines()
    got = task.model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in ema.items())
    assert all(torch.equal(got[k], v) for k, v in raw.items() if k not in ema)  # buffers, frozen weights


def test_the_checkpoint_and_the_run_folder_start_from_the_same_weights(ema_run):
    ck = ema_run / "checkpoints" / "step_0000002"
    a = TASKS["dit_t2v"](stage("dit_stage2_video", *TINY, f"init_from={ck}")).model.state_dict()
    b = TASKS["dit_t2v"](stage("dit_stage2_video", *TINY, f"init_from={ema_run}")).model.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("lora") / "run"
    train(stage("dit_lora", f"out={run}", *TINY, "lora.rank=2"), progress=False)
    assert (run / "final" / "lora.safetensors").is_file()
    return run


@pytest.mark.parametrize("where, what, holds", [
    ("", "a LoRA run", "final/lora.safetensors"),
    ("final", "a LoRA run", "lora.safetensors"),
    ("checkpoints/step_0000002", "a LoRA run's checkpoint", "step_0000002/model.safetensors"),
])
def test_init_from_a_lora_run_names_its_base(lora_run, where, what, holds, cli, tmp_path):
    source = lora_run / where if where else lora_run
    p = cli("train", "dit_stage2_video", *TINY, f"init_from={source}", f"out={tmp_path / 'next'}")
    assert p.returncode == 2 and p.errors == [
        f"error: init_from={source} is {what} ({holds} holds only adapters): start from its base model "
        "(model=tiny), or apply it with --lora at render time"], p.stderr
    assert "no final/ export" not in p.stdout
    assert not (tmp_path / "next").exists()
