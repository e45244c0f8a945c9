"""`video train --help` names every built-in training config (it listed four by hand, leaving
out lora and dit_lora) and says that --dry-run prints every key. configs/train/quickstart.yaml is
`video quickstart`'s config, not a training config: it was offered, and `video train quickstart`
failed on its first key ("unknown config key 'vae'")."""

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
    assert len(names) >= 9 and "quickstart" in names
    for name in names:
        assert (name in out) == (name != "quickstart"), name
    assert "every key" in out


@pytest.mark.parametrize("argv", [["train", "quickstart", "--dry-run"], ["cache-latents", "quickstart", "--out", "c"],
                                  ["train", str(ROOT / "configs" / "train" / "quickstart.yaml"), "--dry-run"]])
def test_the_quickstart_config_is_refused_as_a_training_config(cli, tmp_path, argv):
    r = cli(*argv, cwd=tmp_path)
    assert r.returncode == 2 and len(r.errors) == 1, r.stderr
    assert "is the config of `video quickstart` (the whole staged recipe), not a training config: run `video " \
           "quickstart`, or train a stage: dit_lora, dit_stage1_image," in r.errors[0], r.errors
    assert not list(tmp_path.iterdir())  # no cache folder started
