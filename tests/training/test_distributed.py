"""Two processes under torchrun (gloo on CPU) train as one process does: DDP and FSDP2 with
batch 1 x 2 ranks x 2-fold accumulation (only the last micro-batch communicates) give the
losses and weights of one process with batch 1 and 4-fold accumulation (the same items, the
same noise); an FSDP2 run stopped at a sharded (DCP) checkpoint resumes to exactly the
uninterrupted run, and one process resumes those shards too. No checkpoint file is a pickle:
resuming a downloaded run folder unpickles nothing."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file

from video.config import load_config
from video.training.config import TrainConfig
from video.training.trainer import train

ROOT = Path(__file__).resolve().parents[2]
COMMON = ["batch_size=1", "steps=4", "ckpt_every=3", "log_every=1", "data.height=32", "data.width=32",
          "data.size=8", "ema_decay=0.5", "optim.warmup_steps=2", "optim.lr=1e-3", "init_from="]


def test_ddp_and_fsdp_match_one_process_and_fsdp_resumes_exactly(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # --standalone: a free port, so parallel test sessions do not collide
    p = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(ROOT / "tests/training/distributed_worker.py"), str(tmp_path), *COMMON,
                          "optim.grad_accum=2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, cwd=ROOT)
    try:  # the one-process reference trains meanwhile
        one = load_config(TrainConfig, "configs/train/dit_stage1_image.yaml",
                          [f"out={tmp_path / 'one'}", *COMMON, "optim.grad_accum=4"])
        ref = train(one, progress=False)["losses"]
        _, err = p.communicate(timeout=400)
    finally:
        p.kill()
    assert p.returncode == 0, err[-3000:]
    got = json.loads((tmp_path / "results.json").read_text())

    assert len(ref) == 4 and len(set(ref)) == 4
    for mode in ("ddp", "fsdp"):
        torch.testing.assert_close(got[mode], ref, rtol=1e-4, atol=1e-6, msg=mode)
    # a whole run's weights, EMA'd, gathered from the shards into the runtime's layout
    w_ref = load_file(str(tmp_path / "one" / "final" / "trainable.safetensors"))
    for mode in ("ddp", "fsdp"):
        w = load_file(str(tmp_path / mode / "final" / "trainable.safetensors"))
        assert w.keys() == w_ref.keys()
        for k in w_ref:
            torch.testing.assert_close(w[k], w_ref[k], rtol=1e-4, atol=1e-6, msg=f"{mode} {k}")
    assert (tmp_path / "fsdp" / "final" / "model" / "video_pipeline.yaml").is_file()

    # every checkpoint, whole (DDP) or sharded (FSDP), is safetensors + JSON: no pickle anywhere
    ck = tmp_path / "fsdp_resumed" / "checkpoints"
    shards = sorted(f.name for f in (ck / "step_0000003" / "shards").iterdir())
    assert len(shards) == 2 and all(n.endswith(".safetensors") for n in shards)  # one per rank
    assert not list(ck.glob(".*partial"))
    files = [f for mode in ("ddp", "fsdp", "fsdp_resumed") for f in (tmp_path / mode / "checkpoints").rglob("*")
             if f.is_file()]
    assert {f.parent.name for f in files} >= {"step_0000003", "step_0000004", "shards"}
    for f in files:  # a pickle starts with its protocol byte 0x80; torch.save's zip with PK
        head = f.read_bytes()[:2]
        assert f.suffix in (".safetensors", ".json") and head[:1] != b"\x80" and head != b"PK", f

    # resume from the sharded checkpoint at step 3 equals no interruption
    assert got["fsdp_first"] == got["fsdp"][:3]
    assert got["fsdp_resumed"] == got["fsdp"][3:]
    w = load_file(str(tmp_path / "fsdp" / "final" / "trainable.safetensors"))
    w_resumed = load_file(str(tmp_path / "fsdp_resumed" / "final" / "trainable.safetensors"))
    assert all(torch.equal(w[k], w_resumed[k]) for k in w)
    steps = [json.loads(ln)["step"] for ln in (tmp_path / "fsdp_resumed" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]

    # DCP reshards on load: one process resumes the two ranks' shards (read back from the
    # safetensors headers alone) and finishes as the one-process run did
    moved = tmp_path / "one_from_fsdp"
    shutil.copytree(ck / "step_0000003", moved / "checkpoints" / "step_0000003")
    last = train(replace(one, out=str(moved)), progress=False)["losses"]
    torch.testing.assert_close(last, ref[3:], rtol=1e-4, atol=1e-6)
    w = load_file(str(moved / "final" / "trainable.safetensors"))
    for k in w_ref:
        torch.testing.assert_close(w[k], w_ref[k], rtol=1e-4, atol=1e-6, msg=k)
