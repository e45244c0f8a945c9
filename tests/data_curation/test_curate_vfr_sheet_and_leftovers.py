"""``curate report`` on a variable-rate source, the summary's errors after a resume from another
folder, ``curate probe`` on a folder without videos, and the Parquet temporaries a killed run
leaves behind."""

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from data_curation.engine import run
from data_curation.manifest import part_path, rename_source
from video.media import ffmpeg_exe, grid_frames

EMPTY = "MediaError: empty file (0 bytes), not a video"


def _vfr(path: Path) -> Path:
    """45 frames at 30 fps, then 3 s at 4 fps: on the nominal grid (about 14 fps) most slots of
    the second part have no frame of their own, the clip's middle one among them."""
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=30:duration=1.5", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=4",
                    "-filter_complex", "[1:v]trim=duration=3,setpts=PTS-STARTPTS[b];[0:v][b]concat=n=2:v=1[v]",
                    "-map", "[v]", "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "veryfast", str(path)],
                   check=True, timeout=120)
    return path


def test_report_sheet_shows_a_variable_rate_clip_whose_middle_slot_has_no_frame(tmp_path, curate):
    """The middle slot is a gap in the source: the frame on screen then (the one before) goes on
    the sheet, as training reads the slot; reading the slot alone found nothing and the Kept
    sheet was empty, with a warning."""
    src = _vfr(tmp_path / "vfr.mp4")
    out = tmp_path / "out"
    assert curate("run", src, "--out", out, "--workers", "0", "--quiet").returncode == 0
    (row,) = pq.read_table(out / "manifest.parquet").to_pylist()
    assert row["keep"] and row["error"] is None, row
    mid = (row["start_frame"] + row["end_frame"]) // 2
    assert mid not in [i for i, _ in grid_frames(src, row["start_frame"], row["end_frame"], row["fps"])]
    r = curate("report", out)
    assert r.returncode == 0 and "could not be read" not in r.stderr, r.stderr
    page = (out / "report.html").read_text()
    assert page.count("<figure>") == 1 and "could not be read" not in page


def test_errors_group_and_name_the_source_after_a_resume_from_another_folder(tmp_path, monkeypatch):
    """Parts written by a run in SRC (sources ``a.mp4``) resumed from its parent (``in/a.mp4``),
    and back: each error names the source as its ``source`` column does, and the summary counts
    the one error twice, not each spelling once."""
    (tmp_path / "in").mkdir()
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / "in" / name).write_bytes(b"")
    runs = [(tmp_path / "in", ".", "../out"), (tmp_path, "in", "out"), (tmp_path / "in", ".", "../out")]
    for k, (cwd, src, out) in enumerate(runs):
        monkeypatch.chdir(cwd)
        summary = run(src, out, workers=0, progress=False)
        assert summary["skipped"] == (2 if k else 0) and summary["errors"] == {EMPTY: 2}, (k, summary)
        rows = pq.read_table(Path(out) / "manifest.parquet").to_pylist()
        assert [r["error"] for r in rows] == [f"MediaError: {r['source']}: empty file (0 bytes), not a video"
                                              for r in rows], rows


def test_rename_source_only_where_messages_put_the_path():
    """``PATH: `` and an OS error's ``'PATH'``; a longer name ending in the same letters is left."""
    assert rename_source("PermissionError: [Errno 13] Permission denied: 'a.mp4'", "a.mp4", "in/a.mp4") == (
        "PermissionError: [Errno 13] Permission denied: 'in/a.mp4'")
    assert rename_source("MediaError: a.mp4: zero frames", "a.mp4", None) == "MediaError: zero frames"
    assert rename_source("MediaError: data.mp4: zero frames", "a.mp4", "x.mp4") == "MediaError: data.mp4: zero frames"


def test_probe_of_a_folder_without_videos_says_so_and_exits_1(tmp_path, curate):
    """As ``curate run`` says it: nothing printed and exit 0 read as "all good"."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no video here")
    r = curate("probe", tmp_path / "empty")
    assert r.returncode == 1 and r.stdout == "", r
    assert r.stderr.startswith(f"curate probe: no videos found in {tmp_path / 'empty'} (looked for .avi, ")
    assert r.stderr.count("\n") == 1, r.stderr


def _dead_pid() -> int:
    """The process id of a process that has ended."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_run_removes_parquet_temporaries_of_writers_that_died(tmp_path, pan):
    """A killed run's ``.NAME.parquet.PID.partial`` files (the manifest's, a part's) go at the
    next run; one whose writer still runs (this process) stays, and so does a dead one of a
    source that is not in this run."""
    src = pan(tmp_path / "pan.mp4")
    out = tmp_path / "out"
    run(str(src), out, workers=0, progress=False)
    dead, alive = _dead_pid(), os.getpid()
    part = part_path(out, src)
    other = part_path(out, tmp_path / "elsewhere.mp4")
    gone = [out / f".manifest.parquet.{dead}.partial", part.with_name(f".{part.name}.{dead}.partial")]
    kept = [part.with_name(f".{part.name}.{alive}.partial"), other.with_name(f".{other.name}.{dead}.partial")]
    for f in gone + kept:
        f.write_bytes(b"PAR1 half written")
    summary = run(str(src), out, workers=0, progress=False)
    assert summary["skipped"] == 1
    assert [f.name for f in gone if f.exists()] == []
    assert [f.name for f in kept if not f.exists()] == []
