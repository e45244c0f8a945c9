"""``video train --dry-run`` checks ``init_from`` where the run reads it: the README's stage-2
command passed a dry run and then failed at once on a stage-1 folder that was not there."""
from __future__ import annotations

import torch
from safetensors.torch import save_file

from video.cli import main


def test_dry_run_refuses_a_missing_earlier_stage(tmp_path, capsys):
    rc = main(["train", "dit_stage2_video", "data.kind=shapes", f"out={tmp_path / 'run'}",
               f"init_from={tmp_path / 'stage1'}", "--dry-run"])
    err = capsys.readouterr().err
    assert rc == 2 and "no final/ export, checkpoint, model folder or .safetensors" in err


def test_dry_run_names_what_init_from_resolves_to_on_stderr(tmp_path, capsys):
    weights = tmp_path / "stage1.safetensors"
    save_file({"w": torch.zeros(1)}, str(weights))
    rc = main(["train", "dit_stage2_video", "data.kind=shapes", f"out={tmp_path / 'run'}",
               f"init_from={weights}", "--dry-run"])
    out, err = capsys.readouterr()
    assert rc == 0 and f"init_from: {weights}" in err
    assert "init_from:" in out and f"init_from: {weights}\n" not in out.split("\n", 1)[0]  # stdout is the YAML


def test_a_resumed_full_run_does_not_read_init_from(tmp_path, capsys):
    """A run folder with a checkpoint resumes from it (every weight), so a moved earlier stage
    is no error there, as in the run itself."""
    run = tmp_path / "run"
    ck = run / "checkpoints" / "step_0000002"
    ck.mkdir(parents=True)
    save_file({"w": torch.zeros(1)}, str(ck / "model.safetensors"))
    (ck / "state.json").write_text('{"step": 2}')
    rc = main(["train", "dit_stage2_video", "data.kind=shapes", f"out={run}", f"init_from={tmp_path / 'gone'}",
               "--dry-run"])
    assert rc == 0, capsys.readouterr().err
