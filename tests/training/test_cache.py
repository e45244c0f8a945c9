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


def test_an_unreadable_file_is_replaced_and_listed(tmp_path, capsys):
    """A corrupt image costs a warning, not the cache: its slot holds the next readable item,
    as the trainer would train on, and index.json names it."""
    import json

    import numpy as np
    from PIL import Image
    from safetensors.torch import load_file

    from video.training.cache import build_latent_cache

    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for j in range(3):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(images / f"{j}.png")
    data = (images / "1.png").read_bytes()
    (images / "1.png").write_bytes(data[: len(data) // 3])  # a valid header, the pixels cut off
    cfg = load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
        "init_from=", "data.kind=images", f"data.path={images}", "data.height=16", "data.width=16"])
    cache = build_latent_cache(cfg, tmp_path / "cache", shard_size=8, progress=False)
    latents = load_file(str(cache / "shard_00000.safetensors"))["latents"]
    assert latents.shape[0] == 3 and torch.equal(latents[1], latents[2]) and not torch.equal(latents[0], latents[1])
    assert list(json.loads((cache / "index.json").read_text())["unreadable"]) == ["1"]
    assert "1 unreadable item(s) were replaced" in capsys.readouterr().out


def test_a_build_that_fails_to_start_leaves_no_folder(tmp_path):
    """An error while the data or the encoders load (here a model folder that is not there)
    leaves no empty ``--out`` folder behind to be mistaken for a cache."""
    from video.models.svd import CheckpointError
    from video.training.cache import build_latent_cache

    cfg = load_config(TrainConfig, "configs/train/dit_stage2_video.yaml",
                      ["data.size=2", "data.frames=1", "data.height=32", "data.width=32", "init_from=",
                       f"model={tmp_path / 'no_such_model'}"])
    with pytest.raises(CheckpointError, match="not found"):
        build_latent_cache(cfg, tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache").exists()
