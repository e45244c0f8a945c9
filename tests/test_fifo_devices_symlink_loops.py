"""Media a user names that is no regular file: a FIFO (nobody writing to it), a device or a
symlink loop. FFmpeg and PIL waited forever on the FIFO (``curate probe/cuts/run FIFO``,
``video edit --mask FIFO``); ``--image`` called a FIFO, ``/dev/null`` and a link loop "not
found". Now each is one line saying what it is. Every call runs in a thread with a deadline,
and the FIFO is opened for writing and closed after it, so a regression fails, not hangs."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from PIL import Image

from video.media import MediaError

DEADLINE = 20  # seconds: each call below answers in well under one


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "clip.mp4"
    os.mkfifo(path)
    return path


@pytest.fixture
def loop(tmp_path):
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    return tmp_path / "a.png"


def answer(fn, *args, fifo=None, **kwargs):
    """``fn(*args, **kwargs)``'s result or the exception it raised, within :data:`DEADLINE`. A
    call still blocked then is failed, after a writer's open and close of ``fifo`` ends its wait."""
    out: dict = {}

    def call():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001  (returned to the test, which asserts on it)
            out["value"] = e

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(DEADLINE)
    if t.is_alive():
        if fifo is not None:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # the blocked reader gets EOF
            except OSError:
                pass
            t.join(5)
        pytest.fail(f"{fn.__name__} hung on {args}")
    return out["value"]


def test_curate_probe_gives_a_fifo_an_error_row(fifo):
    from data_curation.probe import probe_row

    assert answer(probe_row, fifo, fifo=fifo) == {"path": str(fifo), "error": f"{fifo}: not a regular file (a FIFO)"}


def test_curate_cuts_refuses_a_fifo_in_one_line(fifo):
    from data_curation.cuts import detect_shots

    e = answer(detect_shots, fifo, fifo=fifo)
    assert isinstance(e, MediaError) and str(e) == f"{fifo}: not a regular file (a FIFO)"


def test_curate_run_makes_a_fifo_an_error_row(fifo, tmp_path):
    from data_curation.engine import score_source
    from data_curation.recipe import load_recipe

    (row,) = answer(score_source, str(fifo), load_recipe("quick"), tmp_path / "out", fifo=fifo)
    assert row["error"] == f"MediaError: {fifo}: not a regular file (a FIFO)" and row["clip_id"].endswith(":error")


@pytest.mark.parametrize("flag", ["--mask", "--video"])
def test_video_edit_refuses_a_fifo_as_mask_or_video(fifo, tmp_path, cli, flag):
    video = tmp_path / "v.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(video)
    given = {"--mask": ["--video", video, "--mask", fifo], "--video": ["--video", fifo, "--box", "1,1,4,4"]}[flag]
    r = answer(cli, "edit", "recolour", *given, "--hue", "90", "--output", tmp_path / "o.mp4", fifo=fifo)
    assert r.returncode == 2 and r.errors == [f"error: {fifo}: not a regular file (a FIFO)"], r.stderr


def test_an_image_that_is_no_file_says_what_it_is(fifo, loop):
    from video.media import open_image

    cases = [(fifo, "not a regular file (a FIFO)"), ("/dev/null", "not a regular file (a device)"),
             (loop, "a symlink loop")]
    for path, why in cases:
        e = answer(open_image, path, fifo=fifo)
        assert isinstance(e, MediaError) and str(e) == f"image {path} is {why}"
    e = answer(open_image, loop.with_name("missing.png"))
    assert str(e) == f"image {loop.with_name('missing.png')} not found"  # a path that is not there: as before
