"""Training from the latent cache is the same computation as training from the raw data."""

import subprocess
import sys

import pytest
import torch

from video.config import load_config
from video.training.config import TrainConfig
from video.training.tasks import make_dataset
from video.training.trainer import train


def test_cached_training_equals_raw_training(tmp_path):
    base = ["steps=3", "batch_size=2", "data.size=5", "data.frames=3", "data.height=32", "data.width=32",
            "objective.caption_dropout=0.0", "init_from=", "ckpt_every=1000"]
    cache = tmp_path / "cache"
    p = subprocess.run([sys.executable, "-m", "video.cli", "cache-latents", "dit_stage2_video", *base, "--out",
                        str(cache), "--shard-size", "2"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-1500:]
    assert sorted(x.name for x in cache.glob("shard_*")) == ["shard_00000.safetensors", "shard_00001.safetensors",
                                                             "shard_00002.safetensors"]
    raw = train(load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", [*base, f"out={tmp_path / 'raw'}"]),
                progress=False)
    cached = train(load_config(TrainConfig, "configs/train/dit_stage2_video.yaml",
                               [*base, f"out={tmp_path / 'cached'}", "data.kind=cache", f"data.path={cache}"]),
                   progress=False)
    assert torch.allclose(torch.tensor(raw["losses"]), torch.tensor(cached["losses"]), rtol=1e-5, atol=1e-6)


def test_svd_cached_training_equals_raw_training(tmp_path):
    """The SVD cache holds frame latents, the CLIP embedding and the clean first frame; the
    conditioning-frame noise is still drawn per step, so both runs see the same noise."""
    from video.training.cache import build_latent_cache

    base = ["steps=4", "batch_size=2", "data.size=5", "data.frames=3", "data.height=32", "data.width=32",
            "init_from=", "ckpt_every=1000", "data.kind=shapes"]  # 3 of 4 steps: no export or preview
    cache = build_latent_cache(load_config(TrainConfig, "configs/train/stage2_video.yaml", base), tmp_path / "cache",
                               shard_size=4, progress=False)
    raw = train(load_config(TrainConfig, "configs/train/stage2_video.yaml", [*base, f"out={tmp_path / 'raw'}"]),
                progress=False, stop_after=3)
    cached = train(load_config(TrainConfig, "configs/train/stage2_video.yaml",
                               [*base, f"out={tmp_path / 'cached'}", "data.kind=cache", f"data.path={cache}"]),
                   progress=False, stop_after=3)
    assert len(raw["losses"]) == 3
    assert torch.allclose(torch.tensor(raw["losses"]), torch.tensor(cached["losses"]), rtol=1e-5, atol=1e-6)
    dit = load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", ["data.kind=cache", f"data.path={cache}"])
    with pytest.raises(ValueError, match="svd cache"):
        make_dataset(dit)
