"""``init_from`` naming a file of LoRA adapters (``final/lora.safetensors``, its kohya copy, a
LoRA run's checkpoint ``model.safetensors``, or such a file copied away from its run) is
refused in the one line the run folder gets, naming the base model; it said "init_from: FILE"
and then a 480-character "Missing key(s) in state_dict" cut mid-key. A file of a model's own
weights is still taken."""

import shutil

import pytest
from safetensors.torch import save_file
from test_init_from_ema_checkpoint_and_lora_run import TINY, stage  # tests/training is on sys.path

from video.training.init_from import init_source
from video.training.tasks import TASKS
from video.training.trainer import train


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("lora") / "run"
    train(stage("dit_lora", f"out={run}", *TINY, "lora.rank=2"), progress=False)
    return run


@pytest.mark.parametrize("file", ["final/lora.safetensors", "final/lora_kohya.safetensors",
                                  "checkpoints/step_0000002/model.safetensors", "copied/lora_kohya.safetensors"])
def test_init_from_a_lora_file_names_its_base(lora_run, file, cli, tmp_path):
    source = lora_run / file
    if file.startswith("copied/"):  # away from its run's trained.json: the file's header names the base
        source = tmp_path / file
        source.parent.mkdir()
        shutil.copy(lora_run / "final" / source.name, source)
    p = cli("train", "dit_stage2_video", *TINY, f"init_from={source}", f"out={tmp_path / 'next'}")
    assert p.returncode == 2 and p.errors == [
        f"error: init_from={source} is a LoRA file ({source.name} holds only adapters): start from its base model "
        "(model=tiny), or apply it with --lora at render time"], p.stderr
    assert "Missing key" not in p.stderr and f"init_from: {source}" not in p.stdout
    assert not (tmp_path / "next").exists()
    dry = cli("train", "dit_stage2_video", *TINY, f"init_from={source}", f"out={tmp_path / 'next'}", "--dry-run")
    assert dry.returncode == 2 and dry.errors == p.errors


def test_a_file_of_model_weights_is_still_taken(tmp_path, capsys):
    weights = TASKS["dit_t2v"](stage("dit_stage2_video", *TINY)).model.state_dict()
    path = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in weights.items()}, str(path))
    capsys.readouterr()
    assert init_source(str(path)) == path
    assert capsys.readouterr().out.splitlines() == [f"init_from: {path}"]
