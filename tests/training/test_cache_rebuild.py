"""A second `video cache-latents` into the same --out: shards are kept only when the build that
wrote them had the same settings (a changed size or seed rebuilds them, so index.json never
describes latents of another shape or data), and an interrupted rebuild leaves a folder that is
refused as an incomplete cache, then resumes with the shards it finished."""

import json

import pytest
import torch
from safetensors.torch import load_file

from video.config import load_config
from video.training import cache as cache_mod
from video.training.cache import LatentCache, build_latent_cache
from video.training.config import TrainConfig
from video.training.tasks import make_dataset

BASE = ["init_from=", "data.size=4", "data.height=32", "data.width=32"]


def cfg(*overrides) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [*BASE, *overrides])


def build(folder, *overrides, shard_size=2):
    return build_latent_cache(cfg(*overrides), folder, shard_size=shard_size, progress=False)


def shards(folder) -> list[dict[str, torch.Tensor]]:
    return [load_file(str(p)) for p in sorted(folder.glob("shard_*.safetensors"))]


def same_shards(a, b) -> bool:
    sa, sb = shards(a), shards(b)
    return len(sa) == len(sb) and all(x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
                                      for x, y in zip(sa, sb, strict=True))


@pytest.mark.parametrize("change", [["data.height=16", "data.width=16"], ["data.seed=7"]])
def test_a_rerun_with_other_settings_rebuilds_every_shard(tmp_path, change):
    """The reference is a fresh build of the second settings into an empty folder."""
    build(tmp_path / "cache")
    build(tmp_path / "cache", *change)
    build(tmp_path / "fresh", *change)
    assert same_shards(tmp_path / "cache", tmp_path / "fresh")
    index = json.loads((tmp_path / "cache" / "index.json").read_text())
    assert index == json.loads((tmp_path / "fresh" / "index.json").read_text())
    # the cache trains at the settings it says, with the latents of those settings
    data = make_dataset(cfg(*change, "data.kind=cache", f"data.path={tmp_path / 'cache'}"))
    assert torch.equal(data[3]["latents"], shards(tmp_path / "fresh")[1]["latents"][1])


def test_a_rerun_with_the_same_settings_keeps_the_shards(tmp_path):
    build(tmp_path / "cache")
    before = {p.name: p.stat().st_ino for p in (tmp_path / "cache").glob("shard_*")}
    build(tmp_path / "cache")
    assert {p.name: p.stat().st_ino for p in (tmp_path / "cache").glob("shard_*")} == before  # not rewritten


def test_fewer_items_remove_the_shards_no_index_reads(tmp_path):
    build(tmp_path / "cache", "data.size=6")  # 3 shards
    build(tmp_path / "cache", "data.size=4")  # 2
    assert sorted(p.name for p in (tmp_path / "cache").glob("shard_*")) == ["shard_00000.safetensors",
                                                                           "shard_00001.safetensors"]


def test_an_interrupted_rebuild_is_an_incomplete_cache_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "cache"
    build(out)  # a good cache: 2 shards of seed 0
    real, written = cache_mod.save_file, []

    def dies_at_the_second_shard(tensors, filename, metadata=None):  # a kill while shard 1 is written
        if written:
            with open(filename, "wb") as f:
                f.write(b"\0" * 10)
            raise KeyboardInterrupt
        written.append(filename)
        real(tensors, filename, metadata=metadata)

    monkeypatch.setattr(cache_mod, "save_file", dies_at_the_second_shard)
    with pytest.raises(KeyboardInterrupt):
        build(out, "data.seed=7")
    monkeypatch.setattr(cache_mod, "save_file", real)

    # shard 0 is the new build's, shard 1 the old one's: the folder must not read as a cache
    with pytest.raises(FileNotFoundError, match="incomplete cache.*rerun cache-latents"):
        LatentCache(out)
    with pytest.raises(FileNotFoundError, match="incomplete cache"):
        make_dataset(cfg("data.seed=7", "data.kind=cache", f"data.path={out}"))

    kept = (out / "shard_00000.safetensors").stat().st_ino
    build(out, "data.seed=7")  # the rerun resumes: the finished shard is kept
    assert (out / "shard_00000.safetensors").stat().st_ino == kept
    build(tmp_path / "fresh", "data.seed=7")
    assert same_shards(out, tmp_path / "fresh")
    assert len(LatentCache(out)) == 4


def test_a_shard_of_another_build_under_an_index_is_refused(tmp_path):
    """Defence in depth: index.json records the build's key, and a shard with another key (put
    there by hand, or by an older version's rebuild) is an error, not other data."""
    build(tmp_path / "a")
    build(tmp_path / "b", "data.seed=7")
    (tmp_path / "a" / "shard_00001.safetensors").write_bytes((tmp_path / "b" / "shard_00001.safetensors").read_bytes())
    data = LatentCache(tmp_path / "a")
    data[0]
    with pytest.raises(ValueError, match="shard_00001.safetensors: incomplete cache"):
        data[2]


def test_a_missing_shard_stops_training_instead_of_being_skipped(tmp_path):
    """The trainer replaces an unreadable media file by the next item; a shard the index lists
    but the folder lacks is no such file but a cache that is not whole, and training stops."""
    from video.training.loading import ItemLoader

    build(tmp_path / "cache")
    (tmp_path / "cache" / "shard_00001.safetensors").unlink()
    load = ItemLoader(LatentCache(tmp_path / "cache"))
    load(0)
    with pytest.raises(ValueError, match="incomplete cache .shard_00001.safetensors, which index.json lists, is missing"):
        load(2)
