"""An OUT folder named relatively with a colon in its first part (a timestamped
``curated-2024-06-01T12:00``) is written, filtered, reported and read for training like any
other: pyarrow took ``curated-2024-06-01T12:00/...`` for a URI of scheme ``curated-2024-06-01T12``
("Unrecognized filesystem type in URI"), so the run failed writing its first part, and the
manifest's run folder was silently lost where it was read."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from data_curation.cli import main
from data_curation.manifest import RUN_DIR_KEY, media_bases, parquet_metadata, read_parquet
from video.media import ffmpeg_exe

OUT = "curated-2024-06-01T12:00"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A folder with ``src/cuts.mp4`` (3 s, one shot) and ``OUT``, curated from inside it with
    both named relatively (the form pyarrow misread), single-process."""
    root = tmp_path_factory.mktemp("colon_out")
    (root / "src").mkdir()
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=64x48:rate=10:duration=3", "-pix_fmt", "yuv420p", str(root / "src" / "cuts.mp4")],
                   check=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert main(["run", "src/cuts.mp4", "--out", OUT, "--workers", "0", "--quiet",
                     "--set", "split.min_s=1", "--set", "split.max_s=1"]) == 0
    return root


def test_curate_run_filter_and_report_take_a_relative_out_folder_with_a_colon(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    rows = read_parquet(f"{OUT}/manifest.parquet").to_pylist()
    assert len(rows) == 3 and all(r["error"] is None and r["source"] == "src/cuts.mp4" for r in rows), rows
    assert main(["run", "src/cuts.mp4", "--out", OUT, "--workers", "0", "--quiet",  # the rerun reads the part
                 "--set", "split.min_s=1", "--set", "split.max_s=1"]) == 0
    assert '"skipped": 1' in capsys.readouterr().out
    assert main(["filter", OUT, "--recipe", "quick"]) == 0, capsys.readouterr().err
    assert main(["report", OUT]) == 0, capsys.readouterr().err
    assert (project / OUT / "report.html").is_file()


def test_the_run_folder_is_read_back_from_a_relative_colon_path(project, monkeypatch):
    monkeypatch.chdir(project / "src")  # elsewhere: the recorded run folder is what finds src/cuts.mp4
    manifest = Path("..") / OUT / "manifest.parquet"
    assert parquet_metadata(manifest, RUN_DIR_KEY) == str(project)
    monkeypatch.chdir(project)
    manifest = Path(OUT) / "manifest.parquet"
    assert parquet_metadata(manifest, RUN_DIR_KEY) == str(project)
    assert media_bases(manifest)[0] == project


def test_training_and_eval_read_a_manifest_under_a_relative_colon_path(project, monkeypatch):
    from eval.curated import curated_clips
    from video.training.data import ManifestClips
    from video.training.manifest_rows import manifest_file

    monkeypatch.chdir(project)
    assert manifest_file(OUT) == Path(OUT) / "manifest.parquet"
    kept = sum(r["keep"] for r in read_parquet(f"{OUT}/manifest.parquet").to_pylist())
    ds = ManifestClips(OUT, frames=1, height=8, width=8, drop_short=False)
    assert len(ds) == kept >= 1 and ds.run_dir == str(project)
    assert ds.media_path(0).resolve() == project / "src" / "cuts.mp4"
    assert len(curated_clips(Path(OUT))) == kept
