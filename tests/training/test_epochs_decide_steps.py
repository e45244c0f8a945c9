"""``epochs > 0`` decides how many steps a run trains, and a ``steps`` beside it is not read:
that was silent (``epochs=1 steps=3`` trained 4 steps here without a word), and a finished
epochs run rerun with more ``steps`` said only "nothing left to train". Now a note says steps
is ignored, and a rerun at the last step of its epochs says to raise ``epochs=``."""

import json

from video.config import CONFIG_DIR

TINY = ["init_from=", "data.kind=shapes", "data.size=4", "data.frames=1", "data.height=16", "data.width=16",
        "batch_size=1", "log_every=1", "ckpt_every=100", "epochs=1"]
IGNORED = "note: steps={} is ignored: epochs=1 decides how many steps this run trains (epochs=0 trains by steps)"
LAST = "note: the run is at step 4, the last of epochs=1: nothing is left to train; to train on, rerun with a higher " \
       "epochs= (epochs=2 or more)"


def test_steps_beside_epochs_is_said_to_be_ignored(tmp_path, cli):
    run = tmp_path / "run"
    config = CONFIG_DIR / "train" / "dit_stage1_image.yaml"
    first = cli("train", config, *TINY, "steps=3", f"out={run}")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert "steps = 4 items x repeats x 1 epochs / 1 per step = 4" in lines  # 4 items, one a step
    assert IGNORED.format(3) in lines and LAST not in lines
    assert [json.loads(ln)["step"] for ln in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4]

    again = cli("train", run / "config.yaml", f"out={run}", "steps=6")  # a finished epochs run, more steps
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert IGNORED.format(6) in lines and LAST in lines
    assert "nothing left to train" in lines[-1]

    same = cli("train", run / "config.yaml", f"out={run}")  # config.yaml records steps=4: no steps to ignore
    assert same.returncode == 0, same.stderr
    lines = same.stdout.splitlines()
    assert not any("is ignored" in ln for ln in lines) and LAST in lines


def test_no_note_without_epochs(tmp_path, cli):
    config = CONFIG_DIR / "train" / "dit_stage1_image.yaml"
    p = cli("train", config, *TINY[:-1], "steps=2", f"out={tmp_path / 'run'}")
    assert p.returncode == 0, p.stderr
    assert not any(ln.startswith(("steps = ", "note: steps=", "note: the run is at")) for ln in p.stdout.splitlines())
