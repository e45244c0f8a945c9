"""Resuming a run: changed settings are applied and said (optimizer) or refused (the model);
the EMA's update count, a half-written metrics line, a killed save's leftovers; the lr logged is
the one used; a rerun of a finished command does not export again."""

import json

import pytest
from omegaconf import OmegaConf
from safetensors.torch import load_file

from video.config import load_config
from video.training.config import TrainConfig
from video.training.trainer import train


def cfg(out, *overrides) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
        f"out={out}", "init_from=", "steps=4", "ckpt_every=2", "log_every=1", "batch_size=1", "data.size=4",
        "data.height=16", "data.width=16", "optim.warmup_steps=0", *overrides])


def logged(run, key="lr") -> list:
    return [json.loads(ln)[key] for ln in (run / "metrics.jsonl").read_text().splitlines()]


def test_the_logged_lr_is_the_one_the_step_used(tmp_path):
    train(cfg(tmp_path / "r", "optim.warmup_steps=4", "optim.lr=1e-3"), progress=False)
    assert logged(tmp_path / "r") == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])


def test_changed_optimizer_settings_are_applied_and_recorded(tmp_path, capsys):
    run = tmp_path / "r"
    train(cfg(run, "optim.lr=1e-3"), progress=False, stop_after=2)
    train(cfg(run, "optim.lr=2e-3", "optim.betas=[0.8,0.99]", "batch_size=2"), progress=False)
    out = capsys.readouterr().out
    assert "resuming at step 2 with changed settings, applied from here on: batch_size 1 -> 2" in out
    assert "optim.lr 0.001 -> 0.002" in out and "optim.betas [0.9, 0.999] -> [0.8, 0.99]" in out
    assert ("warning: the global batch changed from 1 (batch_size 1 x 1 processes x grad_accum 1) to "
            "2 (batch_size 2 x 1 processes x grad_accum 1): the data order from step 2 on differs") in out
    assert logged(run) == pytest.approx([1e-3, 1e-3, 2e-3, 2e-3])
    state = json.loads((run / "checkpoints" / "step_0000004" / "state.json").read_text())
    assert state["optimizer"]["param_groups"][0]["betas"] == [0.8, 0.99]
    assert OmegaConf.load(run / "config.yaml").optim.lr == 2e-3  # what steps 3-4 used
    assert OmegaConf.load(run / "config.until_step_0000002.yaml").optim.lr == 1e-3  # and steps 1-2


def test_an_old_checkpoint_resumed_twice_still_applies_the_change(tmp_path, capsys):
    """A checkpoint without its own config record (written before they kept one): a resume with
    a new lr that is killed before its next checkpoint has already rewritten config.yaml, so the
    rerun must compare against the config.until_ file that resume set aside."""
    run = tmp_path / "r"
    train(cfg(run, "optim.lr=1e-3"), progress=False, stop_after=2)
    state_file = run / "checkpoints" / "step_0000002" / "state.json"
    state = json.loads(state_file.read_text())
    state.pop("config")
    state_file.write_text(json.dumps(state))
    train(cfg(run, "optim.lr=2e-3"), progress=False, stop_after=2)  # killed before step 4's checkpoint
    train(cfg(run, "optim.lr=2e-3"), progress=False)
    assert logged(run)[-2:] == pytest.approx([2e-3, 2e-3])


def test_a_changed_model_is_refused(tmp_path):
    run = tmp_path / "r"
    train(cfg(run), progress=False, stop_after=2)
    with pytest.raises(ValueError, match=r"trained as another model up to step 2 \(lora.enabled False -> True"):
        train(cfg(run, "lora.enabled=true"), progress=False)


def test_the_ema_update_count_is_resumed(tmp_path):
    full = train(cfg(tmp_path / "a", "ema_decay=0.99"), progress=False)
    train(cfg(tmp_path / "b", "ema_decay=0.99"), progress=False, stop_after=3)
    state = json.loads((tmp_path / "b" / "checkpoints" / "step_0000002" / "state.json").read_text())
    assert state["ema_updates"] == 2
    assert train(cfg(tmp_path / "b", "ema_decay=0.99"), progress=False)["losses"] == full["losses"][2:]
    wa = load_file(str(tmp_path / "a" / "final" / "trainable.safetensors"))
    wb = load_file(str(tmp_path / "b" / "final" / "trainable.safetensors"))
    assert all((wa[k] == wb[k]).all() for k in wa)


def test_a_half_written_last_metrics_line_does_not_block_resume(tmp_path):
    from video.training.metrics import truncate_metrics

    run = tmp_path / "r"
    train(cfg(run), progress=False, stop_after=3)
    with (run / "metrics.jsonl").open("a") as fh:
        fh.write('{"step": 4, "lo')  # the process died mid-write
    train(cfg(run), progress=False)
    assert logged(run, "step") == [1, 2, 3, 4]
    (run / "metrics.jsonl").write_text('{"step": 1}\n{"st\n{"step": 2}\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl:2: not a JSON line"):
        truncate_metrics(run / "metrics.jsonl", 2)


def test_leftovers_of_a_killed_save_are_removed(tmp_path):
    run = tmp_path / "r"
    train(cfg(run), progress=False, stop_after=2)
    stale = run / "checkpoints" / ".step_0000003.abc123.partial"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half")
    (run / ".final.xyz.partial").mkdir()
    train(cfg(run), progress=False)
    assert not stale.exists() and not (run / ".final.xyz.partial").exists()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000002", "step_0000004"]


def test_a_finished_run_is_not_exported_again(tmp_path, capsys, monkeypatch):
    from video.training import trainer

    run = tmp_path / "r"
    first = train(cfg(run), progress=False)
    capsys.readouterr()
    monkeypatch.setattr(trainer, "_export", lambda *a, **k: pytest.fail("exported again"))
    again = train(cfg(run), progress=False)
    assert f"{run / 'final'} already holds step 4 of this config" in capsys.readouterr().out
    assert again["final"] == first["final"] and again.get("preview") == first.get("preview")
    monkeypatch.undo()
    changed = train(cfg(run, "data.height=32", "data.width=32"), progress=False)  # other sampling defaults
    assert json.loads((run / "final" / "trained.json").read_text())["config"]["data"]["height"] == 32
    assert changed["final"] == first["final"]


def test_a_finished_run_with_other_checkpoint_settings_is_current(tmp_path, capsys, monkeypatch):
    """How often a run saves and how many it keeps train nothing: a finished run rerun with
    other values (quickstart's stages got periodic checkpoints) is not exported again, and
    does not list them as settings "applied from here on" (nothing follows)."""
    from video.training import trainer

    run = tmp_path / "r"
    train(cfg(run), progress=False)
    capsys.readouterr()
    monkeypatch.setattr(trainer, "_export", lambda *a, **k: pytest.fail("exported again"))
    train(cfg(run, "ckpt_every=1", "ckpt_keep=5"), progress=False)
    out = capsys.readouterr().out
    assert "already holds step 4 of this config" in out and "changed settings" not in out


def test_an_old_checkpoint_of_a_run_whose_text_holds_dollar_brace_resumes(tmp_path, capsys):
    """A value is taken as typed (``${`` is not an interpolation): a run in a folder named
    ``r${x`` saved that text in config.yaml; resuming from a checkpoint without its own config
    record read config.yaml with OmegaConf.load, whose grammar refused the unclosed ``${`` in a
    traceback."""
    run = tmp_path / "r${x"
    train(cfg(run), progress=False, stop_after=2)
    state_file = run / "checkpoints" / "step_0000002" / "state.json"
    state = json.loads(state_file.read_text())
    state.pop("config")
    state_file.write_text(json.dumps(state))
    train(cfg(run), progress=False)
    assert len(logged(run)) == 4
