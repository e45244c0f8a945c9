import json
import shutil
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
    with duckdb.connect() as con:  # its own connection: not the default one another test may have left busy
        n = con.sql(f"select count(*) from '{out / 'manifest.parquet'}' where keep").fetchall()[0][0]
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
        assert {p.name for p in out.iterdir()} == {"manifest.parquet", "parts", ".ray", "run_recipe.yaml"}
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


def test_cli_run_filter_report_in_process(sources, tmp_path, curate):
    out = tmp_path / "out"
    p = curate("run", sources, "--out", out, "--workers", "0", "--quiet", "--set", "split.extract=true")
    assert p.returncode == 0, p.stderr
    assert "3 of 5 sources failed" in p.stderr
    df = _check_manifest(out)
    kept = df[df.keep]
    assert all((out / "clips").exists() and path.startswith(str(out / "clips")) for path in kept.clip_path)
    # re-filter without re-scoring: a stricter motion floor drops the calmest kept clip (rules come before dedup)
    floor = sorted(kept.motion_mean)[1]
    p = curate("filter", out / "manifest.parquet", "--recipe", "quick", "--set",
               f"rules=[{{column: motion_mean, min: {floor}}}]")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["kept"] == 2
    t = pq.read_table(out / "manifest.parquet").to_pandas()
    assert t[t.keep].motion_mean.min() >= floor and (t.drop_reason.str.startswith("motion_mean<")).sum() == 2  # and its copy
    p = curate("report", out)
    assert p.returncode == 0, p.stderr
    page = (out / "report.html").read_text()
    assert "Funnel" in page and page.count("<figure>") >= 3 and "truncated.mp4" in page


def test_bad_recipe_is_one_line(tmp_path, curate):
    p = curate("run", tmp_path, "--out", tmp_path / "o", "--workers", "0", "--set", "split.max_s=abc")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "split.max_s" in p.stderr


def test_phash_distance_outside_the_hash_is_refused_at_load():
    from data_curation.recipe import load_recipe
    from video.config import ConfigError

    for bad in ("-1", "64"):
        with pytest.raises(ConfigError, match="max_phash_distance"):
            load_recipe("quick", [f"max_phash_distance={bad}"])
    assert load_recipe("quick", ["max_phash_distance=63"]).max_phash_distance == 63


def test_sources_are_paths_as_given_and_reruns_follow_the_recipe(bikes, tmp_path, monkeypatch):
    """A symlink is a source of its own (keying parts by the resolved path lost one of the two);
    the same file named twice is one source; OUT inside SRC is not curated on the rerun; a
    changed split rescores, a changed filter does not; a source gone from SRC leaves the
    manifest; and the report's funnel adds up."""
    from data_curation.manifest import summarize
    from data_curation.report import write_report

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(bikes, src / "bikes.mp4")
    (src / "link.mp4").symlink_to(src / "bikes.mp4")
    (src / "gone.mp4").symlink_to(tmp_path / "missing.mp4")  # broken: an error row, not silence
    out = src / "out"
    monkeypatch.chdir(tmp_path)
    s = run(["src", "./src/bikes.mp4"], out, "quick", ["split.extract=true"], workers=0, progress=False)
    df = pd.read_parquet(out / "manifest.parquet")
    assert sorted(set(df.source)) == ["src/bikes.mp4", "src/gone.mp4", "src/link.mp4"]
    assert (s["sources"], s["failed"]) == (3, 1)
    assert len(df[df.source == "src/link.mp4"]) == len(df[df.source == "src/bikes.mp4"]) == 3
    again = run(["src"], out, "quick", ["split.extract=true"], workers=0, progress=False)
    assert (again["sources"], again["processed"]) == (3, 0)  # nothing from src/out/clips
    stricter = run(["src"], out, "quick", ["split.extract=true", "max_phash_distance=null"], workers=0, progress=False)
    assert stricter["processed"] == 0 and stricter["kept"] == 6  # a filter: no rescoring, duplicates kept
    short = ["split.extract=true", "split.max_s=1.2", "split.min_s=0.8"]
    shorter = run(["src"], out, "quick", short, workers=0, progress=False)
    assert shorter["processed"] == 3
    df = pd.read_parquet(out / "manifest.parquet")
    clips = df[df.start_frame.notna()]
    assert (clips.num_frames <= 30).all() and len(clips) == 16  # 8 a source, 3 before
    (src / "link.mp4").unlink()
    rows = run(["src"], out, "quick", short, workers=0, progress=False)
    df = pd.read_parquet(out / "manifest.parquet")
    assert rows["processed"] == 0 and "src/link.mp4" not in set(df.source)
    f = summarize(pq.read_table(out / "manifest.parquet").to_pylist())
    assert f["kept"] + sum(f["dropped"].values()) == f["clips"] == len(df[df.start_frame.notna()])
    assert f["sources_failed"] == 1
    monkeypatch.chdir(src)  # the report reads the sources relative to where the run was
    page = write_report(out).read_text()
    assert page.count("<figure>") >= 3 and "could not be read" not in page
