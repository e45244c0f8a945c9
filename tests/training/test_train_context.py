"""Captions of different lengths in one training batch: a CLIP caption over 75 tokens has
several 77-position chunks, and the batch (raw or from the latent cache) pads the shorter
ones with the empty prompt's chunk, as inference pads a prompt to a longer negative."""

import torch
from PIL import Image

from video.config import load_config
from video.runtime.txt2vid import TextToVideo
from video.training.config import TrainConfig
from video.training.tasks import pad_contexts
from video.training.trainer import train

SHORT, LONG = "a red kite", "a red kite over the sea, " * 6  # about 150 bytes: two CLIP chunks


def test_batch_padding_is_the_inference_padding():
    """Reference: the prompt encoder's own conditioning for prompt SHORT and negative LONG."""
    enc = TextToVideo.from_pretrained("tiny").prompts
    short, long = enc.encode_text(SHORT), enc.encode_text(LONG)
    assert short.shape[1] == 77 and long.shape[1] == 154
    step = enc.encode(SHORT, LONG, steps=1)[0]
    want = torch.cat([step.conds[0][0], step.uncond])
    assert torch.equal(pad_contexts([short, long], enc.encode_text("")), want)


def test_long_and_short_captions_train_raw_and_from_the_cache_alike(tmp_path):
    """Shards of two captions each: one with a long and a short caption (padded within the
    shard), one with two short ones; training batches mix them. Raw and cached training see
    the same padded text, so their losses agree."""
    from video.training.cache import build_latent_cache

    data = tmp_path / "images"
    data.mkdir()
    for i, cap in enumerate([SHORT, LONG, "a blue kite", "a green kite", LONG + "!"]):
        Image.new("RGB", (32, 32), (40 * i, 200 - 30 * i, 90)).save(data / f"{i}.png")
        (data / f"{i}.txt").write_text(cap)
    base = ["steps=3", "batch_size=2", "data.kind=images", f"data.path={data}", "data.frames=1", "data.height=32",
            "data.width=32", "objective.caption_dropout=0.5", "init_from=", "ckpt_every=1000"]
    cfg = load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", base)
    cache = build_latent_cache(cfg, tmp_path / "cache", shard_size=2, progress=False)
    raw = train(load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [*base, f"out={tmp_path / 'raw'}"]),
                progress=False)
    cached = train(load_config(TrainConfig, "configs/train/dit_stage1_image.yaml",
                               [*base, f"out={tmp_path / 'cached'}", "data.kind=cache", f"data.path={cache}"]),
                   progress=False)
    assert len(raw["losses"]) == 3
    assert torch.allclose(torch.tensor(raw["losses"]), torch.tensor(cached["losses"]), rtol=1e-5, atol=1e-6)
