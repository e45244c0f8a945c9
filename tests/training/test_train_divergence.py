"""A run whose steps keep failing (non-finite loss or gradient norm) stops with one error line
instead of spending its steps and exporting the weights that failed, and keeps the checkpoint
from before the failures; ``metrics.jsonl`` stays strict JSON (``null``, never ``NaN``)."""

import json
import math

from video.training.metrics import MetricsLog, truncate_metrics
from video.training.trainer import MAX_NONFINITE_STEPS

TINY = ["data.frames=1", "data.height=16", "data.width=16", "data.size=64", "batch_size=2", "log_every=1",
        "init_from="]


def strict(line: str) -> dict:
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(line, parse_constant=refuse)


def test_a_diverged_run_stops_naming_its_last_checkpoint(tmp_path, cli):
    run = tmp_path / "nan"
    p = cli("train", "dit_stage1_image", f"out={run}", "steps=40", *TINY, "optim.lr=1e8", "optim.warmup_steps=0",
            "optim.grad_clip=0", "ckpt_every=1", "ckpt_keep=2")
    assert p.returncode == 2 and len(p.errors) == 1, p.stdout[-2000:] + p.stderr[-2000:]
    rows = [strict(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    first = next(r["step"] for r in rows if r["loss"] is None)  # lr=1e8: the first update breaks the weights
    last = first + MAX_NONFINITE_STEPS - 1
    assert rows[-1]["step"] == last and all(r["loss"] is None and r["grad_norm"] is None for r in rows[first - 1:])
    broke = run / "checkpoints" / f"step_{first - 1:07d}"  # its update broke the weights (finite loss, norm)
    older = run / "checkpoints" / f"step_{first - 2:07d}"
    assert f"steps {first}-{last} ({MAX_NONFINITE_STEPS} in a row)" in p.errors[0]
    # no checkpoint written while steps failed: ckpt_keep=2 kept the two from before them
    assert sorted(c.name for c in (run / "checkpoints").iterdir()) == ([older.name] if first > 2 else []) + [broke.name]
    assert f"{broke} (step {first - 1}), holds the update after which every step failed: remove it" in p.errors[0]
    then = f"resumes from {older} (step {first - 2})" if first > 2 else "starts from step 0"
    assert p.errors[0].endswith(then), p.errors[0]
    assert not (run / "final").exists() and not (run / "samples").exists()
    assert not (run / ".train.lock").exists()  # released on the error too
    # the advice works: without that checkpoint, a rerun at a sane rate trains to the end
    import shutil

    shutil.rmtree(broke)
    p = cli("train", "dit_stage1_image", f"out={run}", "steps=40", *TINY, "optim.lr=1e-4", "optim.warmup_steps=0",
            "optim.grad_clip=0", "ckpt_every=1", "ckpt_keep=2")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]


def test_non_finite_metrics_are_null_and_a_resume_reads_them(tmp_path):
    log = MetricsLog(tmp_path)
    log.log({"step": 1, "loss": 0.5, "grad_norm": 1.0, "skipped": 0})
    log.log({"step": 2, "loss": math.nan, "grad_norm": math.inf, "skipped": 1})
    log.log({"step": 3, "loss": -math.inf, "grad_norm": math.nan, "skipped": 2})
    log.close()
    rows = [strict(ln) for ln in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[1] == {"step": 2, "loss": None, "grad_norm": None, "skipped": 1}
    assert rows[2]["loss"] is None and rows[0]["loss"] == 0.5
    truncate_metrics(tmp_path / "metrics.jsonl", 2)
    assert [strict(ln)["step"] for ln in (tmp_path / "metrics.jsonl").read_text().splitlines()] == [1, 2]
