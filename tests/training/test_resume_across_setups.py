"""Resuming in another setup than the run was started in: EMA switched on at the resume (the
average starts from the checkpoint's weights, whole-model and sharded checkpoints alike),
another number of processes (the global batch batch_size x processes x grad_accum is what
decides the data order: traded for accumulation it reproduces the run silently, changed it
is said), and a later stage resumed after the earlier stage's folder (its init_from) moved:
the checkpoint holds every weight, only LoRA needs its frozen base."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file

from video.config import load_config
from video.training.config import TrainConfig
from video.training.trainer import train

ROOT = Path(__file__).resolve().parents[2]
COMMON = ["batch_size=1", "steps=4", "ckpt_every=2", "log_every=1", "data.height=32", "data.width=32",
          "data.size=8", "optim.lr=1e-3", "init_from=", "ckpt_keep=0"]


def cfg(out, *overrides, base="configs/train/dit_stage1_image.yaml") -> TrainConfig:
    return load_config(TrainConfig, base, [f"out={out}", *COMMON, *overrides])


def ema_from(weights: list[dict], decay: float) -> dict:
    """The EMA (with its warm-up, update n weighs min(decay, (1 + n) / (10 + n))) of the weights
    after each step, started from the first: the closed-form reference."""
    shadow = {k: v.double() for k, v in weights[0].items()}
    for n, w in enumerate(weights[1:]):
        d = min(decay, (1 + n) / (10 + n))
        shadow = {k: d * shadow[k] + (1 - d) * w[k].double() for k in shadow}
    return shadow


def model_at(run: Path, step: int) -> dict:
    return load_file(str(run / "checkpoints" / f"step_{step:07d}" / "model.safetensors"))


def test_ema_turned_on_at_a_resume_and_another_process_count(tmp_path, capsys):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(ROOT / "tests/training/fsdp_stop_worker.py"), str(tmp_path / "fsdp"), "2", *COMMON,
                          "parallel=fsdp", "ema_decay=0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env, cwd=ROOT)
    try:  # meanwhile the one-process reference: 2 ranks x batch 1 = batch 1 x 2-fold accumulation
        whole = tmp_path / "whole"
        train(cfg(whole, "ema_decay=0", "optim.grad_accum=2"), progress=False, stop_after=2)
        capsys.readouterr()
        ref = train(cfg(whole, "ema_decay=0.5", "optim.grad_accum=2", "ckpt_every=1"), progress=False)
        out = capsys.readouterr().out
        _, err = p.communicate(timeout=400)
    finally:
        p.kill()
    assert p.returncode == 0, err[-3000:]
    assert "ema_decay 0.0 -> 0.5" in out
    # whole-model checkpoint: the EMA starts from step 2's weights, not the freshly built model's
    final = load_file(str(whole / "final" / "trainable.safetensors"))
    expect = ema_from([model_at(whole, s) for s in (2, 3, 4)], 0.5)
    for k in expect:
        torch.testing.assert_close(final[k].double(), expect[k], rtol=1e-5, atol=1e-6, msg=k)

    # the sharded checkpoint holds no EMA: one process resumes it with EMA on, processes traded
    # for accumulation (2 x 1 -> 1 x 2): the same run, and nothing said about the data order
    assert (tmp_path / "fsdp" / "checkpoints" / "step_0000002" / "shards").is_dir()
    shutil.copytree(tmp_path / "fsdp", tmp_path / "other")
    got = train(cfg(tmp_path / "fsdp", "parallel=fsdp", "ema_decay=0.5", "optim.grad_accum=2", "ckpt_every=1"),
                progress=False)
    out = capsys.readouterr().out
    assert "global batch" not in out and "warning" not in out, out
    torch.testing.assert_close(got["losses"], ref["losses"], rtol=1e-4, atol=1e-6)
    final_fsdp = load_file(str(tmp_path / "fsdp" / "final" / "trainable.safetensors"))
    for k in final:
        torch.testing.assert_close(final_fsdp[k], final[k], rtol=1e-4, atol=1e-6, msg=k)

    # one process, no accumulation: the global batch halves, and the resume says so (old and new)
    train(cfg(tmp_path / "other", "parallel=fsdp", "ema_decay=0"), progress=False, stop_after=3)
    out = capsys.readouterr().out
    assert ("warning: the global batch changed from 2 (batch_size 1 x 2 processes x grad_accum 1) to "
            "1 (batch_size 1 x 1 processes x grad_accum 1): the data order from step 2 on differs") in out
    assert sum("global batch" in ln for ln in out.splitlines()) == 1


def test_same_global_batch_with_another_batch_size_is_a_note_not_a_warning(tmp_path, capsys):
    run = tmp_path / "r"
    train(cfg(run, "optim.grad_accum=2"), progress=False, stop_after=2)
    capsys.readouterr()
    train(cfg(run, "batch_size=2", "optim.grad_accum=1"), progress=False, stop_after=3)
    out = capsys.readouterr().out
    assert "note: the global batch stays 2 (batch_size 2 x 1 processes x grad_accum 1) (was 2 (batch_size 1 x " \
           "1 processes x grad_accum 2))" in out
    assert "warning" not in out


def test_a_later_stage_resumes_after_the_earlier_stage_moved(tmp_path, capsys):
    stage1 = tmp_path / "stage1"
    train(cfg(stage1, "steps=2"), progress=False)
    stage2 = ["data.frames=2", "ckpt_every=1", f"init_from={stage1}"]
    full = train(cfg(tmp_path / "full", *stage2, base="configs/train/dit_stage2_video.yaml"), progress=False)
    run = tmp_path / "s2"
    first = train(cfg(run, *stage2, base="configs/train/dit_stage2_video.yaml"), progress=False, stop_after=2)
    assert first["losses"] == full["losses"][:2]
    shutil.move(stage1, tmp_path / "elsewhere")  # the run folders were moved (or stage 1 deleted)
    rest = train(cfg(run, *stage2, base="configs/train/dit_stage2_video.yaml"), progress=False, stop_after=3)
    assert rest["losses"] == full["losses"][2:3]
    capsys.readouterr()
    rest = train(cfg(run, "data.frames=2", "ckpt_every=1", "init_from=", base="configs/train/dit_stage2_video.yaml"),
                 progress=False)  # init_from cleared: not used, and recorded as the run had it
    assert rest["losses"] == full["losses"][3:]
    assert "init_from='' is not used: resuming at step 3" in capsys.readouterr().out
    assert OmegaConf.load(run / "config.yaml").init_from == str(stage1)
    w, w_full = (load_file(str(r / "final" / "trainable.safetensors")) for r in (run, tmp_path / "full"))
    assert all(torch.equal(w[k], w_full[k]) for k in w_full)


def test_a_lora_run_without_its_base_says_so(tmp_path):
    base = tmp_path / "base"
    train(cfg(base, "steps=2"), progress=False)
    lora = ["lora.enabled=true", f"init_from={base}"]
    train(cfg(tmp_path / "lora", *lora), progress=False, stop_after=2)
    shutil.move(base, tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError) as e:
        train(cfg(tmp_path / "lora", *lora), progress=False)
    msg = str(e.value)
    assert "\n" not in msg and f"init_from={str(base)!r}, the frozen base this LoRA run trains on, is not there" in msg
    shutil.move(tmp_path / "elsewhere", base)  # put back: the LoRA run resumes on it
    assert train(cfg(tmp_path / "lora", *lora), progress=False)["step"] == 4
    assert json.loads((tmp_path / "lora" / "final" / "trained.json").read_text())["step"] == 4
