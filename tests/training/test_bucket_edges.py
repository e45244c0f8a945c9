"""Buckets at their edges: only one of data.buckets / data.frame_buckets set (the other is the
config's fixed shape, as unbucketed), items turned by EXIF or a display rotation (bucketed by
the size they show at), unreadable files (left out at startup, replaced from another bucket
when a whole bucket is broken), a bad data.where (one line), and the batch order planned in
global batches, so every split over processes and accumulation takes the same items."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic
from video.config import load_config
from video.media import ffmpeg_exe, probe_video, write_video
from video.training.buckets import Bucketed, BucketOrder
from video.training.config import TrainConfig
from video.training.data import ImageFolder, ManifestClips, sample_clips_folder
from video.training.loading import ItemLoader, copy_order, make_order
from video.training.tasks import make_dataset

ROOT = Path(__file__).resolve().parents[2]


def images(folder: Path, sizes, broken=(), garbage=()) -> Path:
    """PNGs of ``sizes`` (h, w); ``broken``: pixels cut off (the header reads), ``garbage``: no
    image at all (the header does not)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for j, (h, w) in enumerate(sizes):
        p = folder / f"{j}.png"
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(p)
        if j in broken:
            p.write_bytes(p.read_bytes()[:60])
        if j in garbage:
            p.write_bytes(b"this is not an image")
    return folder


def manifest(path: Path, rows: list[dict]) -> Path:
    base = {"clip_id": "c", "start_s": 0.0, "end_s": 1.0, "rotation": 0, "source_frames": 60, "keep": True,
            "error": None, "caption": "x"}
    write_atomic(to_table([{**base, **r} for r in rows], {}), path, {RUN_DIR_KEY: str(path.parent)})
    return path


# 1. the list not set is the config's shape


def test_frame_buckets_alone_keep_the_configured_size(tmp_path):
    folder = images(tmp_path / "im", [(40, 60), (60, 40), (50, 50)])
    c = load_config(TrainConfig, None, ["data.kind=images", f"data.path={folder}", "data.frame_buckets=[1,5]",
                                        "data.frames=5", "data.height=48", "data.width=64"])
    data = make_dataset(c)
    assert data.keys == [(1, 48, 64)] * 3  # not (1, 40, 60), (1, 60, 40), (1, 50, 50): each image its own size
    assert data[1]["video"].shape == (1, 3, 48, 64)


def test_aspect_buckets_alone_keep_the_configured_length(tmp_path):
    bikes = str(sample_clips_folder() / "bikes.mp4")  # 640x272, 25 fps
    path = manifest(tmp_path / "m.parquet", [
        {"source": bikes, "start_frame": s, "end_frame": e, "num_frames": e - s, "fps": 25.0, "width": 640,
         "height": 272} for s, e in ((0, 30), (31, 76), (77, 84))])  # 10, 15 and 3 frames at 8 fps
    c = load_config(TrainConfig, None, ["data.kind=manifest", f"data.path={path}", "data.frames=5",
                                        "data.buckets=[[32,32],[32,48]]", "data.height=32", "data.width=32"])
    data = make_dataset(c)
    assert data.keys == [(5, 32, 48), (5, 32, 48)]  # data.frames each; the 3-frame clip left out, as unbucketed
    assert "1 items shorter than every frame bucket left out" in data.describe()
    assert data[1]["video"].shape == (5, 3, 32, 48)


def test_an_image_folder_alone_is_one_frame_with_aspect_buckets(tmp_path):
    folder = images(tmp_path / "im", [(40, 60), (60, 40)])
    c = load_config(TrainConfig, "configs/train/dit_stage2_video.yaml",  # data.frames=9: images are still one
                    ["data.kind=images", f"data.path={folder}", "data.buckets=[[24,40],[40,24]]"])
    assert make_dataset(c).keys == [(1, 24, 40), (1, 40, 24)]


def test_images_beside_clips_with_aspect_buckets_alone_still_need_frame_buckets(tmp_path):
    folder = images(tmp_path / "im", [(40, 40)] * 2)
    c = load_config(TrainConfig, None, ["data.kind=images+shapes", f"data.path={folder}", "data.frames=5",
                                        "data.size=2", "data.buckets=[[32,32]]"])
    with pytest.raises(ValueError, match=r"data.frame_buckets=\[1,5\]"):  # else every image silently dropped
        make_dataset(c)


# 2. the size an item shows at


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_an_exif_turned_image_is_bucketed_as_it_shows(tmp_path, suffix):
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90 degrees: stored 60 wide x 40 high, shown 40 wide x 60 high
    folder = tmp_path / "im"
    folder.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(
        folder / f"phone{suffix}", exif=exif)
    with Image.open(folder / f"phone{suffix}") as im:
        shown = ImageOps.exif_transpose(im).size  # the reference: what PIL shows, as load turns it
    assert shown == (40, 60)
    data = ImageFolder(folder, 32, 32)
    assert data.native_size(0) == (1, 60, 40)
    assert Bucketed(data, [[32, 48], [48, 32]], [1]).keys == [(1, 48, 32)]


def test_a_clip_with_a_display_rotation_is_bucketed_upright(tmp_path):
    plain = write_video(np.random.default_rng(0).integers(0, 255, (12, 32, 64, 3), dtype=np.uint8),
                        tmp_path / "plain.mp4", fps=8)
    phone = tmp_path / "phone.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "90", "-i", str(plain),
                    "-c", "copy", str(phone)], check=True)
    info = probe_video(phone)  # as curate records it: coded 64x32, rotation 90
    assert (info["width"], info["height"], info["rotation"]) == (64, 32, 90)
    path = manifest(tmp_path / "m.parquet", [{"source": str(phone), "start_frame": 0, "end_frame": 12,
                                              "num_frames": 12, "fps": 8.0, "width": info["width"],
                                              "height": info["height"], "rotation": info["rotation"]}])
    clips = ManifestClips(path, 4, 32, 32, 8.0, drop_short=False)
    shown = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(phone), "-frames:v", "1", "-f", "rawvideo",
                            "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    assert len(shown) == 64 * 32 * 3 and clips.native_size(0) == (12, 64, 32)  # ffmpeg shows it 32 wide, 64 high
    data = Bucketed(clips, [[32, 64], [64, 32]], [4])
    assert data.keys == [(4, 64, 32)]
    assert data[0]["video"].shape == (4, 3, 64, 32)


# 3. an unreadable file at startup


def test_an_unreadable_image_is_left_out_of_the_buckets_with_a_warning(tmp_path, capsys):
    folder = images(tmp_path / "im", [(40, 60), (60, 40), (50, 50), (40, 60)], garbage=(1, 2))
    data = Bucketed(ImageFolder(folder, 32, 32), [[32, 48], [48, 32]], [1])
    out = capsys.readouterr().out
    assert data.index == [0, 3] and data.keys == [(1, 32, 48)] * 2
    assert f"{folder / '1.png'} is not an image we can read" in out and f"{folder / '2.png'}" in out
    assert "warning: 2 of 4 items left out of the buckets: their size could not be read" in out
    assert data.describe().endswith("; 2 unreadable items left out")
    with pytest.raises(ValueError, match="no item's size could be read"):
        Bucketed(ImageFolder(images(tmp_path / "bad", [(8, 8)], garbage=(0,)), 8, 8), [[8, 8]], [1])


# 5. a bad data.where


@pytest.mark.parametrize("where", ["fps >", "nope > 3"])
def test_a_bad_where_is_one_line_naming_the_columns(tmp_path, where):
    path = manifest(tmp_path / "m.parquet", [{"source": "a.mp4", "start_frame": 0, "end_frame": 8, "num_frames": 8,
                                              "fps": 8.0, "width": 32, "height": 32}])
    with pytest.raises(ValueError) as e:
        ManifestClips(path, 4, 32, 32, where=where)
    msg = str(e.value)
    assert msg.startswith(f"data.where={where!r} is not a query on {path}") and "\n" not in msg
    assert "its columns: source, clip_id" in msg and "rotation" in msg


def test_a_bad_where_on_the_command_line_is_one_error_line(tmp_path, cli):
    path = manifest(tmp_path / "m.parquet", [{"source": "a.mp4", "start_frame": 0, "end_frame": 8, "num_frames": 8,
                                              "fps": 8.0, "width": 32, "height": 32}])
    p = cli("train", "dit_stage2_video", "data.kind=manifest", f"data.path={path}", "data.where=nope > 3",
            f"out={tmp_path / 'run'}", cwd=ROOT)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1, p.stderr[-2000:]
    assert lines[0].startswith("error: data.where='nope > 3'") and "its columns:" in lines[0]


# 6. a bucket whose every item is unreadable


def test_a_wholly_unreadable_bucket_is_replaced_from_another(tmp_path, capsys):
    # items 0 and 2 landscape (both broken), 1, 3 and 4 portrait
    folder = images(tmp_path / "im", [(32, 64), (64, 32), (32, 64), (64, 32), (64, 32)], broken=(0, 2))
    data = Bucketed(ImageFolder(folder, 16, 16), [[16, 32], [32, 16]], [1])
    assert data.keys == [(1, 16, 32), (1, 32, 16), (1, 16, 32), (1, 32, 16), (1, 32, 16)]
    load = ItemLoader(data)
    got = load(2)  # 2, 0 unreadable: the next readable after 2 is 3, loaded landscape
    assert got["video"].shape == (1, 3, 16, 32)
    ref = ImageFolder(folder, 16, 16).load(3, 1, 16, 32)
    assert np.array_equal(got["video"], ref["video"])
    out = capsys.readouterr().out
    assert "no readable item left in the bucket 1x16x32" in out
    assert np.array_equal(ItemLoader(data)(0)["video"], ImageFolder(folder, 16, 16).load(1, 1, 16, 32)["video"])


def test_no_readable_item_anywhere_names_the_failing_file(tmp_path):
    folder = images(tmp_path / "im", [(32, 64), (64, 32), (32, 64), (64, 32)], broken=(0, 1, 2, 3))
    load = ItemLoader(Bucketed(ImageFolder(folder, 16, 16), [[16, 32], [32, 16]], [1]))
    with pytest.raises(ValueError, match="no readable item left to replace item 1"):
        load(1)
    with pytest.raises(ValueError) as e:  # every file is known bad now: the message names item 2's
        load(2)
    assert f"{folder / '2.png'}" in str(e.value) and f"{folder / '1.png'}" not in str(e.value)


# 4. the order plans global batches


def keys_demo() -> list:
    rng = np.random.default_rng(1)
    return [(1, *[(16, 32), (32, 32), (32, 16)][a]) for a in rng.integers(0, 3, 41)]


def trainer_items(orders: list, b: int, accum: int, steps: int) -> list[list[int]]:
    """What the trainer trains on, per step, in noise-slot order (micro x world + rank): each
    rank draws from its own copy of the order, ``take(b x world)`` per micro-batch, and keeps
    its slice, as ``trainer.train``'s ``plan`` does."""
    world = len(orders)
    out = []
    for _ in range(steps):
        slots: dict[int, list[int]] = {}
        for micro in range(accum):
            for rank, o in enumerate(orders):
                slots[micro * world + rank] = o.take(b * world)[rank * b:(rank + 1) * b]
        out.append([i for s in sorted(slots) for i in slots[s]])
    return out


def ranks(keys, world: int, batch: int, seed: int = 4, state: dict | None = None) -> list[BucketOrder]:
    orders = [BucketOrder(keys, seed, batch) for _ in range(world)]
    for o in orders:
        if state is not None:
            o.load_state_dict(json.loads(json.dumps(state)))  # as a checkpoint stores it
    return orders


def test_every_split_of_the_global_batch_takes_the_same_items():
    keys = keys_demo()
    steps = 30  # several epochs
    one_accum = trainer_items(ranks(keys, 1, 4), b=2, accum=2, steps=steps)  # 1 process x batch 2 x accum 2
    two_ranks = trainer_items(ranks(keys, 2, 4), b=2, accum=1, steps=steps)  # 2 processes x batch 2
    four_ranks = trainer_items(ranks(keys, 4, 4), b=1, accum=1, steps=steps)
    one_big = trainer_items(ranks(keys, 1, 4), b=4, accum=1, steps=steps)
    assert one_accum == two_ranks == four_ranks == one_big
    assert all(len({keys[i] for i in step}) == 1 and len(step) == 4 for step in one_accum)  # one bucket a step
    epoch = BucketOrder(keys, 4, 4).batches_per_epoch()
    assert sorted(set(i for s in one_accum[:epoch] for i in s)) == list(range(len(keys)))  # every item in an epoch


def test_a_resume_that_trades_processes_for_accumulation_goes_on_with_the_same_items():
    keys = keys_demo()
    ref = trainer_items(ranks(keys, 1, 2), b=1, accum=2, steps=25)
    first = ranks(keys, 2, 2)
    done = trainer_items(first, b=1, accum=1, steps=7)
    state = first[0].state_dict()
    assert all(o.state_dict() == state for o in first)  # the position is the same on every rank
    rest = trainer_items(ranks(keys, 1, 2, state=state), b=1, accum=2, steps=18)
    assert done + rest == ref


def test_make_order_and_copy_order_carry_the_global_batch(tmp_path):
    folder = images(tmp_path / "im", [(40, 60), (60, 40), (50, 50)] * 3)
    data = Bucketed(ImageFolder(folder, 32, 32), [[24, 40], [32, 32], [40, 24]], [1])
    order = make_order(data, 0, 6)
    assert order.batch == 6 and order.batches_per_epoch() == 3
    order.take(3)
    twin = copy_order(data, 0, order)
    assert twin.batch == 6 and [twin.take(3) for _ in range(5)] == [order.take(3) for _ in range(5)]
    with pytest.raises(ValueError, match="micro-batch of 4 items does not divide the global batch of 6"):
        order.take(4)


def test_a_changed_global_batch_and_an_old_checkpoint_resume_as_many_steps_in():
    keys = keys_demo()
    o = BucketOrder(keys, 4, 2)
    o.load_state_dict({"epoch": 1, "items": 12, "batch": 4})  # 3 steps of 4 into epoch 1
    assert o.take(2) == o.plan(1, 2)[3]  # the 4th step of batch 2 (another plan: the global batch changed)
    old = BucketOrder(keys, 4, 2)
    old.load_state_dict({"epoch": 0, "pos": 5})  # before positions counted items: 5 batches of the take's size
    assert old.take(2) == old.plan(0, 2)[5] and old.state_dict() == {"epoch": 0, "items": 12, "batch": 2}


def test_an_old_checkpoint_position_reaches_the_prefetchers_copy():
    """The prefetcher's order is a copy made from state_dict() before the first take: an old
    position not yet taken up must survive it (the copy started at item 0: "prefetch out of step")."""
    from video.training.loading import copy_order

    class Data:
        def order(self, seed, batch=None):
            return BucketOrder(keys_demo(), seed, batch)

    trainer = Data().order(4, 2)
    trainer.load_state_dict({"epoch": 0, "pos": 3})
    twin = copy_order(Data(), 4, trainer)
    assert twin.take(2) == trainer.take(2) == trainer.plan(0, 2)[3]


def test_an_old_checkpoint_with_accumulation_says_its_batches_change():
    old = BucketOrder(keys_demo(), 4, 4)  # global batch 4 taken 2 at a time: grad_accum 2
    old.load_state_dict({"epoch": 0, "pos": 3})
    with pytest.warns(UserWarning, match="before bucketed runs planned whole global batches"):
        old.take(2)
