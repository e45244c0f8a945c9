"""Reruns of the quickstart on the same out folder, at toy scale (a 16-pixel VAE and two DiT
stages of a few steps): the same command skips what is done; other VAE settings (a quick look's
--scale, then the full run's) fit the VAE again and train every DiT stage begun on the old one
again from step 0; a stage trained further restarts the stage after it. The loss curve is the
logged metrics', whole after an interruption, and Ctrl-C says what was saved."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from video.training.quickstart import LINEAGE, logged_losses, plot_losses, run_quickstart, weights_fingerprint

ROOT = Path(__file__).resolve().parents[2]
DIT = ["batch_size=1", "log_every=1", "data.kind=shapes", "data.height=16", "data.width=16", "data.size=8"]


def config(tmp_path: Path, stage1_steps: int = 2, whole: bool = True) -> Path:
    """A quickstart YAML: the VAE and two stages, or (``whole=False``) stage 1 alone, on the tiny model."""
    stages = [{"config": "dit_stage1_image", "overrides": [f"steps={stage1_steps}", *DIT]},
              {"config": "dit_stage2_video", "overrides": ["steps=1", *DIT, "data.frames=3"]}]
    path = tmp_path / "qs.yaml"
    path.write_text(json.dumps({  # JSON is YAML
        "out": str(tmp_path / "qs"),
        "vae": {"steps": 2 if whole else 0, "down_blocks": 2, "data": "shapes", "sizes": [16], "batch_size": 2,
                "holdout": 4},
        "stages": stages if whole else stages[:1]}))
    return path


def trained_lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith("train dit_t2v:")]


def test_a_quick_look_then_the_full_run_on_the_same_out(tmp_path, capsys):
    qs = tmp_path / "qs"
    run_quickstart(config(tmp_path))
    capsys.readouterr()

    # the same command again: nothing trained, nothing exported again
    run_quickstart(config(tmp_path))
    out = capsys.readouterr().out
    assert "vae: reusing" in out and "trained again" not in out and "fitting it again" not in out
    assert out.count("already holds step") == 2

    # another --scale: the VAE (3 steps, not 2) is fitted again, and both stages begun on the old one restart
    result = run_quickstart(config(tmp_path), scale=1.5)
    out = capsys.readouterr().out
    assert f"vae: {qs / 'vae' / 'model'} is not reused: it was fitted with other settings (steps 2 -> 3); " \
           "fitting it again" in out
    assert f"dit_stage1_image: {qs / 'dit_stage1_image'} is trained again from step 0: the VAE was fitted " \
           "again since it began" in out
    assert f"dit_stage2_video: {qs / 'dit_stage2_video'} is trained again from step 0: the VAE was fitted again " \
           "since it began and dit_stage1_image was trained further or again since it began" in out
    lines = trained_lines(out)
    assert len(lines) == 2 and not any("resuming" in ln for ln in lines), out
    assert json.loads((qs / "vae" / "vae.json").read_text())["settings"]["steps"] == 3
    assert result["vae"]["settings"]["steps"] == 3
    lineage = json.loads((qs / LINEAGE).read_text())  # each stage began on what is there now
    vae = weights_fingerprint(qs / "vae" / "model")
    assert lineage["dit_stage1_image"] == {"model": vae, "init_from": None}
    assert lineage["dit_stage2_video"] == {"model": vae,
                                           "init_from": weights_fingerprint(qs / "dit_stage1_image" / "final")}

    # stage 1 longer (4 steps, not 3), the VAE the same: stage 1 goes on, stage 2 restarts from its new end
    run_quickstart(config(tmp_path, stage1_steps=3), scale=1.5)
    out = capsys.readouterr().out
    assert "vae: reusing" in out
    lines = trained_lines(out)
    assert len(lines) == 2 and "(resuming at step 3)" in lines[0] and "resuming" not in lines[1], out
    assert out.count("is trained again from step 0") == 1
    assert f"dit_stage2_video: {qs / 'dit_stage2_video'} is trained again from step 0: dit_stage1_image was " \
           "trained further or again since it began" in out
    rows = [json.loads(ln) for ln in (qs / "dit_stage2_video" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1]


def test_logged_losses_skip_missing_and_non_finite_values(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 0.5}\n{"step": 2, "loss": null}\n{"step": 3, "loss": NaN}\n'
                    '{"step": 4, "lr": 1}\n{"step": 5, "loss": 0.25}\n')
    assert logged_losses(path) == [0.5, 0.25]
    assert logged_losses(tmp_path / "none.jsonl") == []


def quickstart(cfg: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # both on the config's one thread: the same float sums
    return subprocess.Popen([sys.executable, "-m", "video.cli", "quickstart", "--config", str(cfg), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def test_ctrl_c_says_what_was_saved_and_the_rerun_plots_the_whole_curve(tmp_path):
    """A first Ctrl-C during a stage names the checkpoint and the rerun; the rerun's loss curve
    is every logged step's (it was only the steps trained after the resume)."""
    cfg = config(tmp_path, stage1_steps=30, whole=False)
    cut = tmp_path / "cut"
    p = quickstart(cfg, cut)
    metrics = cut / "dit_stage1_image" / "metrics.jsonl"

    def interrupt():  # once stage 1 has logged 3 steps: the 4th is under way
        deadline = time.monotonic() + 300
        while not (metrics.is_file() and len(metrics.read_text().splitlines()) >= 3) and time.monotonic() < deadline:
            time.sleep(0.02)
        p.send_signal(signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    try:
        _, err = p.communicate(timeout=300)
    finally:
        p.kill()
    assert p.returncode == 130, err[-3000:]
    said = [ln for ln in err.splitlines() if ln.startswith("video quickstart:")]
    assert len(said) == 1 and said[0].startswith("video quickstart: stage dit_stage1_image interrupted at step "), err
    assert "saved a checkpoint there" in said[0] and said[0].endswith("rerun the same command to resume")
    assert "interrupted" not in err.splitlines()  # the CLI's bare line is not said after it
    step = int(said[0].split("interrupted at step ")[1].split(";")[0])
    assert 3 <= step < 30

    again = quickstart(cfg, cut)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-3000:]
    assert [json.loads(ln)["step"] for ln in metrics.read_text().splitlines()] == list(range(1, 31))
    assert len(logged_losses(metrics)) == 30
    expected = plot_losses({"dit_stage1_image": logged_losses(metrics)}, tmp_path / "expected.png")  # the whole curve
    assert (cut / "loss.png").read_bytes() == expected.read_bytes()


def test_a_stage_refused_is_one_line(tmp_path, capsys):
    """A stage's run refused on its settings (here a size the model cannot render) is one
    ``error:`` line and exit 2, as ``video train`` says it (it was a traceback)."""
    from video.cli import main

    cfg = json.loads(config(tmp_path, whole=False).read_text())
    cfg["stages"][0]["overrides"].append("data.height=40")
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(cfg))
    assert main(["quickstart", "--config", str(path), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [ln for ln in err.splitlines() if ln.startswith("error:")] == [
        "error: data.height=40: must be a multiple of 16 for this model (VAE x8 times patch 2)"], err
