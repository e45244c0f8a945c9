"""Curate manifests as training data: missing cells (pandas reads them as NaN), relative paths
(relative to the folder `curate run` ran in, which the manifest records) and clips shorter
than data.frames (left out and counted, not padded with their last frame)."""

import numpy as np
import pytest

from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic
from video.media import write_video
from video.training.buckets import Bucketed
from video.training.data import ManifestClips


def clip(path, frames: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return write_video(rng.integers(0, 255, (frames, 32, 32, 3), dtype=np.uint8), path, fps=8)


def row(clip_id: str, start: int, end: int, **tail) -> dict:
    return {"source": "media/src.mp4", "clip_id": clip_id, "start_frame": start, "end_frame": end,
            "start_s": start / 8, "end_s": end / 8, "fps": 8.0, "width": 32, "height": 32, "rotation": 0,
            "num_frames": end - start, "source_frames": 24, "keep": True, "error": None, **tail}


@pytest.fixture
def curated(tmp_path, monkeypatch):
    """A manifest as `curate run SRC --out out` writes it from ``tmp/curate_cwd``: relative
    source and clip paths, some clips extracted and some not, captions and motion partly
    missing; training then runs from another folder."""
    run_dir = tmp_path / "curate_cwd"
    clip(run_dir / "media" / "src.mp4", 24)
    clip(run_dir / "out" / "clips" / "c0.mp4", 8, seed=1)
    rows = [row("c0", 0, 8, clip_path="out/clips/c0.mp4", caption="a red thing", motion_mean=2.0),
            row("c1", 8, 16, clip_path=None, caption=None, motion_mean=None),
            row("c2", 16, 24, clip_path="", caption="", motion_mean=float("nan")),
            row("c3", 20, 22, clip_path=None, caption="too short")]  # 2 frames
    manifest = run_dir / "out" / "manifest.parquet"
    write_atomic(to_table(rows, {"motion_mean": "double"}), manifest, {RUN_DIR_KEY: str(run_dir)})
    elsewhere = tmp_path / "training_cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return manifest


def test_missing_cells_and_relative_paths(curated):
    clips = ManifestClips(curated, frames=4, height=16, width=16, fps=8.0)
    items = [clips[i] for i in range(len(clips))]
    assert [it["caption"] for it in items] == ["a red thing", "", ""]
    assert items[0]["motion"] == 2.0 and all(np.isnan(it["motion"]) for it in items[1:])  # no score: NaN
    assert all(it["video"].shape == (4, 3, 16, 16) for it in items)
    assert clips.media_path(0) == curated.parent.parent / "out" / "clips" / "c0.mp4"
    assert clips.media_path(1) == curated.parent.parent / "media" / "src.mp4"


def test_an_output_folder_moved_with_its_clips(curated, tmp_path):
    moved = tmp_path / "moved"
    curated.parent.rename(moved)  # out/ (manifest and clips) moved; the sources stayed
    clips = ManifestClips(moved / "manifest.parquet", frames=4, height=16, width=16, fps=8.0)
    assert clips.media_path(0) == moved / "clips" / "c0.mp4"
    assert clips[0]["video"].shape == (4, 3, 16, 16)


def test_short_clips_are_left_out_and_counted(curated):
    clips = ManifestClips(curated, frames=4, height=16, width=16, fps=8.0)
    assert len(clips) == 3 and "1 shorter than 4 frames at 8 fps left out" in clips.describe()
    # frame buckets drop by their own counts: the 2-frame clip fits a bucket of 2
    bucketed = Bucketed(ManifestClips(curated, 4, 16, 16, 8.0, drop_short=False), [], [2, 8])
    assert len(bucketed) == 4 and sorted(k[0] for k in bucketed.keys) == [2, 8, 8, 8]
    with pytest.raises(ValueError, match="all 4 kept clips are shorter than data.frames=9"):
        ManifestClips(curated, frames=9, height=16, width=16, fps=8.0)
