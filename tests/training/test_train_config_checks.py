"""Values the schema's types let through but training cannot honour are one-line errors naming
the key (exit 2 from the CLI), and data that cannot form a batch is refused before step 1."""

import json

import pytest

from video.config import ConfigError, load_config
from video.training.config import TrainConfig
from video.training.tasks import make_dataset


@pytest.mark.parametrize("override, key", [
    ("optim.warmup_steps=-1", "optim.warmup_steps"), ("optim.grad_accum=0", "optim.grad_accum"),
    ("steps=0", "steps"), ("ema_decay=1.0", "ema_decay"), ("ema_decay=-0.1", "ema_decay"),
    ("objective.caption_dropout=1.5", "objective.caption_dropout"), ("precision=fp16", "precision"),
    ("batch_size=0", "batch_size"), ("log_every=0", "log_every"), ("ckpt_every=0", "ckpt_every"),
    ("data.size=0", "data.size"), ("optim.betas=[0.9]", "optim.betas"), ("optim.betas=[0.9,1.0]", "optim.betas"),
    ("device=tpu", "device"), ("data.fps=0", "data.fps"), ("data.buckets=[[32]]", "data.buckets"),
    ("data.buckets=[[0,32]]", "data.buckets"), ("lora.rank=0", "lora.rank"), ("data.kind=shapes+video", "data.kind"),
])
def test_bad_values_name_their_key(override, key):
    with pytest.raises(ConfigError, match=f"^config key '{key}': "):
        load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", [override])


def test_steps_zero_is_fine_with_epochs():
    assert load_config(TrainConfig, None, ["steps=0", "epochs=2"]).epochs == 2


def test_the_cli_says_it_in_one_line_with_exit_2(tmp_path, cli):
    p = cli("train", "dit_stage2_video", "optim.grad_accum=0", f"out={tmp_path}", "--dry-run")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == ["error: config key 'optim.grad_accum': must be > 0; got 0"]


def test_a_missing_manifest_is_named():
    c = load_config(TrainConfig, None, ["data.kind=manifest", "data.path=/nonexistent.parquet"])
    with pytest.raises(FileNotFoundError, match="manifest not found: /nonexistent.parquet"):
        make_dataset(c)


def test_images_mixed_with_clips_need_frame_buckets(tmp_path):
    from PIL import Image

    from video.training.loading import collate

    for j in range(3):
        Image.new("RGB", (40, 40), (j * 60, 0, 0)).save(tmp_path / f"{j}.png")
    base = ["data.kind=images+shapes", f"data.path={tmp_path}", "data.frames=5", "data.size=3", "data.height=32",
            "data.width=32"]
    with pytest.raises(ValueError, match=r"images are one frame.*data.frame_buckets=\[1,5\]"):
        make_dataset(load_config(TrainConfig, None, base))
    data = make_dataset(load_config(TrainConfig, None, [*base, "data.frame_buckets=[1,5]"]))
    order = data.order(0)
    for _ in range(6):  # every batch stacks: one length each
        assert collate([data[i] for i in order.take(2)])["video"].shape[1] in (1, 5)


def test_a_cache_of_another_shape_is_refused(tmp_path):
    (tmp_path / "index.json").write_text(json.dumps({
        "items": 4, "shard_size": 4, "shards": 1, "model": "tiny", "task": "dit_t2v", "family": "dit",
        "data": {"kind": "shapes", "frames": 5, "height": 32, "width": 32}}))
    c = load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", ["data.kind=cache", f"data.path={tmp_path}"])
    with pytest.raises(ValueError, match=r"data.frames=9 \(cache: 5\), data.height=64 \(cache: 32\)"):
        make_dataset(c)
    ok = load_config(TrainConfig, "configs/train/dit_stage2_video.yaml",
                     ["data.kind=cache", f"data.path={tmp_path}", "data.frames=5", "data.height=32", "data.width=32"])
    assert len(make_dataset(ok)) == 4
