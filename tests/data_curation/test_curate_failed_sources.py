"""Sources that fail in ``curate run`` and ``curate probe``: a run where every source failed
exits 1 and counts their errors; a source failed by the machine (a missing package, an OS
error) is tried again on a rerun, one failed by its content is not; probe and run call an image
renamed ``.mp4`` the same; a local Ray run counts its sources on a bar and prints neither Ray's
token-authentication notice nor Ray Data's progress lines."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from data_curation.cli import main
from data_curation.engine import RAY_AUTH_LOGGER, quiet_token_auth, retry_error, run, score_source
from data_curation.recipe import load_recipe


def _jpeg_as_mp4(path: Path) -> Path:
    """A photo renamed ``.mp4``: FFmpeg probes it as a one-frame ``jpeg_pipe`` "video"."""
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(path.with_suffix(".jpg"))
    os.replace(path.with_suffix(".jpg"), path)
    return path


def _broken_sources(d: Path) -> Path:
    d.mkdir()
    (d / "empty.mp4").write_bytes(b"")
    _jpeg_as_mp4(d / "photo.mp4")
    return d


def test_a_run_where_every_source_failed_exits_1_and_counts_their_errors(tmp_path, capsys, pan):
    src = _broken_sources(tmp_path / "src")
    assert main(["run", str(src), "--out", str(tmp_path / "out"), "--workers", "0", "--quiet"]) == 1
    cap = capsys.readouterr()
    s = json.loads(cap.out)
    assert (s["failed"], s["clips"]) == (2, 0)
    # counted without their paths: the same failure of many files is one entry
    assert s["errors"] == {"MediaError: empty file (0 bytes), not a video": 1,
                           "MediaError: not a video (an image: jpeg_pipe, mjpeg)": 1}
    assert "2 of 2 sources failed" in cap.err and "2 different errors, 1x each: MediaError:" in cap.err
    pan(src / "pan.mp4")  # one good source: the run did its work
    assert main(["run", str(src), "--out", str(tmp_path / "out"), "--workers", "0", "--quiet"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["failed"], s["clips"], s["clips_failed"]) == (2, 1, 0)


def test_a_source_failed_by_a_missing_package_is_tried_again(tmp_path, monkeypatch, pan):
    """cv2 is imported lazily by cut detection: without it every source is an error row. Once
    it is back, a rerun scores them (they were skipped for good); an empty file, a content
    error of an unchanged file, stays skipped."""
    src = tmp_path / "src"
    src.mkdir()
    pan(src / "pan.mp4")
    (src / "empty.mp4").write_bytes(b"")
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "cv2", None)  # Python's own way of saying "not installed"
        first = run([str(src)], out, "quick", workers=0, progress=False)
    assert (first["failed"], first["clips"]) == (2, 0)
    assert any(k.startswith("ModuleNotFoundError:") and "cv2" in k for k in first["errors"])
    again = run([str(src)], out, "quick", workers=0, progress=False)
    assert (again["processed"], again["skipped"], again["retried"], again["changed"]) == (1, 1, 1, 0)
    assert (again["failed"], again["clips"], again["clips_failed"]) == (1, 1, 0)
    df = pd.read_parquet(out / "manifest.parquet")
    assert df[df.source.str.endswith("pan.mp4")].error.isna().all()
    third = run([str(src)], out, "quick", workers=0, progress=False)
    assert (third["processed"], third["retried"]) == (0, 0)


def test_an_os_error_under_a_media_error_is_recorded_as_itself(tmp_path):
    """FFmpeg's OS-level failures (here: a folder named like a video; permission denied, an I/O
    error alike) were recorded as "MediaError: ... not a readable video (...)", which a rerun
    takes for bad content."""
    (tmp_path / "folder.mp4").mkdir()
    rows = score_source(str(tmp_path / "folder.mp4"), load_recipe("quick"), tmp_path / "out")
    assert len(rows) == 1 and rows[0]["error"].startswith("IsADirectoryError: ")
    assert retry_error(rows[0]["error"])
    assert not retry_error("MediaError: a.mp4: empty file (0 bytes), not a video")
    assert retry_error("ModuleNotFoundError: No module named 'cv2'")
    # rows of earlier versions wrapped a machine error in MediaError: tried again too
    assert retry_error("MediaError: /d/a.mp4: not a readable video (PermissionError)")
    assert retry_error("MediaError: /d/a.mp4: not a readable video (OSError)")
    assert not retry_error("MediaError: /d/a.mp4: not a readable video (InvalidDataError)")


def test_probe_calls_an_image_no_video_as_run_does(tmp_path, capsys):
    photo = _jpeg_as_mp4(tmp_path / "photo.mp4")
    assert main(["probe", str(photo)]) == 1
    row = json.loads(capsys.readouterr().out)
    assert (row["container"], row["num_frames"]) == ("jpeg_pipe", 1)  # what it is stays shown
    assert row["error"] == f"{photo}: not a video (an image: jpeg_pipe, mjpeg)"
    (err,) = [r["error"] for r in score_source(str(photo), load_recipe("quick"), tmp_path / "out")]
    assert err == f"MediaError: {row['error']}"


def test_the_token_notice_filter_lets_the_other_records_through():
    log = logging.getLogger(RAY_AUTH_LOGGER)

    def rec(msg: str) -> logging.LogRecord:
        return log.makeRecord(log.name, logging.WARNING, __file__, 1, msg, None, None)

    notice = rec("Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out.")
    other = rec("Token authentication is disabled for this Ray cluster. Anyone with network access ...")
    with quiet_token_auth():
        assert not log.filter(notice) and log.filter(other)
    assert log.filter(notice)  # only while our session starts


def test_a_local_ray_run_counts_sources_and_prints_no_ray_notices(src, tmp_path):
    # one Ray start for all of it (each costs ~8 s): two sources on two workers, progress on
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(src / "pan.mp4", two / name)
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "RAY_ADDRESS")}
    p = subprocess.run([sys.executable, "-m", "data_curation.cli", "run", str(two), "--out", str(tmp_path / "o"),
                        "--workers", "2"], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["clips"] == 2
    assert "Token authentication" not in p.stderr, p.stderr
    # the frames bar of --workers 0, counted as Ray's results come back (2 x 30 frames); not Ray
    # Data's own lines, nor its hint to turn on a "new progress UI" that curate's user cannot act on
    bars = [b for b in re.split(r"[\r\n]", p.stderr) if b.startswith("frames:")]
    assert bars and "frames: 60/60 (100%), 2/2 sources" in bars[-1], p.stderr  # off a terminal: a line
    for ray_line in ("progress UI", "Map(", "Total Progress", "enable_rich_progress_bars"):
        assert ray_line not in p.stderr, p.stderr
