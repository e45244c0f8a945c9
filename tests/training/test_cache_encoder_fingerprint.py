"""What of a model folder a latent cache depends on: only the files its encoders read. New
denoiser weights, a README, a LoRA or a run's files inside the folder keep every shard; a new
VAE (or text / image encoder, or their preprocessing) rebuilds every one; a folder of a layout
we do not know counts every file. Training from a cache refuses a model whose encoders changed
at the same path since the build, and an untouched rerun of `video cache-latents` loads no model
at all (a model that cannot load is still one line when a shard needs it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from video.config import ConfigError, load_config
from video.training import cache as cache_mod
from video.training.cache import build_latent_cache, model_fingerprint
from video.training.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]
TINY = ["init_from=", "data.frames=1", "data.height=16", "data.width=16", "data.kind=shapes", "data.size=2"]


def cfg(config: str, model: Path, *overrides: str) -> TrainConfig:
    return load_config(TrainConfig, str(REPO / "configs/train" / config), [*TINY, f"model={model}", *overrides])


def build(config: str, model: Path, out: Path) -> Path:
    return build_latent_cache(cfg(config, model), out, shard_size=1, progress=False)


def inodes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_ino for p in sorted(out.glob("shard_*.safetensors"))}


def later(path: Path) -> None:
    """Move ``path``'s mtime a second on, whatever the filesystem's timestamp granularity."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def rewrite(weights: Path, delta: float = 0.1) -> None:
    """New weights in ``weights`` (a safetensors file), as a new export would write them."""
    tensors = load_file(str(weights))
    save_file({k: v + delta if v.is_floating_point() else v for k, v in tensors.items()}, str(weights))
    later(weights)


def untouched_by_the_denoiser_and_extras(model: Path, denoiser: Path) -> None:
    """What a user does to a model folder that the encoders never read."""
    rewrite(denoiser)
    (model / "README.md").write_text("retrained the denoiser\n")
    save_file({"lora_down": torch.zeros(2, 2)}, str(model / "lora.safetensors"))
    (model / "runs" / "stage2").mkdir(parents=True)
    (model / "runs" / "stage2" / "metrics.jsonl").write_text("{}\n")


@pytest.fixture
def t2v(tmp_path) -> Path:
    from video.runtime.txt2vid import build_tiny, save_t2v

    return save_t2v(build_tiny(0), tmp_path / "t2v")


@pytest.fixture
def svd(tmp_path, tiny_models) -> Path:
    from video.models.svd import save_diffusers_folder

    return save_diffusers_folder(tiny_models, tmp_path / "svd")  # our own copy: this test edits it


def test_dit_cache_depends_on_the_vae_and_text_encoder_only(tmp_path, t2v):
    out = build("dit_stage1_image.yaml", t2v, tmp_path / "cache")
    before, old = inodes(out), load_file(str(out / "shard_00000.safetensors"))
    untouched_by_the_denoiser_and_extras(t2v, t2v / "transformer" / "model.safetensors")
    build("dit_stage1_image.yaml", t2v, out)
    assert inodes(out) == before
    rewrite(t2v / "vae" / "diffusion_pytorch_model.safetensors")  # a new VAE exported over the old one
    build("dit_stage1_image.yaml", t2v, out)
    after = inodes(out)
    assert all(after[name] != before[name] for name in before)
    assert not torch.equal(load_file(str(out / "shard_00000.safetensors"))["latents"], old["latents"])
    before = after
    later(t2v / "video_pipeline.yaml")  # decides the text length the captions are encoded to
    build("dit_stage1_image.yaml", t2v, out)
    assert all(inodes(out)[name] != before[name] for name in before)


def test_svd_cache_depends_on_the_vae_and_image_encoder_only(tmp_path, svd):
    out = build("stage1_image.yaml", svd, tmp_path / "cache")
    before = inodes(out)
    untouched_by_the_denoiser_and_extras(svd, next((svd / "unet").glob("*.safetensors")))
    build("stage1_image.yaml", svd, out)
    assert inodes(out) == before
    later(svd / "feature_extractor" / "preprocessor_config.json")  # the CLIP mean and std
    build("stage1_image.yaml", svd, out)
    assert all(inodes(out)[name] != before[name] for name in before)


def test_a_folder_of_an_unknown_layout_counts_every_file(tmp_path):
    """No vae/: which files the encoders would read is unknown, so none is left out."""
    folder = tmp_path / "mystery"
    folder.mkdir()
    (folder / "weights.safetensors").write_bytes(b"x")
    first = model_fingerprint(str(folder))
    (folder / "README.md").write_text("notes")
    assert model_fingerprint(str(folder)) != first


def test_training_refuses_a_cache_of_the_encoders_a_new_export_replaced(tmp_path, t2v):
    from video.runtime.txt2vid import build_tiny, save_t2v
    from video.training.tasks import make_dataset
    from video.training.trainer import train

    cache = build("dit_stage1_image.yaml", t2v, tmp_path / "cache")
    run = cfg("dit_stage1_image.yaml", t2v, "data.kind=cache", f"data.path={cache}", f"out={tmp_path / 'run'}",
              "steps=1", "batch_size=1")
    (t2v / "README.md").write_text("notes")  # not an encoder's file: the cache still fits
    make_dataset(run).check_model(str(t2v))
    (t2v / "README.md").unlink()  # an export never replaces a folder holding a file it did not write
    save_t2v(build_tiny(1), t2v)  # retrained and exported to the same folder: another VAE and text encoder
    with pytest.raises(ConfigError) as e:
        train(run, progress=False)
    said = str(e.value)
    assert "\n" not in said and f"model={t2v} holds now" in said, said
    assert f"rebuild it with `video cache-latents ... model={t2v} --out {cache}`" in said, said
    build("dit_stage1_image.yaml", t2v, cache)  # the rebuild the message asks for
    make_dataset(run).check_model(str(t2v))
    # a cache written before the record is taken as it is
    index = json.loads((cache / "index.json").read_text())
    (cache / "index.json").write_text(json.dumps({k: v for k, v in index.items() if k != "encoders"}))
    save_t2v(build_tiny(2), t2v)
    make_dataset(run).check_model(str(t2v))


def test_an_untouched_rerun_loads_no_model(tmp_path, t2v, monkeypatch):
    """The real encoders, counted; index.json (its text length from the shards) is the same."""
    real, loads = cache_mod._encoder, []

    def counted(c):
        loads.append(c.model)
        return real(c)

    monkeypatch.setattr(cache_mod, "_encoder", counted)
    out = build("dit_stage1_image.yaml", t2v, tmp_path / "cache")
    assert len(loads) == 1
    index = (out / "index.json").read_text()
    assert json.loads(index)["context_length"] is not None
    build("dit_stage1_image.yaml", t2v, out)
    assert len(loads) == 1
    assert (out / "index.json").read_text() == index
    (out / "shard_00001.safetensors").unlink()  # one shard to write: the encoders load once
    build("dit_stage1_image.yaml", t2v, out)
    assert len(loads) == 2
    assert (out / "index.json").read_text() == index


def test_a_model_that_cannot_load_is_one_line_when_a_shard_needs_it(tmp_path, t2v, cli):
    out = tmp_path / "cache"
    args = ["cache-latents", "dit_stage1_image", *TINY, f"model={t2v}", "--out", out, "--shard-size", "1"]
    assert cli(*args).returncode == 0
    (t2v / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"not weights")
    p = cli(*args)
    assert p.returncode != 0
    assert len(p.errors) == 1 and "vae" in p.errors[0], p.stderr
    assert "Traceback" not in p.stderr
