"""``video train --dry-run`` refuses a latent cache that another model's encoders made, as the
run refuses it (it passed with rc 0; the run then said "was built with model=tiny but this run
trains model=...")."""

from pathlib import Path

import pytest

from video.config import ConfigError, load_config
from video.training.cache import build_latent_cache
from video.training.config import TrainConfig
from video.training.trainer import train

REPO = Path(__file__).resolve().parents[2]
TINY = ["init_from=", "data.frames=1", "data.height=16", "data.width=16"]


def test_dry_run_refuses_a_cache_of_another_model_as_the_run_does(tmp_path, cli):
    from video.runtime.txt2vid import build_tiny, save_t2v

    config = str(REPO / "configs/train/dit_stage2_video.yaml")
    cache = build_latent_cache(load_config(TrainConfig, config, [*TINY, "data.kind=shapes", "data.size=2",
                                                                 "model=tiny"]),
                               tmp_path / "cache_dit", shard_size=2, progress=False)
    other = save_t2v(build_tiny(0), tmp_path / "t2v")
    argv = [*TINY, "data.kind=cache", f"data.path={cache}", f"out={tmp_path / 'run'}"]

    ok = cli("train", config, *argv, "model=tiny", "--dry-run")  # the model that built it passes
    assert ok.returncode == 0, ok.stderr

    dry = cli("train", config, *argv, f"model={other}", "--dry-run")
    assert dry.returncode != 0
    assert len(dry.errors) == 1 and "was built with model=tiny but this run trains model=" in dry.errors[0]
    with pytest.raises(ConfigError) as run:  # the refusal of the run itself, before any model is built
        train(load_config(TrainConfig, config, [*argv, f"model={other}"]), progress=False)
    assert dry.errors[0] == f"error: {run.value}"
