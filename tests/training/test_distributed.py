"""Two processes under torchrun (gloo on CPU): gradients averaged, ranks stay identical (the
trainer checks and raises otherwise), rank 0 writes, and a stopped run resumes per-rank RNG."""

import json
import subprocess
import sys


def torchrun(*args, timeout=400):
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", "29517", "-m", "video.cli", "train", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_two_ranks_train_in_sync_and_resume(tmp_path):
    out = tmp_path / "ddp"
    base = ["dit_stage1_image", f"out={out}", "batch_size=2", "data.height=32", "data.width=32", "ckpt_every=2",
            "log_every=1", "init_from="]
    p = torchrun(*base, "steps=2")
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.count("trained 2 steps") == 1  # rank 0 reports, rank 1 stays quiet
    meta = json.loads((out / "checkpoints" / "step_0000002" / "state.json").read_text())
    assert len(meta["gen_ranks"]) == 2 and meta["gen_ranks"][0] != meta["gen_ranks"][1]
    p = torchrun(*base, "steps=4")  # resumes at step 2
    assert p.returncode == 0, p.stderr[-2000:]
    steps = [json.loads(ln)["step"] for ln in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    assert (out / "final" / "model" / "video_pipeline.yaml").is_file()
