"""Ctrl-C during ``video train``: a real SIGINT to a real ``video train`` process. The first
stops at the next step boundary with a checkpoint of that step (exit 130, one line after the
bar's), and rerunning the same command finishes exactly as an uninterrupted run does; a second
signal stops at once, saves nothing more and names the checkpoint a rerun resumes from."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]
STEPS = 12
ARGS = ["dit_stage1_image", "batch_size=1", "log_every=1", "data.height=16", "data.width=16",
        "data.size=8", "ema_decay=0.5", "optim.warmup_steps=2", "optim.lr=1e-3", "init_from="]
INTERRUPTED = re.compile(r"video train: interrupted at step (\d+); saved a checkpoint there: "
                         r"rerun the same command to resume")


def start(run: Path, *overrides: str) -> subprocess.Popen:
    # the threads of this process (tests/conftest.py sets them): the same float sums as train() here
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(torch.get_num_threads())}
    return subprocess.Popen([sys.executable, "-m", "video.cli", "train", *ARGS, f"steps={STEPS}", f"out={run}",
                             *overrides],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def when_logged(run: Path, step: int, send) -> threading.Thread:
    """Call ``send()`` from a thread once ``run`` has logged ``step`` (the next step is under way)."""
    def wait():
        metrics = run / "metrics.jsonl"
        deadline = time.monotonic() + 300
        while not (metrics.is_file() and len(metrics.read_text().splitlines()) >= step):
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
        send()

    t = threading.Thread(target=wait, daemon=True)
    t.start()
    return t


def steps_of(run: Path) -> list[int]:
    return sorted(int(c.name[5:]) for c in (run / "checkpoints").glob("step_*"))


def test_first_ctrl_c_saves_that_step_and_the_rerun_matches_an_uninterrupted_run(tmp_path, cli):
    cut = tmp_path / "cut"
    p = start(cut, "ckpt_every=1000")  # no checkpoint before the end but the interrupt's
    when_logged(cut, 3, lambda: p.send_signal(signal.SIGINT))
    try:  # the uninterrupted reference trains here meanwhile
        ref = cli("train", *ARGS, f"steps={STEPS}", f"out={tmp_path / 'ref'}", "ckpt_every=1000")
        _, err = p.communicate(timeout=300)
    finally:
        p.kill()
    assert ref.returncode == 0, ref.stderr[-3000:]
    assert p.returncode == 130, err[-3000:]
    last = err.rstrip("\n").rsplit("\n", 1)[-1]  # a line of its own, after the bar's
    m = INTERRUPTED.fullmatch(last)
    assert m, err[-2000:]
    step = int(m.group(1))
    assert 3 <= step < STEPS and steps_of(cut) == [step]  # a step boundary: none begun after it
    assert not (cut / "final").exists()
    assert err.count("video train: interrupted") == 1 and "Traceback" not in err
    # said when the signal came: a slow step would otherwise invite a second Ctrl-C that loses the save
    assert err.count("video train: stopping after this step to save a checkpoint") == 1

    # the same command again resumes there and ends as the uninterrupted run did
    again = cli("train", *ARGS, f"steps={STEPS}", f"out={cut}", "ckpt_every=1000")
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"(resuming at step {step})" in again.stdout and "changed settings" not in again.stdout

    def losses(run):
        return [(r["step"], r["loss"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]

    assert losses(cut) == losses(tmp_path / "ref") and len(losses(cut)) == STEPS
    a = load_file(str(cut / "final" / "trainable.safetensors"))
    b = load_file(str(tmp_path / "ref" / "final" / "trainable.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_second_signal_stops_at_once_and_names_the_last_checkpoint(tmp_path, cli):
    """In this process (real signals, to itself): a kill and a Ctrl-C together, once step 3 is
    logged, far from the end (200 steps), so the loop's handlers are in place when they come."""
    run = tmp_path / "run"

    def send():  # two signals (two of one kind may merge into one): the first asks for a stop at
        os.kill(os.getpid(), signal.SIGTERM)  # the step boundary, the second stops before it is reached
        os.kill(os.getpid(), signal.SIGINT)

    def unhandled(signum, frame):  # without train()'s handler a SIGTERM would end pytest itself
        raise RuntimeError("SIGTERM reached the test: the training loop had no handler for it")

    before = signal.signal(signal.SIGTERM, unhandled)
    try:
        handlers = signal.getsignal(signal.SIGINT), unhandled
        sender = when_logged(run, 3, send)
        p = cli("train", *ARGS, "steps=200", f"out={run}", "ckpt_every=2")
        sender.join()
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # put back
    finally:
        signal.signal(signal.SIGTERM, before)
    assert p.returncode == 130, p.stderr[-3000:]
    kept = steps_of(run)
    assert kept and all(s % 2 == 0 for s in kept)  # only the regular checkpoints: nothing saved for the stop
    newest = run / "checkpoints" / f"step_{kept[-1]:07d}"
    assert p.stderr.rstrip("\n").rsplit("\n", 1)[-1] == (
        f"video train: stopped without saving; the last checkpoint is {newest} (step {kept[-1]}): "
        "rerun the same command to resume from there")


def test_under_torchrun_every_rank_stops_after_the_same_step_and_saves_it(tmp_path, cli):
    """``torchrun``'s Ctrl-C (SIGINT to the launcher, which passes it on to each worker): the two
    ranks agree on the step, write its checkpoint together and exit by themselves (torchrun did not
    have to SIGKILL them); rank 0 alone says so. One process with 2-fold accumulation (the same
    global batch) resumes it and trains on as its uninterrupted run does."""
    run = tmp_path / "ddp"
    common = [*ARGS, "steps=16", "ckpt_every=1000"]
    p = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "video.cli", "train", *common, f"out={run}", "parallel=ddp"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    when_logged(run, 2, lambda: p.send_signal(signal.SIGINT))
    try:  # the one-process reference trains here meanwhile
        ref = cli("train", *common, f"out={tmp_path / 'one'}", "optim.grad_accum=2")
        _, err = p.communicate(timeout=300)
    finally:
        p.kill()
    assert ref.returncode == 0, ref.stderr[-3000:]
    lines = [ln for ln in err.splitlines() if ln.startswith("video train: interrupted")]
    assert len(lines) == 1 and INTERRUPTED.fullmatch(lines[0]), err[-4000:]
    assert err.count("video train: stopping after this step") == 1  # rank 0 alone says it
    assert "forcefully exiting" not in err  # the workers exited within torchrun's shutdown timeout
    step = int(INTERRUPTED.fullmatch(lines[0]).group(1))
    assert 2 <= step < 16 and steps_of(run) == [step]
    meta = json.loads((run / "checkpoints" / f"step_{step:07d}" / "state.json").read_text())
    assert (meta["step"], meta["world"], meta["parallel"]) == (step, 2, "ddp")

    again = cli("train", *common, f"out={run}", "optim.grad_accum=2")
    assert again.returncode == 0, again.stderr[-3000:]

    rows = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    one = [json.loads(ln) for ln in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 17))  # no step lost or trained twice
    # the same items and noise per step as one process (float sums differ in their order, so the
    # losses match closely, not bit for bit; a wrong data position or optimizer state would not)
    torch.testing.assert_close([r["loss"] for r in rows], [r["loss"] for r in one], rtol=1e-4, atol=1e-6)


def test_a_ctrl_c_in_the_last_step_finishes_the_run(tmp_path, cli, monkeypatch):
    """The last step is whole when the signal is read: the run is done, so it exports final/ and
    exits 0 rather than stop with 'rerun to resume' (a scheduler's SIGTERM at a job's end used to
    leave the export to a rerun). The signal is sent from inside the last step, in this process."""
    import video.training.trainer as trainer

    steps, noise = 3, trainer.noise_generator

    def signalling(seed, step, slot):
        if step == steps - 1:  # 0-based: the last step's noise
            os.kill(os.getpid(), signal.SIGINT)
        return noise(seed, step, slot)

    monkeypatch.setattr(trainer, "noise_generator", signalling)
    run = tmp_path / "run"
    p = cli("train", *ARGS, f"steps={steps}", f"out={run}", "ckpt_every=100")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "video train: stopping after this step" in p.stderr and "interrupted" not in p.stderr
    assert (run / "final" / "trainable.safetensors").is_file() and steps_of(run) == [steps]
