"""`video train --help` names every built-in training config (it listed four by hand, leaving
out lora and dit_lora) and says that --dry-run prints every key."""

from pathlib import Path

import pytest

from video.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_train_help_names_every_config(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    names = sorted(p.stem for p in (ROOT / "configs" / "train").glob("*.yaml"))
    assert len(names) >= 9
    for name in names:
        assert name in out
    assert "every key" in out
