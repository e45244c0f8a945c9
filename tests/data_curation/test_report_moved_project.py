"""A curated project moved as a whole (its sources stored relative to the folder ``curate run``
ran in, OUT inside it) still finds its media from elsewhere: ``curate report``'s contact sheets
and eval's key frames look where training looks (:func:`data_curation.manifest.media_bases`),
not only in the recorded run folder and the working folder (the report dropped every sheet
frame with a warning, eval said "neither clip_path nor source is a file here")."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import pyarrow.parquet as pq
import pytest


@pytest.fixture()
def moved(tmp_path, monkeypatch):
    """``curate run videos/a.mp4 --out out`` run inside ``proj``, then ``proj`` moved to ``moved``
    and the working folder elsewhere: the manifest's OUT folder."""
    import imageio_ffmpeg

    from data_curation.cli import main

    proj = tmp_path / "proj"
    (proj / "videos").mkdir(parents=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=64x48:rate=8:duration=3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(proj / "videos" / "a.mp4")], check=True)
    monkeypatch.chdir(proj)
    assert main(["run", "videos/a.mp4", "--out", "out", "--recipe", "quick", "--workers", "0", "--quiet"]) == 0
    assert [r["source"] for r in pq.read_table(proj / "out" / "manifest.parquet").to_pylist()] == ["videos/a.mp4"]
    shutil.move(proj, tmp_path / "moved")
    (tmp_path / "else").mkdir()
    monkeypatch.chdir(tmp_path / "else")
    return tmp_path / "moved" / "out"


def test_curate_report_finds_a_moved_projects_media(moved):
    from data_curation.report import write_report

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        page = write_report(moved).read_text()
    assert not [str(x.message) for x in w if "could not be read" in str(x.message)]
    assert "could not be read" not in page and "<figure" in page


def test_eval_key_frames_find_a_moved_projects_media(moved):
    from eval.dataset import key_frame

    row = pq.read_table(moved / "manifest.parquet").to_pylist()[0]
    assert key_frame(row, moved / "manifest.parquet").shape == (48, 64, 3)
