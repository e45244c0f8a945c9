"""A source named with a colon (a camera's ``2024-05-01T10:30:00.mp4``) is read, cut, scored and
split like any other: FFmpeg took ``NAME:rest`` for protocol NAME, and every clip of it was an
error row (``ProtocolNotFoundError``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq

from data_curation.cli import main
from video.media import ffmpeg_exe


def test_a_source_with_a_colon_in_its_name_is_curated_as_its_plain_named_copy(tmp_path, monkeypatch, capsys):
    src = tmp_path / "src"
    src.mkdir()
    monkeypatch.chdir(src)  # named relatively in the folder: the form FFmpeg misread
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=96x64:rate=10:duration=3", "-pix_fmt", "yuv420p", "file:2024-05-01T10:30:00.mp4"],
                   check=True)
    shutil.copy("2024-05-01T10:30:00.mp4", "plain.mp4")
    out = tmp_path / "o"
    assert main(["run", "--out", str(out), "--workers", "0", "--quiet", "--set", "split.min_s=1",
                 "--set", "split.max_s=1", "--set", "split.extract=true", "."]) == 0, capsys.readouterr().err
    t = pq.read_table(out / "manifest.parquet").to_pylist()
    assert [r["error"] for r in t] == [None] * len(t), t
    spans = {name: sorted((r["start_frame"], r["end_frame"]) for r in t if Path(r["source"]).name == name)
             for name in ("2024-05-01T10:30:00.mp4", "plain.mp4")}
    assert spans["2024-05-01T10:30:00.mp4"] == spans["plain.mp4"] != []
    for r in t:  # the clip files were written under their names and read back
        assert (Path(r["clip_path"]) if Path(r["clip_path"]).is_absolute() else src / r["clip_path"]).is_file()
