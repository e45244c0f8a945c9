"""A corrupt file is replaced, with a warning, by the next readable item of the same shape:
the run goes on, and the order (and a resume) stays what it would be."""

import numpy as np
from PIL import Image

from video.config import load_config
from video.training.buckets import Bucketed
from video.training.config import TrainConfig
from video.training.data import ImageFolder
from video.training.loading import ItemLoader
from video.training.trainer import train


def folder(tmp_path, sizes=((32, 32),) * 4, broken=(1,)):
    tmp_path.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for j, (h, w) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(tmp_path / f"{j}.png")
    for j in broken:  # a valid header, the pixels cut off
        data = (tmp_path / f"{j}.png").read_bytes()
        (tmp_path / f"{j}.png").write_bytes(data[: len(data) // 3])
    return tmp_path


def test_a_broken_item_is_replaced_by_the_next_readable_one(tmp_path, capsys):
    data = ImageFolder(folder(tmp_path), 16, 16)
    load = ItemLoader(data)
    assert np.array_equal(load(1)["video"], data[2]["video"])
    assert "warning: item 1 is unreadable" in capsys.readouterr().out
    assert np.array_equal(load(1)["video"], data[2]["video"]) and capsys.readouterr().out == ""  # warned once


def test_the_replacement_stays_in_its_bucket(tmp_path):
    sizes = [(32, 64), (32, 32), (32, 64), (32, 32), (32, 64)]
    data = Bucketed(ImageFolder(folder(tmp_path, sizes, broken=(0,)), 16, 16), [[16, 32], [16, 16]], [1])
    assert [tuple(k) for k in data.keys][:3] == [(1, 16, 32), (1, 16, 16), (1, 16, 32)]
    assert ItemLoader(data)(0)["video"].shape == (1, 3, 16, 32)  # item 2, not item 1


def test_training_goes_on_and_resumes_exactly(tmp_path):
    images = folder(tmp_path / "images")

    def c(name):
        return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
            f"out={tmp_path / name}", "init_from=", "steps=5", "ckpt_every=2", "batch_size=2", "data.kind=images",
            f"data.path={images}", "data.height=16", "data.width=16", "log_every=1"])

    full = train(c("a"), progress=False, stop_after=4)
    assert len(full["losses"]) == 4
    train(c("b"), progress=False, stop_after=3)
    assert train(c("b"), progress=False, stop_after=4)["losses"] == full["losses"][2:]
