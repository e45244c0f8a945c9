"""Curate -> ``video train``: what a cache and a checkpoint record of the data, and what a dry run
says of it.

- A latent cache of a manifest records ``data.where`` and its window (first frames); a run from it
  with another ``where`` is refused (another ``clip_window`` warned) (it trained all 7 cached clips where
  ``motion_mean > 2`` matched 3, and its config.yaml recorded the filter).
- ``video train --dry-run`` names the item count, how many clips ``data.where`` matched, those
  left out for length, and the empty-caption warning (it said nothing of the data).
- A resume on a manifest whose kept rows changed says so in one warning line (it resumed with 4
  of 7 clips silently); a checkpoint from before the record resumes silently.
"""

from __future__ import annotations

import json
import subprocess

import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest

from video.config import load_config
from video.training.config import TrainConfig
from video.training.data_checks import check_data
from video.training.data_record import data_line
from video.training.tasks import make_dataset
from video.training.trainer import train

CONFIG = "configs/train/dit_stage2_video.yaml"
TINY = ["init_from=", "data.frames=3", "data.height=16", "data.width=16", "batch_size=1", "log_every=1"]
MOTION = [0.5, 1.0, 1.5, 2.5, 3.0, 3.5, 1.2]  # three clips above 2
WHERE = "data.where=motion_mean > 2"


@pytest.fixture
def manifest(tmp_path):
    """Seven kept clips of one real 40-frame 8 fps source; row 5 (matched by the where) is 2
    frames long, shorter than data.frames=3, and row 4 has an empty caption."""
    src = tmp_path / "src.mp4"
    levels = (20 + 5 * np.arange(40)).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (40, 32, 32, 3)).copy()
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", "32x32", "-r", "8", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(src)],
                   input=frames.tobytes(), check=True)
    path = tmp_path / "manifest.parquet"
    n = len(MOTION)
    pd.DataFrame({"source": [str(src)] * n, "clip_id": [f"c{i}" for i in range(n)],
                  "start_frame": [4 * i for i in range(n)], "end_frame": [4 * i + (2 if i == 5 else 12) for i in range(n)],
                  "fps": [8.0] * n, "width": [32] * n, "height": [32] * n, "keep": [True] * n,
                  "caption": [f"clip {i}" if i != 4 else "" for i in range(n)],
                  "motion_mean": MOTION}).to_parquet(path)
    return path


def cfg(*overrides):
    return load_config(TrainConfig, CONFIG, [*TINY, *overrides])


def build(manifest, out, *overrides):
    from video.training.cache import build_latent_cache

    return build_latent_cache(cfg("data.kind=manifest", f"data.path={manifest}", *overrides), out, shard_size=4,
                              progress=False)


def test_a_cache_records_its_where_and_a_run_with_another_is_refused(manifest, tmp_path, capsys):
    every = build(manifest, tmp_path / "every")
    assert json.loads((every / "index.json").read_text())["data"] == {
        "kind": "manifest", "frames": 3, "height": 16, "width": 16, "fps": 8.0, "where": "", "clip_window": "start"}
    run = ("data.kind=cache", f"data.path={every}", "data.clip_window=start")
    assert len(make_dataset(cfg(*run))) == 6  # the 7 kept clips but the short one
    for check in (make_dataset, check_data):  # the run and its dry run refuse in the same line
        with pytest.raises(ValueError, match=r"^\S+every was built for other clips: data.where='motion_mean > 2' "
                                             r"\(cache: none, every kept clip\); set the cache's values or rebuild"):
            check(cfg(*run, WHERE))

    matched = build(manifest, tmp_path / "matched", WHERE)
    run = ("data.kind=cache", f"data.path={matched}", "data.clip_window=start")
    same = make_dataset(cfg(*run, WHERE))
    assert len(same) == 2  # the same where: its 3 clips but the short one
    assert data_line(same, cfg(*run, WHERE)) == "latent cache 2 items of the kept clips matching 'motion_mean > 2'"
    with pytest.raises(ValueError, match=r"data.where='' \(cache: 'motion_mean > 2'\)"):
        make_dataset(cfg(*run))
    capsys.readouterr()
    assert len(make_dataset(cfg("data.kind=cache", f"data.path={matched}", WHERE))) == 2  # random windows: the default
    assert capsys.readouterr().err.strip() == (
        "warning: data.clip_window=random does not apply to a latent cache: it holds one window per clip, its "
        "first frames (start); those are what this run trains on")
    with pytest.raises(ValueError, match=r"data.where='motion_mean > 3' \(cache: 'motion_mean > 2'\)"):
        make_dataset(cfg(*run, "data.where=motion_mean > 3"))


def test_a_cache_from_before_the_record_is_taken_as_unfiltered(manifest, tmp_path, capsys):
    cache = build(manifest, tmp_path / "old")
    index = json.loads((cache / "index.json").read_text())
    for k in ("where", "clip_window"):
        index["data"].pop(k, None)
    (cache / "index.json").write_text(json.dumps(index))
    run = ("data.kind=cache", f"data.path={cache}", "data.clip_window=start")
    assert len(make_dataset(cfg(*run))) == 6
    with pytest.raises(ValueError, match=r"data.where='motion_mean > 2' \(cache: built before data.where was "
                                         r"recorded, taken as none\)"):
        make_dataset(cfg(*run, WHERE))
    capsys.readouterr()
    make_dataset(cfg("data.kind=cache", f"data.path={cache}"))
    assert "warning: data.clip_window=random does not apply to a latent cache" in capsys.readouterr().err


def test_a_cache_of_other_data_takes_any_where(tmp_path):
    """where and clip_window choose a manifest's rows: a cache of drawn shapes ignores them, as raw training does."""
    from video.training.cache import build_latent_cache

    shapes = build_latent_cache(cfg("data.kind=shapes", "data.size=2"), tmp_path / "shapes", progress=False)
    assert len(make_dataset(cfg("data.kind=cache", f"data.path={shapes}", "data.size=2", WHERE))) == 2


def test_dry_run_names_the_items_and_what_where_matched(manifest, tmp_path, cli):
    dry = cli("train", CONFIG, *TINY, "data.kind=manifest", f"data.path={manifest}", WHERE,
              f"out={tmp_path / 'run'}", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stderr.splitlines()
    assert ("manifest 2 clips; 1 shorter than 3 frames at 8 fps left out; "
            "data.where 'motion_mean > 2' matches 3 kept clips") in lines
    assert any(ln.startswith("warning: 1 of 2 items have an empty caption") for ln in lines)
    assert "data:" in dry.stdout and "manifest 2 clips" not in dry.stdout  # stdout stays the config

    every = cli("train", CONFIG, *TINY, "data.kind=manifest", f"data.path={manifest}", f"out={tmp_path / 'run'}",
                "--dry-run")
    assert "manifest 6 clips; 1 shorter than 3 frames at 8 fps left out" in every.stderr.splitlines()

    shapes = cli("train", CONFIG, *TINY, "data.kind=shapes", "data.size=5", f"out={tmp_path / 'run'}", "--dry-run")
    assert "data.kind=shapes: 5 items" in shapes.stderr.splitlines()


def test_the_run_prints_the_same_line(manifest, tmp_path, capsys):
    train(cfg("data.kind=manifest", f"data.path={manifest}", WHERE, f"out={tmp_path / 'run'}", "steps=1",
              "data.clip_window=start"), progress=False)
    assert ("manifest 2 clips; 1 shorter than 3 frames at 8 fps left out; "
            "data.where 'motion_mean > 2' matches 3 kept clips") in capsys.readouterr().out.splitlines()


def resume_run(manifest, out):
    return cfg("data.kind=manifest", f"data.path={manifest}", f"out={out}", "steps=4", "ckpt_every=1")


def test_a_resume_on_changed_data_says_so(manifest, tmp_path, capsys):
    out = tmp_path / "run"
    train(resume_run(manifest, out), progress=False, stop_after=2)
    state = json.loads((out / "checkpoints" / "step_0000002" / "state.json").read_text())
    assert state["data"]["items"] == 6

    table = pd.read_parquet(manifest)
    table.loc[[0, 1, 2], "keep"] = False  # re-curated: three clips dropped
    table.to_parquet(manifest)
    capsys.readouterr()
    train(resume_run(manifest, out), progress=False, stop_after=3)
    said = [ln for ln in capsys.readouterr().out.splitlines() if "data changed" in ln]
    assert said == ["warning: the data changed since step 2: 6 -> 3 items; the resume trains on it as it is now"]

    table.loc[[0, 3], "keep"] = [True, False]  # as many clips, not the same ones
    table.to_parquet(manifest)
    train(resume_run(manifest, out), progress=False, stop_after=4)
    said = [ln for ln in capsys.readouterr().out.splitlines() if "data changed" in ln]
    assert said == ["warning: the data changed since step 3: 3 -> 3 items (other items than before); the resume "
                    "trains on it as it is now"]


def test_a_resume_on_the_same_data_or_an_older_checkpoint_is_silent(manifest, tmp_path, capsys):
    out = tmp_path / "run"
    train(resume_run(manifest, out), progress=False, stop_after=2)
    table = pd.read_parquet(manifest)
    table["caption"] = "recaptioned"  # the same clips: captions are no item identity
    table.to_parquet(manifest)
    train(resume_run(manifest, out), progress=False, stop_after=3)
    assert "data changed" not in capsys.readouterr().out

    state = out / "checkpoints" / "step_0000003" / "state.json"
    meta = json.loads(state.read_text())
    del meta["data"]  # a checkpoint written before the record
    state.write_text(json.dumps(meta))
    table.loc[[0, 1, 2], "keep"] = False
    table.to_parquet(manifest)
    train(resume_run(manifest, out), progress=False, stop_after=4)
    assert "data changed" not in capsys.readouterr().out
