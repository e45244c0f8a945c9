"""``cuts.threads`` 1 (what a Ray run gives each task when the sources outnumber the cores: a
task holds one CPU) decodes in the task's own thread, both for cut detection's one pass and for
every clip read; FFmpeg's own choice put about one decoder thread per core (up to 16) in each
worker, +10-17% CPU. Threads are counted in /proc while the source is scored."""

import os
import threading
from dataclasses import replace

import pytest

from data_curation.engine import score_source
from data_curation.recipe import load_recipe
from video.media import grid_frames

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                                reason="threads are counted in Linux's /proc; FFmpeg adds none on one core")


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def extra_threads(fn) -> int:
    """The most threads this process had while ``fn`` ran, beyond those it had before."""
    peak, done = [0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], _threads())
            done.wait(0.0005)

    w = threading.Thread(target=watch)
    w.start()
    before = _threads()  # the watcher counted
    try:
        fn()
    finally:
        done.set()
        w.join()
    return peak[0] - before


def _decode(path, **kw):
    return [(i, f.to_ndarray()) for i, f in grid_frames(path, 100, 300, 25.0, **kw)]


def test_grid_frames_one_thread_and_automatic(montage):
    path, got = montage[0], {}
    assert extra_threads(lambda: got.setdefault("auto", _decode(path))) > 0  # FFmpeg's choice: frame threads
    assert extra_threads(lambda: got.setdefault("one", _decode(path, threads=1))) == 0
    assert len(got["one"]) == 200
    assert all(i == j and (a == b).all() for (i, a), (j, b) in zip(got["auto"], got["one"], strict=True))


def test_score_source_with_one_thread_starts_no_decoder_thread(montage, tmp_path):
    recipe = load_recipe("quick")
    one = replace(recipe, cuts=replace(recipe.cuts, threads=1))
    rows = score_source(str(montage[0]), one, tmp_path)  # first: OpenCV's pool, imports, scorers built
    assert rows and all(r["error"] is None and r["start_frame"] is not None for r in rows)  # clips were read
    again = []
    assert extra_threads(lambda: again.extend(score_source(str(montage[0]), one, tmp_path))) == 0
    assert again == rows
