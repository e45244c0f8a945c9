"""Manifests curate did not write (a Parquet file of one's own, a hand-made table) and the
curate OUT folder as data.path: a missing column the loader reads is one line listing them all,
a missing ``error`` column means no row failed, and a folder holding manifest.parquet is read."""

import numpy as np
import pandas as pd
import pytest

from video.config import load_config
from video.media import write_video
from video.training.config import TrainConfig
from video.training.data import ManifestClips
from video.training.tasks import make_dataset

ROOT_ROWS = {"source": ["src.mp4"] * 3, "start_frame": [0, 8, 16], "end_frame": [8, 16, 24], "fps": [8.0] * 3,
             "width": [32] * 3, "height": [32] * 3, "keep": [True, False, True]}


def hand_made(folder, drop=(), **extra):
    """A manifest written with pandas, as a user would, with its source video beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    write_video(rng.integers(0, 255, (24, 32, 32, 3), dtype=np.uint8), folder / "src.mp4", fps=8)
    cols = {k: v for k, v in {**ROOT_ROWS, "source": [str(folder / "src.mp4")] * 3, **extra}.items()
            if k not in drop}
    path = folder / "manifest.parquet"
    pd.DataFrame(cols).to_parquet(path)
    return path


def test_a_manifest_without_an_error_column_has_no_errors(tmp_path):
    clips = ManifestClips(hand_made(tmp_path), frames=4, height=16, width=16, fps=8.0)
    assert len(clips) == 2  # the kept rows
    assert clips[1]["video"].shape == (4, 3, 16, 16)


@pytest.mark.parametrize("drop", [("keep",), ("width", "height"), ("source", "fps")])
def test_missing_columns_are_one_line_naming_them_all(tmp_path, drop):
    path = hand_made(tmp_path, drop)
    with pytest.raises(ValueError) as e:
        ManifestClips(path, frames=4, height=16, width=16)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    assert f"lacks the column(s) {', '.join(c for c in ROOT_ROWS if c in drop)}" in msg, msg


def test_a_clip_path_column_needs_num_frames(tmp_path):
    path = hand_made(tmp_path, clip_path=[None] * 3)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) num_frames"):
        ManifestClips(path, frames=4, height=16, width=16)


def test_the_curate_out_folder_is_read_as_its_manifest(tmp_path):
    out = tmp_path / "cur"
    hand_made(out)
    c = load_config(TrainConfig, None, ["data.kind=manifest", f"data.path={out}", "data.frames=4",
                                        "data.height=16", "data.width=16"])
    data = make_dataset(c)
    assert len(data) == 2 and data.manifest == out / "manifest.parquet"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"manifest not found: .*empty is a folder without a manifest.parquet"):
        ManifestClips(empty, frames=4, height=16, width=16)


def test_the_cli_says_a_missing_column_in_one_line(tmp_path, cli):
    path = hand_made(tmp_path / "m", ("height", "width"))
    p = cli("train", "dit_stage2_video", "data.kind=manifest", f"data.path={path}", f"out={tmp_path / 'run'}",
            "steps=1", "data.height=16", "data.width=16")
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1, p.stderr[-2000:]
    assert lines[0].startswith("error: ") and "lacks the column(s) width, height" in lines[0]
    assert not (tmp_path / "run").exists()
