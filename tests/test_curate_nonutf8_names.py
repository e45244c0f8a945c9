"""A source whose file name is not valid UTF-8 (an old archive copied from a Latin-1 or Windows
system) is an error row of ``curate run``, named readably (``caf\\xe9.mp4``), while the other
sources are curated: its name crashed the whole run (``'utf-8' codec can't encode character
'\\udce9'``, nothing written), since part keys hashed ``str.encode`` of it and the manifest's
``source`` column is UTF-8. ``curate probe`` and ``curate cuts`` say what ``curate run`` records."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_curation.cli import main
from data_curation.manifest import source_key
from video.media import ffmpeg_exe

LATIN1_NAME = b"caf\xe9.mp4"  # "café.mp4" as Latin-1 wrote it: \xe9 alone is no UTF-8
NOT_UTF8 = "file name is not valid UTF-8"


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("video") / "ok.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=24:duration=2", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def _with_named_copy(folder: Path, video: Path, name: bytes) -> str:
    """``folder`` holding ``ok.mp4`` and a copy of it named by the bytes ``name``; the copy's path
    as Python names it (surrogate escapes). Skipped where the file system refuses the name
    (macOS APFS: EILSEQ) or stores it under another."""
    folder.mkdir()
    shutil.copy(video, folder / "ok.mp4")
    raw = os.fsencode(str(folder)) + b"/" + name
    try:
        with open(raw, "wb") as f:
            f.write(video.read_bytes())
    except (OSError, ValueError) as e:
        pytest.skip(f"the file system refuses the name {name!r}: {e}")
    if name not in os.listdir(os.fsencode(str(folder))):
        pytest.skip(f"the file system stored {name!r} under another name")
    return os.fsdecode(raw)


def _skip_where_latin1_is_text() -> None:
    """Skipped under a Latin-1 file-system encoding: Python reads such a name as text ("café"),
    not surrogate escapes, and nothing about it is unstorable."""
    if os.fsdecode(LATIN1_NAME).isprintable():
        pytest.skip("this locale reads Latin-1 bytes as text")


def _readable(path: str) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def test_run_makes_an_error_row_of_a_non_utf8_name_scores_the_rest_and_resumes(tmp_path, video, capsys):
    _skip_where_latin1_is_text()
    bad = _with_named_copy(tmp_path / "in", video, LATIN1_NAME)
    out = tmp_path / "out"
    args = ["run", str(tmp_path / "in"), "--out", str(out), "--workers", "0", "--quiet"]
    manifests = []
    for attempt in (1, 2):  # the second is a resume over the parts the first wrote
        assert main(args) == 0, capsys.readouterr().err
        captured = capsys.readouterr()
        summary = json.loads(captured.out)
        assert (summary["sources"], summary["failed"], summary["sources_failed"]) == (2, 1, 1)
        assert (summary["processed"], summary["skipped"]) == ((2, 0) if attempt == 1 else (0, 2))
        assert summary["clips"] == summary["kept"] == 1
        assert [m for m in summary["errors"] if NOT_UTF8 in m and "rename it" in m] == list(summary["errors"])
        assert "1 of 2 sources failed" in captured.err
        rows = {r["source"]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}
        manifests.append(rows)
        assert set(rows) == {str(tmp_path / "in" / "ok.mp4"), _readable(bad)}
        assert "\\xe9" in _readable(bad)
        row = rows[_readable(bad)]
        assert row["error"].startswith(f"MediaError: {_readable(bad)}: {NOT_UTF8}")
        assert "\n" not in row["error"] and row["start_frame"] is None and not row["keep"]
        ok = rows[str(tmp_path / "in" / "ok.mp4")]
        assert (ok["error"], ok["start_frame"], ok["end_frame"]) == (None, 0, 48)
    assert manifests[0] == manifests[1]


def test_probe_and_cuts_say_what_run_records_for_a_non_utf8_name(tmp_path, video, capsys):
    _skip_where_latin1_is_text()
    bad = _with_named_copy(tmp_path / "in", video, LATIN1_NAME)
    assert main(["probe", str(tmp_path / "in")]) == 1  # an error in a line: exit 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_path = {r["path"]: r for r in lines}
    assert set(by_path) == {_readable(bad), str(tmp_path / "in" / "ok.mp4")}
    row = by_path[_readable(bad)]
    assert row["error"].startswith(f"{_readable(bad)}: {NOT_UTF8}") and row["num_frames"] == 48  # probe kept
    assert by_path[str(tmp_path / "in" / "ok.mp4")]["error"] is None
    assert main(["cuts", bad]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["0\t48\t0.000s\t2.000s"]
    assert NOT_UTF8 in captured.err and "(curate run marks this source as an error)" in captured.err


def test_source_key_hashes_the_same_bytes_for_utf8_names_and_the_disk_bytes_otherwise():
    # literals from the key before non-UTF-8 names were handled (sha1 of str(abspath).encode()):
    # parts written by earlier runs are found under them
    assert source_key("/data/café.mp4") == "café-5b40d70960"
    assert source_key("/data/a b/x.mp4") == "x-bc5947748a"
    _skip_where_latin1_is_text()
    escaped = os.fsdecode(b"/data/" + LATIN1_NAME)
    assert source_key(escaped) == "caf_-" + hashlib.sha1(b"/data/" + LATIN1_NAME).hexdigest()[:10]


def test_under_an_ascii_locale_a_utf8_name_is_an_error_row_saying_to_use_a_utf8_locale(tmp_path, video):
    _with_named_copy(tmp_path / "in", video, "café.mp4".encode())
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    got = subprocess.run([sys.executable, "-c", "import sys; print(sys.getfilesystemencoding())"], env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    if got.replace("-", "").lower() == "utf8":
        pytest.skip("this Python reads file names as UTF-8 whatever the locale")
    done = subprocess.run([sys.executable, "-m", "data_curation.cli", "run", "in", "--out", "out", "--workers", "0",
                           "--quiet"], env=env, cwd=tmp_path, capture_output=True, text=True, errors="replace")
    assert done.returncode == 0, done.stderr
    rows = {r["source"]: r for r in pq.read_table(tmp_path / "out" / "manifest.parquet").to_pylist()}
    assert set(rows) == {"in/ok.mp4", "in/café.mp4"}  # the name as it is on disk, readable
    assert rows["in/ok.mp4"]["error"] is None
    assert rows["in/café.mp4"]["error"] == (f"MediaError: in/café.mp4: file name is UTF-8 but this locale reads file "
                                            f"names as {got}: run curate under a UTF-8 locale (LC_ALL=C.UTF-8 or "
                                            "PYTHONUTF8=1)")
