"""``num_workers``: threads load the items of the current and the next step ahead, and the
batches are exactly the ones loading one item at a time gives (the same order, the same
kohya tag shuffles, which depend on the step), so a run trains the same with or without."""

import threading
import time

import torch
from PIL import Image

from video.config import load_config
from video.training.config import TrainConfig
from video.training.data import MovingShapes
from video.training.kohya import KohyaFolder
from video.training.loading import ItemLoader, Prefetcher, copy_order, make_order, set_step
from video.training.trainer import train


class Slow(MovingShapes):
    """Moving shapes that take a while to load (as decoding does) and note which thread loaded."""

    def __init__(self, *a):
        super().__init__(*a)
        self.threads: set[str] = set()

    def __getitem__(self, i: int) -> dict:
        self.threads.add(threading.current_thread().name)
        time.sleep(0.02)  # the GIL is free meanwhile, as in PyAV's decode
        return super().__getitem__(i)


def batches(data, workers: int, steps: int = 5, accum: int = 2, b: int = 3, start: int = 0):
    """(step, micro, indices, items) as the trainer takes them, one at a time or prefetched."""
    order = make_order(data, seed=7)
    for _ in range(start * accum):
        order.take(b)
    load = ItemLoader(data)
    fetch = Prefetcher(load, copy_order(data, 7, order), lambda o: o.take(b), accum, start, steps, workers) \
        if workers else None
    out = []
    try:
        for step in range(start, steps):
            for micro in range(accum):
                idx = order.take(b)
                set_step(data, step)
                out.append((step, micro, idx, fetch.get(step, micro, idx) if fetch else [load(i) for i in idx]))
    finally:
        if fetch is not None:
            fetch.close()
    return out


def same(a, b) -> bool:
    return len(a) == len(b) and all(
        x[:3] == y[:3] and all(p.keys() == q.keys() and all(
            torch.equal(p[k], q[k]) if isinstance(p[k], torch.Tensor) else p[k] == q[k] for k in p)
            for p, q in zip(x[3], y[3], strict=True)) for x, y in zip(a, b, strict=True))


def test_prefetched_batches_are_the_sequential_ones_loaded_by_several_threads():
    seq, par = Slow(10, 2, 16, 16, 8.0, 0), Slow(10, 2, 16, 16, 8.0, 0)
    ref = batches(seq, 0)
    assert same(batches(par, 3), ref)
    assert seq.threads == {threading.current_thread().name}
    assert len({t for t in par.threads if t.startswith("train-load")}) > 1
    assert same(batches(Slow(10, 2, 16, 16, 8.0, 0), 2, start=2), ref[4:])  # from a resumed position


def test_kohya_tag_shuffles_follow_the_step_of_each_prefetched_item(tmp_path):
    (tmp_path / "1_thing").mkdir()
    for j in range(4):
        Image.new("RGB", (16, 16), (60 * j, 0, 0)).save(tmp_path / "1_thing" / f"{j}.png")
        (tmp_path / "1_thing" / f"{j}.txt").write_text(f"tok{j}, a, b, c, d, e, f, g")

    def data():
        return KohyaFolder(tmp_path, 1, 16, 16, keep_tokens=1, shuffle=True, seed=0)

    ref = batches(data(), 0, steps=6, accum=1, b=2)
    assert len({it["caption"] for *_, items in ref for it in items if it["caption"].startswith("tok0")}) > 1
    assert same(batches(data(), 3, steps=6, accum=1, b=2), ref)


def test_a_run_with_workers_trains_as_one_without(tmp_path):
    def run(name, workers):
        return train(load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [
            f"out={tmp_path / name}", "init_from=", "steps=3", "batch_size=2", "optim.grad_accum=2",
            "data.size=6", "data.height=16", "data.width=16", "ckpt_every=10", f"num_workers={workers}"]),
            progress=False)["losses"]

    assert run("w3", 3) == run("w0", 0)
