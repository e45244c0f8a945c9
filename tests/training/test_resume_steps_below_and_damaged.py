"""A rerun whose ``steps`` is below its checkpoint's step is refused in one line naming a
checkpoint to start from (it re-exported final/ under a config saying fewer steps), and a
damaged latest checkpoint (a file truncated or missing) is named with the way out: remove it to
resume from the one before. Both before the run writes anything."""

import json
import re
import shutil

import pytest

from video.config import load_config
from video.training.config import TrainConfig
from video.training.trainer import train


def cfg(out, *overrides) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
        f"out={out}", "init_from=", "steps=4", "ckpt_every=2", "ckpt_keep=0", "log_every=1", "batch_size=1",
        "data.size=4", "data.frames=1", "data.height=16", "data.width=16", *overrides])


def cfg_args(run) -> list[str]:
    """cfg's settings as `video train` arguments (steps from the YAML unless given)."""
    return [f"out={run}", "init_from=", "ckpt_every=2", "ckpt_keep=0", "log_every=1", "batch_size=1",
            "data.size=4", "data.frames=1", "data.height=16", "data.width=16"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A run that finished at step 4, with checkpoints of steps 2 and 4."""
    run = tmp_path_factory.mktemp("steps") / "run"
    train(cfg(run), progress=False)
    return run


def written(run) -> dict:
    """Each file of the run folder with its modification time: what a refused rerun must leave."""
    return {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}


def test_steps_below_the_checkpoint_is_refused_before_anything_is_written(finished, cli):
    before = written(finished)
    p = cli("train", "configs/train/dit_stage1_image.yaml", *cfg_args(finished), "steps=2")
    ck = finished / "checkpoints" / "step_0000002"
    assert p.returncode == 2 and p.errors == [
        f"error: steps=2 is below the checkpoint's step 4: nothing to train; for step 2's weights use init_from={ck}"]
    assert "resuming" not in p.stdout and "nothing left to train" not in p.stdout
    assert written(finished) == before
    assert json.loads((finished / "final" / "trained.json").read_text())["config"]["steps"] == 4


def test_without_that_step_kept_the_nearest_checkpoint_is_named(finished):
    with pytest.raises(ValueError, match=r"^steps=3 is below the checkpoint's step 4: nothing to train; no checkpoint "
                                         r"of step 3 is kept; for step 2's weights use init_from=.*step_0000002$"):
        train(cfg(finished, "steps=3"), progress=False)


def test_steps_set_by_epochs_are_said_as_the_epochs_given(finished):
    """With ``epochs`` the steps come from the data (a smaller data set, fewer steps): the line
    said ``steps=2``, a key the user never gave."""
    with pytest.raises(ValueError, match=r"^epochs=1 \(2 steps\) is below the checkpoint's step 4: nothing to "
                                         r"train; for step 2's weights use init_from=.*step_0000002$"):
        train(cfg(finished, "epochs=1", "data.size=2"), progress=False)


def test_the_same_steps_is_still_a_rerun_of_a_finished_command(finished, capsys):
    train(cfg(finished), progress=False)
    assert "already holds step 4 of this config" in capsys.readouterr().out


@pytest.fixture
def stopped(tmp_path):
    """A run stopped at step 4 (checkpoints of steps 2 and 4), to be resumed to step 6."""
    run = tmp_path / "run"
    train(cfg(run, "steps=6"), progress=False, stop_after=4)
    return run


@pytest.mark.parametrize("damage, said", [
    ("truncate", r"model\.safetensors: .*incomplete metadata"),
    ("state", r"state\.json: missing"),
    ("optim", r"optim\.safetensors: missing"),
])
def test_a_damaged_latest_checkpoint_names_itself_and_the_one_before(stopped, damage, said, cli):
    ck = stopped / "checkpoints" / "step_0000004"
    if damage == "truncate":
        data = (ck / "model.safetensors").read_bytes()
        (ck / "model.safetensors").write_bytes(data[: len(data) // 2])
    else:
        (ck / ("state.json" if damage == "state" else "optim.safetensors")).unlink()
    config = (stopped / "config.yaml").read_bytes()
    p = cli("train", "configs/train/dit_stage1_image.yaml", *cfg_args(stopped), "steps=6")
    assert p.returncode == 2 and len(p.errors) == 1, p.stderr
    assert p.errors[0].startswith(f"error: checkpoint {ck} is damaged (")
    assert p.errors[0].endswith("): remove it to resume from step_0000002")
    assert re.search(said, p.errors[0]), p.errors[0]
    assert (stopped / "config.yaml").read_bytes() == config  # nothing rewritten
    assert not (stopped / "checkpoints" / "step_0000005").exists()


def test_a_damaged_only_checkpoint_says_the_run_starts_again(tmp_path):
    run = tmp_path / "run"
    train(cfg(run, "steps=6"), progress=False, stop_after=2)
    ck = run / "checkpoints" / "step_0000002"
    (ck / "rng.safetensors").write_bytes(b"\x00" * 4)
    with pytest.raises(ValueError, match=rf"^checkpoint {ck} is damaged \(rng\.safetensors: .*\): remove it to "
                                         r"start the run again from step 0$"):
        train(cfg(run, "steps=6"), progress=False)


def test_removing_it_resumes_from_the_one_before(stopped, capsys):
    ck = stopped / "checkpoints" / "step_0000004"
    (ck / "state.json").unlink()
    shutil.rmtree(ck)  # the way out the refusal names
    summary = train(cfg(stopped, "steps=6"), progress=False)
    assert summary["step"] == 6 and "(resuming at step 2)" in capsys.readouterr().out
