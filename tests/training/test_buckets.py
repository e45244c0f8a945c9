"""Aspect-ratio and frame-count buckets: the assignment on hand-worked cases, batches that stack,
and a batch order that is a function of (seed, epoch, position), so a run resumes mid-epoch."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from video.config import load_config
from video.training.buckets import Bucketed, BucketOrder, assign_buckets, frame_bucket, nearest_aspect
from video.training.config import TrainConfig
from video.training.data import ImageFolder, ManifestClips, sample_clips_folder
from video.training.loading import collate, make_order
from video.training.state import ResumableOrder
from video.training.tasks import make_dataset

SVD_BUCKETS = [(256, 384), (320, 320), (384, 256)]


def test_assignment_by_hand():
    sizes = [(30, 720, 1280),  # ln(0.5625) = -0.575: |-0.575 - ln(2/3)| = 0.170 beats 0.575 -> 256x384; 25 frames
             (1, 500, 500),  # an image: square, one frame
             (20, 1080, 720),  # portrait 3:2 -> 384x256; 20 frames -> 14
             (10, 720, 1280),  # too short for 14: stays as a one-frame item
             (25, 300, 310)]  # nearly square, exactly 25 frames
    assert assign_buckets(sizes, SVD_BUCKETS, [1, 14, 25]) == [
        (25, 256, 384), (1, 320, 320), (14, 384, 256), (1, 256, 384), (25, 320, 320)]
    assert assign_buckets([(10, 720, 1280), (1, 64, 64)], SVD_BUCKETS, [14, 25]) == [None, None]


def test_aspect_is_compared_in_log_space():
    # h/w = 2 against buckets of 1 and 3.5: linear distance says 1 (1 < 1.5), log distance says 3.5
    # (ln 1.75 = 0.56 < ln 2 = 0.69): a 2:1 item is closer in shape to 3.5:1 than to a square.
    assert nearest_aspect(200, 100, [(256, 256), (448, 128)]) == (448, 128)
    assert nearest_aspect(100, 100, [(1, 2), (2, 1)]) == (1, 2)  # equal distance: the first
    assert frame_bucket(13, [1, 14, 25]) == 1 and frame_bucket(14, [1, 14, 25]) == 14
    assert assign_buckets([(7, 30, 40)], [], []) == [(7, 30, 40)]  # no buckets: the item's own size


def keys_demo() -> list:
    rng = np.random.default_rng(0)
    return [tuple(int(v) for v in [(1, 14, 25)[a], *SVD_BUCKETS[b]]) for a, b in rng.integers(0, 3, (53, 2))]


def test_batches_stay_in_one_bucket_and_cover_the_epoch():
    keys = keys_demo()
    order = BucketOrder(keys, seed=3)
    k = 4
    n_batches = order.batches_per_epoch(k)
    seen = []
    for _ in range(n_batches):
        batch = order.take(k)
        assert len(batch) == k and len({keys[i] for i in batch}) == 1
        seen += batch
    assert set(seen) == set(range(len(keys)))  # every item once (short batches refilled from their bucket)
    # the position counts items of the epoch's plan, in global batches of k (the first take's size)
    assert order.state_dict() == {"epoch": 0, "items": n_batches * k, "batch": k}
    order.take(k)
    assert order.state_dict() == {"epoch": 1, "items": k, "batch": k}


def test_same_seed_same_order_other_seed_other_order():
    keys = keys_demo()
    a, b, c = BucketOrder(keys, 7), BucketOrder(keys, 7), BucketOrder(keys, 8)
    run_a = [a.take(4) for _ in range(30)]
    assert run_a == [b.take(4) for _ in range(30)]
    assert run_a != [c.take(4) for _ in range(30)]
    assert a.plan(0, 4) != a.plan(1, 4)  # epochs differ


def test_resume_mid_epoch_gives_the_remaining_batches():
    keys = keys_demo()
    full = BucketOrder(keys, 5)
    ref = [full.take(6) for _ in range(25)]  # crosses into the next epoch
    first = BucketOrder(keys, 5)
    done = [first.take(6) for _ in range(7)]
    state = json.loads(json.dumps(first.state_dict()))  # as the checkpoint stores it
    resumed = BucketOrder(keys, 5)
    resumed.load_state_dict(state)
    assert done + [resumed.take(6) for _ in range(18)] == ref


def image_folder(tmp_path) -> ImageFolder:
    tmp_path.mkdir(exist_ok=True)
    sizes = [(40, 60), (60, 40), (50, 50), (42, 64), (64, 42), (48, 48), (30, 45), (45, 30), (36, 36)]
    rng = np.random.default_rng(0)
    for j, (h, w) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(tmp_path / f"{j}.png")
    return ImageFolder(tmp_path, 32, 32)


def test_trainer_batches_from_a_bucketed_folder_stack(tmp_path):
    data = Bucketed(image_folder(tmp_path), [[24, 40], [32, 32], [40, 24]], [1])
    assert sorted(set(data.keys)) == [(1, 24, 40), (1, 32, 32), (1, 40, 24)]
    order = make_order(data, seed=0)
    world, batch_size = 2, 1
    for _ in range(8):  # as the trainer draws: a global batch, each rank a contiguous slice of it
        idx = order.take(batch_size * world)
        shapes = {tuple(data[i]["video"].shape) for i in idx}
        assert len(shapes) == 1
        for rank in range(world):
            assert collate([data[i] for i in idx[rank * batch_size:(rank + 1) * batch_size]])["video"].shape[0] == batch_size
    assert isinstance(make_order(data.base, 0), ResumableOrder)  # unbucketed: the plain item order


def test_buckets_from_the_config(tmp_path):
    c = load_config(TrainConfig, "configs/train/dit_stage2_video.yaml",
                    ["data.kind=images", f"data.path={tmp_path}", "data.buckets=[[24,40],[32,32],[40,24]]",
                     "data.frame_buckets=[1]"])
    image_folder(tmp_path)
    data = make_dataset(c)
    assert isinstance(data, Bucketed) and len(data) == 9
    assert data.describe().endswith("1x24x40: 3, 1x32x32: 3, 1x40x24: 3")  # three of each aspect


def test_manifest_clips_go_to_their_frame_bucket(tmp_path):
    bikes = sample_clips_folder() / "bikes.mp4"  # 640x272 at 25 fps; cuts near frames 30, 76, 137
    rows = pd.DataFrame({"source": [str(bikes)] * 3, "start_frame": [0, 31, 77], "end_frame": [30, 76, 137],
                         "fps": [25.0] * 3, "width": [640] * 3, "height": [272] * 3, "num_frames": [30, 45, 60],
                         "keep": [True] * 3, "error": [None] * 3, "caption": ["a", "b", "c"],
                         "motion_mean": [1.0, 2.0, 3.0]})
    rows.to_parquet(tmp_path / "manifest.parquet")
    clips = ManifestClips(tmp_path / "manifest.parquet", frames=4, height=32, width=32, fps=8.0)
    # at 8 fps a frame every 3.125 source frames: 30 frames -> 10 samples, 45 -> 15, 60 -> 19
    assert [clips.native_size(i) for i in range(3)] == [(10, 272, 640), (15, 272, 640), (19, 272, 640)]
    data = Bucketed(clips, [[32, 64], [48, 48]], [1, 12, 16])
    assert data.keys == [(1, 32, 64), (12, 32, 64), (16, 32, 64)]
    item = data[2]
    assert item["video"].shape == (16, 3, 32, 64) and item["caption"] == "c" and item["motion"] == 3.0
    assert item["video"].min() >= -1 and item["video"].max() <= 1


def test_buckets_with_a_cache_are_refused():
    c = load_config(TrainConfig, None, ["data.kind=cache", "data.path=x", "data.buckets=[[32,32]]"])
    with pytest.raises(ValueError, match="cach"):
        make_dataset(c)


def test_shapes_load_at_a_bucket_size():
    c = load_config(TrainConfig, None, ["data.kind=shapes", "data.size=3", "data.frames=5", "data.height=32",
                                        "data.width=32", "data.buckets=[[32,48]]"])
    item = make_dataset(c)[0]
    assert item["video"].shape == (5, 3, 32, 48)
    assert torch.equal(item["video"][0, :, 0, 0], item["video"][-1, :, 0, 0])  # the background stays put


def test_bucketed_training_resumes_exactly(tmp_path):
    """Images of three aspects in three buckets, trained with an interruption mid-epoch: the
    resumed run's losses are the uninterrupted run's."""
    from video.training.trainer import train

    image_folder(tmp_path / "images")

    def c(name):
        return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
            f"out={tmp_path / name}", "init_from=", "steps=6", "ckpt_every=2", "batch_size=2", "data.kind=images",
            f"data.path={tmp_path / 'images'}", "data.buckets=[[16,32],[32,32],[32,16]]", "log_every=1"])

    full = train(c("a"), progress=False, stop_after=5)  # 5 of 6 steps: no export or preview
    assert train(c("b"), progress=False, stop_after=3)["step"] == 3  # the last checkpoint is step 2
    assert train(c("b"), progress=False, stop_after=5)["losses"] == full["losses"][2:]
