"""A kept manifest row whose cells no clip can be read from (a NaN fps, a missing source, an end
before the start: a hand-written Parquet file) is left out when the manifest loads, in one line
naming the count, the reason and the rows: it stopped the run at the step that reached it, and
every resume at the same step. A manifest with none left is refused in one line before the run
folder is made. The latent cache reads manifests the same way."""

import json

import numpy as np
import pandas as pd
import pytest

from video.config import load_config
from video.media import write_video
from video.training.config import TrainConfig
from video.training.data import ManifestClips


def manifest(folder, n: int = 4, **cells):
    """A hand-made manifest of ``n`` kept rows over one real clip; ``cells``: {column: {row: value}}."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    write_video(rng.integers(0, 255, (12, 32, 32, 3), dtype=np.uint8), folder / "src.mp4", fps=8)
    table = pd.DataFrame({"source": [str(folder / "src.mp4")] * n, "start_frame": [0] * n, "end_frame": [12] * n,
                          "fps": [8.0] * n, "width": [32] * n, "height": [32] * n, "keep": [True] * n,
                          "caption": [f"clip {i}" for i in range(n)]})
    for column, rows in cells.items():
        if column not in table:
            table[column] = [None] * n
        table[column] = table[column].astype(object)
        for i, v in rows.items():
            table.at[i, column] = v
    path = folder / "manifest.parquet"
    table.to_parquet(path)
    return path


@pytest.mark.parametrize("cells, said", [
    ({"fps": {3: float("nan")}}, "fps not a finite positive number (row 3)"),
    ({"source": {1: None}}, "source missing or not a path (row 1)"),
    ({"source": {1: ""}}, "source missing or not a path (row 1)"),
    ({"end_frame": {2: 0}}, "end_frame not after start_frame (row 2)"),
    ({"width": {0: 0}}, "width or height not a positive number (row 0)"),
    ({"motion_mean": {2: float("inf")}}, "motion_mean not a finite number (row 2)"),
])
def test_a_bad_cell_leaves_its_row_out_in_one_line(tmp_path, capsys, cells, said):
    path = manifest(tmp_path, **cells)
    clips = ManifestClips(path, frames=4, height=16, width=16)
    assert capsys.readouterr().out.splitlines() == [f"warning: {path}: 1 row left out: {said}"]
    assert len(clips) == 3
    for i in range(len(clips)):  # every row left is one a step can read
        assert clips[i]["video"].shape == (4, 3, 16, 16)


def test_several_reasons_are_one_line(tmp_path, capsys):
    path = manifest(tmp_path, n=6, fps={1: float("nan"), 4: -8.0}, source={2: None})
    assert len(ManifestClips(path, frames=4, height=16, width=16)) == 3
    assert capsys.readouterr().out.splitlines() == [
        f"warning: {path}: 3 rows left out: fps not a finite positive number (rows 1, 4); "
        "source missing or not a path (row 2)"]  # reasons in the order of their first row


def test_a_row_not_kept_is_not_checked(tmp_path, capsys):
    path = manifest(tmp_path, fps={3: float("nan")}, keep={3: False})
    assert len(ManifestClips(path, frames=4, height=16, width=16)) == 3
    assert capsys.readouterr().out == ""


def test_a_run_trains_past_the_bad_row(tmp_path, capsys):
    from video.training.trainer import train

    path = manifest(tmp_path / "m", fps={3: float("nan")}, source={1: None})
    cfg = load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", [
        "init_from=", "data.kind=manifest", f"data.path={path}", f"out={tmp_path / 'run'}", "steps=3",
        "batch_size=1", "data.frames=5", "data.height=16", "data.width=16", "log_every=1"])
    assert train(cfg, progress=False)["step"] == 3  # 2 items, 3 steps: every row is reached
    assert f"warning: {path}: 2 rows left out" in capsys.readouterr().out


def test_none_left_is_refused_before_the_run_folder(tmp_path, cli):
    path = manifest(tmp_path / "m", n=2, fps={0: float("nan"), 1: 0.0})
    run = tmp_path / "run"
    p = cli("train", "dit_stage2_video", "init_from=", "data.kind=manifest", f"data.path={path}", f"out={run}",
            "steps=1", "data.height=16", "data.width=16")
    assert p.returncode == 2 and p.errors == [
        f"error: {path}: none of its 2 kept clips can be read: fps not a finite positive number (rows 0, 1)"], p.stderr
    assert not run.exists()


def test_the_latent_cache_leaves_it_out_too(tmp_path, capsys):
    from video.training.cache import build_latent_cache

    path = manifest(tmp_path / "m", fps={3: float("nan")})
    cfg = load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", [
        "init_from=", "data.kind=manifest", f"data.path={path}", "data.frames=5", "data.height=16",
        "data.width=16"])
    cache = build_latent_cache(cfg, tmp_path / "cache", shard_size=8, progress=False)
    assert json.loads((cache / "index.json").read_text())["items"] == 3
    assert f"warning: {path}: 1 row left out: fps not a finite positive number (row 3)" in capsys.readouterr().out
