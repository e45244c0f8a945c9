import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from data_curation.engine import ray_temp_dir, run


@pytest.fixture
def sources(tmp_path, bikes):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(bikes, src / "bikes.mp4")
    shutil.copy(bikes, src / "bikes_copy.mp4")  # a near-duplicate of every clip
    (src / "not_video.mp4").write_bytes(b"hello, not a video" * 50)
    (src / "empty.mp4").write_bytes(b"")
    data = open(bikes, "rb").read()
    (src / "truncated.mp4").write_bytes(data[: len(data) // 3])  # moov atom at the end is lost
    return src


def _check_manifest(out):
    df = pd.read_parquet(out / "manifest.parquet")
    required = {"source", "clip_id", "start_frame", "end_frame", "start_s", "end_s", "fps", "width", "height",
                "num_frames", "motion_mean", "sharpness", "caption", "clip_path", "keep", "drop_reason", "error"}
    assert required <= set(df.columns)
    assert df["clip_id"].is_unique
    clips = df[df["start_frame"].notna()]
    # bikes' shots (25 fps) >= 2 s: [76,137), [137,187), [187,242), from each copy
    assert sorted(clips[clips.source.str.endswith("/bikes.mp4")][["start_frame", "end_frame"]].values.tolist()) == \
        [[76, 137], [137, 187], [187, 242]]
    assert (clips.end_frame - clips.start_frame == clips.num_frames).all()
    copies = clips[clips.source.str.endswith("bikes_copy.mp4")]
    assert (copies.drop_reason == "near_duplicate").all() and not copies.keep.any()
    errors = df[df["error"].notna()]
    assert sorted(s.rsplit("/", 1)[1] for s in errors.source) == ["empty.mp4", "not_video.mp4", "truncated.mp4"]
    assert (errors.drop_reason == "error").all()
    n = duckdb.sql(f"select count(*) from '{out / 'manifest.parquet'}' where keep").fetchall()[0][0]
    assert n == 3
    return df


def test_ray_engine_end_to_end_with_broken_inputs_and_resume(sources):
    import ray

    # OUT on a short path: Ray's session, sockets included, must fit under it (see ray_temp_dir)
    root = Path(tempfile.mkdtemp(prefix="cur", dir="/tmp"))
    out = root / "out"
    try:
        s = run([str(sources)], out, "quick", workers=2, progress=False)
        assert not ray.is_initialized()  # the Ray that run() started ended with it
        assert (s["sources"], s["failed"], s["kept"]) == (5, 3, 3)
        first = _check_manifest(out)
        # an interrupted run: one source's part is gone, a stray temp file is left
        (out / "parts" / next(p.name for p in (out / "parts").iterdir() if p.name.startswith("bikes_copy"))).unlink()
        (out / "parts" / ".x.parquet.1.partial").write_bytes(b"junk")
        s2 = run([str(sources)], out, "quick", workers=2, progress=False)
        assert (s2["processed"], s2["skipped"]) == (1, 4)
        second = _check_manifest(out)
        cols = ["clip_id", "start_frame", "motion_mean", "keep"]
        pd.testing.assert_frame_equal(first[cols].sort_values("clip_id").reset_index(drop=True),
                                      second[cols].sort_values("clip_id").reset_index(drop=True))
        assert {p.name for p in out.iterdir()} == {"manifest.parquet", "parts", ".ray"}
        # both runs' Ray sessions (logs, sockets, object spill) lived under OUT
        sessions = [p for p in (out / ".ray").iterdir() if p.name.startswith("session_2")]
        assert len(sessions) == 2 and all((p / "logs").is_dir() for p in sessions)
        assert {p.name for p in root.iterdir()} == {"out"}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_ray_temp_dir_falls_back_when_out_is_too_long(tmp_path):
    assert ray_temp_dir(Path("/tmp/x/out")) == "/tmp/x/out/.ray"
    with pytest.warns(UserWarning, match="too long for Ray's sockets"):
        assert ray_temp_dir(tmp_path / ("d" * 60)) is None


def test_cli_run_filter_report_in_process(sources, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "data_curation.cli"]
    p = subprocess.run([*cmd, "run", str(sources), "--out", str(out), "--workers", "0", "--quiet",
                        "--set", "split.extract=true"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "3 of 5 sources failed" in p.stderr
    df = _check_manifest(out)
    kept = df[df.keep]
    assert all((out / "clips").exists() and path.startswith(str(out / "clips")) for path in kept.clip_path)
    # re-filter without re-scoring: a stricter motion floor drops the calmest kept clip (rules come before dedup)
    floor = sorted(kept.motion_mean)[1]
    p = subprocess.run([*cmd, "filter", str(out / "manifest.parquet"), "--recipe", "quick", "--set",
                        f"rules=[{{column: motion_mean, min: {floor}}}]"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["kept"] == 2
    t = pq.read_table(out / "manifest.parquet").to_pandas()
    assert t[t.keep].motion_mean.min() >= floor and (t.drop_reason.str.startswith("motion_mean<")).sum() == 2  # and its copy
    p = subprocess.run([*cmd, "report", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    page = (out / "report.html").read_text()
    assert "Funnel" in page and page.count("<figure>") >= 3 and "truncated.mp4" in page


def test_bad_recipe_is_one_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "data_curation.cli", "run", str(tmp_path), "--out", str(tmp_path / "o"),
                        "--workers", "0", "--set", "split.max_s=abc"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "split.max_s" in p.stderr


def test_phash_distance_outside_the_hash_is_refused_at_load():
    from data_curation.recipe import load_recipe
    from video.config import ConfigError

    for bad in ("-1", "64"):
        with pytest.raises(ConfigError, match="max_phash_distance"):
            load_recipe("quick", [f"max_phash_distance={bad}"])
    assert load_recipe("quick", ["max_phash_distance=63"]).max_phash_distance == 63
