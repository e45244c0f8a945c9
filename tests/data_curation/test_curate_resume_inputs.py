"""Reruns and odd inputs of ``curate run``: a changed source is scored again, a resume from
another folder names paths as that run does, folders inside OUT and behind directory links are
searched, truncated files and images are error rows, and the CLI's mistakes are one line."""

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image

from data_curation.engine import run, score_source
from data_curation.manifest import RUN_DIR_KEY, parquet_metadata, resolve_media
from data_curation.probe import discover
from data_curation.recipe import Recipe, SplitConfig, load_recipe, scoring_key
from video.media import ffmpeg_exe, write_video

CLI = [sys.executable, "-m", "data_curation.cli"]


def _lavfi(path: Path, seconds: int = 6, faststart: bool = True) -> Path:
    """A real H.264 mp4 of ffmpeg's test pattern at 25 fps (moov first with ``faststart``)."""
    cmd = [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=25:duration={seconds}",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", *(["-movflags", "+faststart"] if faststart else []), str(path)]
    subprocess.run(cmd, check=True, timeout=120)
    return path


def test_a_fixed_source_is_scored_again_and_its_error_row_goes(tmp_path, bikes):
    src = tmp_path / "src"
    src.mkdir()
    (src / "late.mp4").write_bytes(b"")  # still being copied when the first run saw it
    out = tmp_path / "out"
    first = run([str(src)], out, "quick", workers=0, progress=False)
    assert first["failed"] == 1
    same = run([str(src)], out, "quick", workers=0, progress=False)
    assert (same["processed"], same["skipped"], same.get("changed", 0)) == (0, 1, 0)
    shutil.copy(bikes, src / "late.mp4")
    fixed = run([str(src)], out, "quick", workers=0, progress=False)
    assert (fixed["processed"], fixed["failed"], fixed.get("changed")) == (1, 0, 1)
    df = pd.read_parquet(out / "manifest.parquet")
    assert df.error.isna().all() and sorted(df.start_frame.tolist()) == [76, 137, 187]  # bikes' shots >= 2 s
    assert len(list((out / "parts").iterdir())) == 1  # replaced, not added beside


def test_a_resume_from_another_folder_names_paths_as_it_does(tmp_path, bikes, monkeypatch):
    """First run inside ``proj``, the resume from its parent: the manifest's paths are
    relative to the folder the resume ran in (recorded in it), so resolve_media and the
    report find the sources and the clip files."""
    from data_curation.report import write_report

    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    shutil.copy(bikes, proj / "src" / "bikes.mp4")
    monkeypatch.chdir(proj)
    run(["src"], "out", "quick", ["split.extract=true"], workers=0, progress=False)
    monkeypatch.chdir(tmp_path)
    again = run(["proj/src"], "proj/out", "quick", ["split.extract=true"], workers=0, progress=False)
    assert again["processed"] == 0
    manifest = proj / "out" / "manifest.parquet"
    run_dir = parquet_metadata(manifest, RUN_DIR_KEY)
    assert run_dir == str(tmp_path)
    df = pd.read_parquet(manifest)
    assert set(df.source) == {"proj/src/bikes.mp4"}
    assert all(p.startswith("proj/out/clips/") for p in df.clip_path)
    monkeypatch.chdir(proj / "src")  # wherever a reader runs
    for p in [*df.source, *df.clip_path]:
        assert resolve_media(p, run_dir).is_file(), p
    page = write_report(proj / "out").read_text()
    assert page.count("<figure>") >= 3 and "could not be read" not in page


def test_numbers_that_break_planning_are_error_rows_not_a_crash(tmp_path, bikes):
    """A recipe built in code skips load_recipe's checks: planning that raises is the source's
    error row."""
    for split in (SplitConfig(max_s=float("inf")), SplitConfig(trim_s=float("nan"))):
        rows = score_source(bikes, replace(Recipe(), split=split), tmp_path)
        assert len(rows) == 1 and rows[0]["clip_id"].endswith(":error") and rows[0]["error"]


def test_scoring_key_ignores_scorer_order():
    a = load_recipe("quick", ["scorers=[motion,phash,sharpness]", "rules=[]"])
    b = load_recipe("quick", ["scorers=[sharpness,motion,phash]", "rules=[]"])
    assert scoring_key(a) == scoring_key(b) != scoring_key(load_recipe("quick", ["scorers=[motion,phash]", "rules=[]"]))


def test_a_source_folder_inside_out_is_searched(tmp_path):
    proj = tmp_path / "proj"
    (proj / "raw").mkdir(parents=True)
    write_video(np.zeros((5, 32, 32, 3), np.uint8), proj / "raw" / "a.mp4", fps=5)
    s = run([str(proj / "raw")], proj, "quick", workers=0, progress=False)
    assert s["sources"] == 1
    (proj / "clips").mkdir()  # what a run writes under OUT is never a source
    shutil.copy(proj / "raw" / "a.mp4", proj / "clips" / "x.mp4")
    assert run([str(proj)], proj, "quick", workers=0, progress=False)["sources"] == 1


def test_directory_links_are_followed_once_and_loops_end(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.mp4").write_bytes(b"x")
    src = tmp_path / "src"
    src.mkdir()
    (src / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    (src / "loop").symlink_to(src, target_is_directory=True)
    (src / "b.mp4").write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in discover([src])] == ["src/b.mp4", "src/linked/a.mp4"]
    assert list(discover([src], exclude=[tmp_path / "real"])) == [src / "b.mp4"]


def test_decoded_short_tolerance():
    from data_curation.engine import decoded_short

    assert not decoded_short(150, 148) and not decoded_short(1000, 951)  # a frame or two, up to 5%
    assert decoded_short(150, 70) and decoded_short(1000, 949) and decoded_short(20, 17)


def test_truncated_files_and_images_are_error_rows(tmp_path):
    whole = _lavfi(tmp_path / "whole.mp4")
    data = whole.read_bytes()
    (tmp_path / "half.mp4").write_bytes(data[: len(data) // 2])  # moov first: the first half still plays
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(tmp_path / "image.png")
    os.replace(tmp_path / "image.png", tmp_path / "image.mp4")
    recipe = load_recipe("quick")
    ok = score_source(str(whole), recipe, tmp_path / "out")
    assert all(r["error"] is None for r in ok) and ok[0]["start_frame"] == 0
    half = score_source(str(tmp_path / "half.mp4"), recipe, tmp_path / "out")
    assert len(half) == 1 and "truncated or damaged" in half[0]["error"] and "of the 150 frames" in half[0]["error"]
    img = score_source(str(tmp_path / "image.mp4"), recipe, tmp_path / "out")
    assert len(img) == 1 and img[0]["clip_id"].endswith(":error") and "not a video" in img[0]["error"]


def test_cli_mistakes_are_one_line_before_any_work(tmp_path, curate):
    (tmp_path / "empty").mkdir()
    (tmp_path / "afile").write_text("x")
    for args, rc, match in ([str(tmp_path / "nosuch"), "--out", str(tmp_path / "o1")], 2, "nosuch not found"), \
            ([str(tmp_path / "empty"), "--out", str(tmp_path / "afile")], 2, "is a file"), \
            ([str(tmp_path / "empty"), "--out", str(tmp_path / "o3")], 1, "no videos found"):
        p = curate("run", *args, "--workers", "0", "--quiet")
        assert p.returncode == rc and p.stderr.count("\n") == 1 and match in p.stderr, p.stderr
    assert not (tmp_path / "o1").exists()


def test_ctrl_c_is_one_line_and_the_rerun_resumes(tmp_path, bikes):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(6):
        shutil.copy(bikes, src / f"v{i}.mp4")
    out = tmp_path / "out"
    cmd = [*CLI, "run", str(src), "--out", str(out), "--workers", "0", "--quiet"]
    # the child gets SIGINT's default action, as from a terminal: a test run started in the
    # background by a non-interactive shell ignores SIGINT, and children inherit that (Python then
    # installs no KeyboardInterrupt handler, and the run finished with 0)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not list((out / "parts").glob("*.parquet")) and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    assert p.poll() is None, "the run finished before it could be interrupted"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and err.count("\n") == 1 and "interrupted" in err and "rerun" in err, err
    done = len(list((out / "parts").glob("*.parquet")))
    assert 1 <= done < 6
    q = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert q.returncode == 0, q.stderr
    assert pq.read_table(out / "manifest.parquet").num_rows == 6 * 3  # bikes' three clips each, none doubled


def test_a_rule_on_a_column_the_manifest_lacks_warns_by_name():
    from data_curation.filtering import thresholds
    from data_curation.recipe import Rule

    rows = [{"source": "a", "clip_id": "a_1", "start_frame": 0, "error": None, "motion_mean": 1.0}]
    with pytest.warns(UserWarning, match="'text_area' not applied"):
        assert thresholds(rows, Recipe(rules=[Rule(column="text_area", max=0.1)])) == []


def test_a_part_from_before_source_stats_and_sorted_scorers_is_kept(tmp_path, bikes):
    """An upgrade does not re-score a finished run: a part written before sources' stats were
    recorded, under the key of the scorer list as given (before the key sorted it), stands."""
    from data_curation.manifest import RECIPE_KEY, SOURCE_STAT_KEY

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(bikes, src / "bikes.mp4")
    out = tmp_path / "out"
    recipe = load_recipe("quick")  # its scorer list is not in sorted order
    run([str(src)], out, recipe, workers=0, progress=False)
    part = next((out / "parts").iterdir())
    table = pq.read_table(part)
    meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != SOURCE_STAT_KEY.encode()}
    meta[RECIPE_KEY.encode()] = scoring_key(recipe, ordered=True).encode()
    assert scoring_key(recipe, ordered=True) != scoring_key(recipe)
    pq.write_table(table.replace_schema_metadata(meta), part)
    again = run([str(src)], out, recipe, workers=0, progress=False)
    assert (again["processed"], again["skipped"], again.get("changed", 0)) == (0, 1, 0)
