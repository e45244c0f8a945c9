"""A rerun of `video cache-latents` after files were replaced in place: each shard records the
fingerprints (path, size, mtime_ns) of the files its items were read from, and a manifest
clip's row, so a re-exported clip, an edited caption or a changed manifest row rebuilds exactly
the shards that read it, a manifest rewritten with equal rows (a no-op `curate run`) none, new
weights at the model's path every shard, and an untouched rerun nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from video.config import load_config
from video.training.cache import build_key, build_latent_cache
from video.training.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs/train/dit_stage1_image.yaml")
TINY = ["init_from=", "data.frames=1", "data.height=16", "data.width=16"]


def cfg(*overrides: str) -> TrainConfig:
    return load_config(TrainConfig, CONFIG, [*TINY, *overrides])


def build(out: Path, *overrides: str, shard_size: int = 1) -> Path:
    return build_latent_cache(cfg(*overrides), out, shard_size=shard_size, progress=False)


def inodes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_ino for p in sorted(out.glob("shard_*.safetensors"))}


def rebuilt(before: dict[str, int], out: Path) -> list[int]:
    """The shard numbers a rerun wrote again (atomic writes give a rewritten shard a new inode)."""
    after = inodes(out)
    assert after.keys() == before.keys()
    return [int(name[6:11]) for name in before if after[name] != before[name]]


def shard(out: Path, s: int) -> dict[str, torch.Tensor]:
    return load_file(str(out / f"shard_{s:05d}.safetensors"))


def later(path: Path) -> None:
    """Move ``path``'s mtime a second on: the edit happened after the build, whatever the
    filesystem's timestamp granularity."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def image(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)


def clip(path: Path, seed: int, frames: int = 8) -> Path:
    from video.media import write_video

    rng = np.random.default_rng(seed)
    return write_video(rng.integers(0, 255, (frames, 32, 32, 3), dtype=np.uint8), path, fps=8)


@pytest.fixture
def kohya(tmp_path) -> list[str]:
    """1_x/ with a.png + a.txt, b.png + b.txt and a clip c.mp4 + c.txt: shards 0, 1, 2 at one item
    per shard."""
    sub = tmp_path / "data" / "1_x"
    sub.mkdir(parents=True)
    image(sub / "a.png", 0)
    image(sub / "b.png", 1)
    clip(sub / "c.mp4", 2)
    for name, caption in (("a", "x, red"), ("b", "x, blue"), ("c", "x, moving")):
        (sub / f"{name}.txt").write_text(caption, encoding="utf-8")
    return ["data.kind=kohya", f"data.path={tmp_path / 'data'}"]


def test_an_untouched_rerun_rebuilds_nothing(tmp_path, kohya):
    out = build(tmp_path / "cache", *kohya)
    before = inodes(out)
    build(out, *kohya)
    assert rebuilt(before, out) == []


def test_an_edited_caption_rebuilds_only_its_shard(tmp_path, kohya):
    out = build(tmp_path / "cache", *kohya)
    before, old = inodes(out), shard(out, 1)
    txt = tmp_path / "data" / "1_x" / "b.txt"
    txt.write_text("x, a much longer caption about a blue thing", encoding="utf-8")
    later(txt)
    build(out, *kohya)
    assert rebuilt(before, out) == [1]
    assert not torch.equal(shard(out, 1)["context"], old["context"])
    assert torch.equal(shard(out, 1)["latents"], old["latents"])  # the same image
    build(tmp_path / "fresh", *kohya)
    for s in range(3):  # what a build from scratch of the edited folder holds
        fresh = shard(tmp_path / "fresh", s)  # a clip's motion is NaN (unscored: the default id), equal to itself here
        for k, v in shard(out, s).items():
            torch.testing.assert_close(v, fresh[k], rtol=0, atol=0, equal_nan=True)


def test_a_replaced_or_touched_clip_rebuilds_only_its_shard(tmp_path, kohya):
    out = build(tmp_path / "cache", *kohya)
    before, old = inodes(out), shard(out, 2)
    c = clip(tmp_path / "data" / "1_x" / "c.mp4", 7)  # re-exported under the same name
    later(c)
    build(out, *kohya)
    assert rebuilt(before, out) == [2]
    assert not torch.equal(shard(out, 2)["latents"], old["latents"])
    before, old = inodes(out), shard(out, 0)
    later(tmp_path / "data" / "1_x" / "a.png")  # touched: the contents cannot be known unread
    build(out, *kohya)
    assert rebuilt(before, out) == [0]
    assert torch.equal(shard(out, 0)["latents"], old["latents"])


def test_a_caption_file_written_later_rebuilds_the_image(tmp_path):
    """An image folder's caption is read when present: its absence is part of the fingerprint."""
    images = tmp_path / "images"
    images.mkdir()
    image(images / "0.png", 0)
    image(images / "1.png", 1)
    data = ["data.kind=images", f"data.path={images}"]
    out = build(tmp_path / "cache", *data)
    before = inodes(out)
    (images / "1.txt").write_text("a caption now", encoding="utf-8")
    build(out, *data)
    assert rebuilt(before, out) == [1]
    with safe_open(str(out / "shard_00001.safetensors"), framework="pt") as f:
        assert json.loads(f.metadata()["captions"]) == ["a caption now"]


def test_the_item_in_place_of_an_unreadable_one_is_fingerprinted_too(tmp_path):
    """Item 1 is unreadable, so its shard holds item 2's latents: replacing 2.png rebuilds both
    shards that hold it, and fixing 1.png rebuilds its own."""
    images = tmp_path / "images"
    images.mkdir()
    for j in range(3):
        image(images / f"{j}.png", j)
    whole = (images / "1.png").read_bytes()
    (images / "1.png").write_bytes(whole[: len(whole) // 3])
    data = ["data.kind=images", f"data.path={images}"]
    out = build(tmp_path / "cache", *data)
    assert torch.equal(shard(out, 1)["latents"], shard(out, 2)["latents"])
    before = inodes(out)
    image(images / "2.png", 9)
    later(images / "2.png")
    build(out, *data)
    assert rebuilt(before, out) == [1, 2]
    assert torch.equal(shard(out, 1)["latents"], shard(out, 2)["latents"])
    before = inodes(out)
    (images / "1.png").write_bytes(whole)
    later(images / "1.png")
    build(out, *data)
    assert rebuilt(before, out) == [1]
    assert not torch.equal(shard(out, 1)["latents"], shard(out, 2)["latents"])
    assert json.loads((out / "index.json").read_text())["unreadable"] == {}


def write_manifest(path: Path, rows: list[dict]) -> Path:
    """``rows`` as ``curate run`` writes its manifest: atomically, a new file every time."""
    from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic

    write_atomic(to_table(rows, {"motion_mean": "double"}), path, {RUN_DIR_KEY: str(path.parent.parent)})
    later(path)
    return path


def curated_rows(out: Path, n: int) -> list[dict]:
    """``n`` extracted 8-frame clips of a curate run into ``out`` (one item each at data.frames=1)."""
    rows = []
    for j in range(n):
        clip(out / "clips" / f"c{j}.mp4", j)
        rows.append({"source": "src.mp4", "clip_id": f"c{j}", "clip_path": str(out / "clips" / f"c{j}.mp4"),
                     "start_frame": 0, "end_frame": 8, "start_s": 0.0, "end_s": 1.0, "fps": 8.0, "width": 32,
                     "height": 32, "rotation": 0, "num_frames": 8, "source_frames": 8, "keep": True,
                     "error": None, "caption": f"clip {j}", "motion_mean": 1.0})
    return rows


def by_reference(source: Path, start: int) -> dict:
    """A clip as frames [start, 8) of ``source``, read by reference (no extracted file)."""
    return {"source": str(source), "clip_id": "r", "clip_path": None, "start_frame": start, "end_frame": 8,
            "start_s": start / 8, "end_s": 1.0, "fps": 8.0, "width": 32, "height": 32, "rotation": 0,
            "num_frames": 8 - start, "source_frames": 8, "keep": True, "error": None, "caption": "by reference",
            "motion_mean": 1.0}


def captions(out: Path, s: int) -> list[str]:
    with safe_open(str(out / f"shard_{s:05d}.safetensors"), framework="pt") as f:
        return json.loads(f.metadata()["captions"])


def test_manifest_clips_and_their_rows(tmp_path):
    """A re-extracted clip rebuilds its shard; the manifest counts by its rows, not its file:
    rewritten with equal rows (a no-op `curate run`) it rebuilds nothing, and a changed caption
    or span rebuilds that clip's shard only, as a build from scratch would hold it."""
    out = tmp_path / "curated"
    source = clip(tmp_path / "src.mp4", 3)
    rows = [*curated_rows(out, 2), by_reference(source, 0)]
    manifest = write_manifest(out / "manifest.parquet", rows)
    data = ["data.kind=manifest", f"data.path={manifest}"]
    cache = build(tmp_path / "cache", *data)
    before, old = inodes(cache), shard(cache, 0)
    later(clip(out / "clips" / "c0.mp4", 5))
    build(cache, *data)
    assert rebuilt(before, cache) == [0]
    assert not torch.equal(shard(cache, 0)["latents"], old["latents"])
    before = inodes(cache)
    write_manifest(manifest, rows)
    build(cache, *data)
    assert rebuilt(before, cache) == []
    rows[1]["caption"] = "clip 1, captioned again"
    write_manifest(manifest, rows)
    build(cache, *data)
    assert rebuilt(before, cache) == [1]
    assert captions(cache, 1) == ["clip 1, captioned again"]
    before, old = inodes(cache), shard(cache, 2)
    rows[2] = by_reference(source, 4)
    write_manifest(manifest, rows)
    build(cache, *data)
    assert rebuilt(before, cache) == [2]
    assert not torch.equal(shard(cache, 2)["latents"], old["latents"])  # another first frame
    build(tmp_path / "fresh", *data)
    for s in range(3):
        assert all(torch.equal(v, shard(tmp_path / "fresh", s)[k]) for k, v in shard(cache, s).items())


def test_the_row_of_the_clip_in_place_of_an_unreadable_one_is_fingerprinted_too(tmp_path):
    """Clip 1 is unreadable, so its shard holds clip 2: a new caption in clip 2's row rebuilds
    both shards that hold it, and nothing else."""
    out = tmp_path / "curated"
    rows = curated_rows(out, 3)
    (out / "clips" / "c1.mp4").write_bytes(b"not a video")
    manifest = write_manifest(out / "manifest.parquet", rows)
    data = ["data.kind=manifest", f"data.path={manifest}"]
    cache = build(tmp_path / "cache", *data)
    assert captions(cache, 1) == ["clip 2"]
    before = inodes(cache)
    rows[2]["caption"] = "clip 2, captioned again"
    write_manifest(manifest, rows)
    build(cache, *data)
    assert rebuilt(before, cache) == [1, 2]
    assert captions(cache, 1) == captions(cache, 2) == ["clip 2, captioned again"]


def test_new_weights_at_the_model_path_rebuild_every_shard(tmp_path):
    from video.runtime.txt2vid import build_tiny, save_t2v

    model = save_t2v(build_tiny(0), tmp_path / "model")
    data = [f"model={model}", "data.kind=shapes", "data.size=2"]
    out = build(tmp_path / "cache", *data)
    before, old = inodes(out), [shard(out, s) for s in range(2)]
    build(out, *data)
    assert rebuilt(before, out) == []  # the same weights: kept
    save_t2v(build_tiny(1), model)  # retrained and exported to the same folder
    build(out, *data)
    assert rebuilt(before, out) == [0, 1]
    assert all(not torch.equal(shard(out, s)["latents"], old[s]["latents"]) for s in range(2))


def test_a_built_in_model_keeps_the_key_earlier_versions_wrote(monkeypatch, tmp_path):
    """No files, no fingerprint: the key of a ``tiny`` build is what it was, so caches of
    built-in data and models are not rebuilt by this version."""
    monkeypatch.chdir(tmp_path)  # no folder named tiny here
    import hashlib

    from video.config import to_dict
    from video.training.cache import KEY_VERSION

    c = cfg("data.kind=shapes", "data.size=2")
    data = {k: v for k, v in to_dict(c.data).items() if k != "clip_window"}  # added since; the cache ignores it
    old = {"version": KEY_VERSION, "family": "dit", "model": "tiny", "data": data, "shard_size": 1}
    assert build_key(c, 1) == hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()


def test_training_from_a_cache_encoded_under_another_t5_rule_says_so(tmp_path):
    """Contexts of captions with (word:w) changed when T5 / UMT5 moved from A1111's rule to
    ComfyUI's. The key is kept (a cache without such captions is the same under both, and a
    rebuild costs the whole VAE pass), so the index records the rule and training from a cache
    that records none, or another, says so."""
    import warnings

    from video.training.cache import LatentCache

    out = build(tmp_path / "cache", "data.kind=shapes", "data.size=2")
    index = json.loads((out / "index.json").read_text())
    assert index["t5_weights"] == "comfy/empty-as-encoded"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LatentCache(out).check_model("tiny")
    # built while ComfyUI's rule took the raw states under the mask as its anchor: nothing for
    # CLIP (the tiny model's encoder), whose weighting never changed
    index["t5_weights"] = "comfy"
    (out / "index.json").write_text(json.dumps(index))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LatentCache(out).check_model("tiny")
    # the same record from a model whose text encoder is UMT5 (as the index names a folder model)
    umt5 = tmp_path / "wan_like"
    (umt5 / "text_encoder").mkdir(parents=True)
    (umt5 / "text_encoder" / "config.json").write_text(json.dumps({"model_type": "umt5"}))
    t5_index = {**index, "model": str(umt5), "model_path": str(umt5.resolve())}
    t5_index.pop("encoders", None)
    (out / "index.json").write_text(json.dumps(t5_index))
    with pytest.warns(UserWarning, match=r"under an earlier rule \('comfy'; now 'comfy/empty-as-encoded'\)"):
        LatentCache(out).check_model(str(umt5))
    del t5_index["t5_weights"]  # as a cache built before the record
    (out / "index.json").write_text(json.dumps(t5_index))
    with pytest.warns(UserWarning, match="encoded before T5 / UMT5 weighed .* delete the folder and rerun"):
        LatentCache(out).check_model(str(umt5))


def _drop_sources(path: Path) -> None:
    """Make ``path`` a shard as the previous version wrote it: no ``sources`` in its header."""
    with safe_open(str(path), framework="pt") as f:
        meta = {k: v for k, v in f.metadata().items() if k != "sources"}
    save_file(load_file(str(path)), str(path), metadata=meta)


def test_shards_from_before_fingerprints(tmp_path, kohya):
    """A shard without recorded sources is kept when its items read no files (built-in data)
    and rebuilt once when they did: its files' state when it was built is unknown."""
    shapes = build(tmp_path / "shapes", "data.kind=shapes", "data.size=2")
    _drop_sources(shapes / "shard_00000.safetensors")
    before = inodes(shapes)
    build(shapes, "data.kind=shapes", "data.size=2")
    assert rebuilt(before, shapes) == []
    out = build(tmp_path / "cache", *kohya)
    _drop_sources(out / "shard_00001.safetensors")
    before = inodes(out)
    build(out, *kohya)
    assert rebuilt(before, out) == [1]
    before = inodes(out)
    build(out, *kohya)
    assert rebuilt(before, out) == []


def test_a_cache_cannot_be_cached_again(tmp_path):
    """Its items are latents, read from no source files to fingerprint: one line, before any
    model loads."""
    with pytest.raises(ValueError, match="^data.kind=cache is a latent cache already: cache the data it was built"):
        build(tmp_path / "again", "data.kind=cache", f"data.path={tmp_path / 'cache'}")
