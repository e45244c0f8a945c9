"""A run killed between its ``final/`` export and the preview: the rerun finds ``final/``
current and renders the missing preview alone (it said "not exported or previewed again" and
the preview was never made, so ``video quickstart`` left the stage out of ``samples.png``). The
preview is of the weights ``final/`` holds (EMA on here), the same clip an uninterrupted run
renders; ``final/`` is not written again."""

import numpy as np

from video.config import load_config
from video.media import read_video
from video.training.config import TrainConfig
from video.training.trainer import train


def cfg(out) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
        f"out={out}", "init_from=", "steps=2", "batch_size=1", "ckpt_every=2", "ema_decay=0.9", "data.frames=1",
        "data.height=16", "data.width=16", "data.size=2", "optim.warmup_steps=0"])


def test_a_rerun_renders_the_preview_a_kill_left_missing(tmp_path, capsys):
    run = tmp_path / "run"
    first = train(cfg(run), progress=False)
    preview = run / "samples" / "step_0000002.mp4"
    assert first["preview"] == str(preview)
    expected = read_video(preview)
    marker = (run / "final" / "trained.json").stat().st_mtime_ns
    preview.unlink()  # what a kill after the export, before the preview, leaves
    capsys.readouterr()

    again = train(cfg(run), progress=False)
    out = capsys.readouterr().out
    assert f"{run / 'final'} already holds step 2 of this config: not exported again; rendered its missing " \
           f"preview {preview}" in out, out
    assert again["preview"] == str(preview) and again["final"] == str(run / "final")
    assert np.array_equal(read_video(preview), expected)  # final/'s (EMA) weights, as the first render
    assert (run / "final" / "trained.json").stat().st_mtime_ns == marker

    train(cfg(run), progress=False)  # both there: nothing is done again
    assert f"{run / 'final'} already holds step 2 of this config: not exported or previewed again" in \
        capsys.readouterr().out
