"""``curate run ... 2> log.txt``: off a terminal the bar's redraws were ``\\r``-joined states on
one endless line of the log. Now plain lines ending in a newline: at most one every
``LOG_EVERY_S``, and one at the end."""

from __future__ import annotations

import subprocess
import sys

import data_curation.progress as progress
from data_curation.progress import FramesBar
from video.media import header_frames


def test_a_run_into_a_pipe_writes_newline_ended_lines(tmp_path, pan):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        pan(src / f"p{i}.mp4")
    p = subprocess.run([sys.executable, "-m", "data_curation.cli", "run", str(src), "--out", str(tmp_path / "o"),
                        "--workers", "0"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "\r" not in p.stderr and p.stderr.endswith("\n")
    lines = [x for x in p.stderr.splitlines() if x.startswith("frames")]
    frames = 3 * header_frames(src / "p0.mp4")[0]
    assert len(lines) == 1, p.stderr  # a run shorter than LOG_EVERY_S: the end's line only
    assert lines[0].startswith(f"frames: {frames}/{frames} (100%), 3/3 sources, "), lines


def test_lines_come_no_more_often_than_log_every_s(tmp_path, pan, capsys, monkeypatch):
    sources = [str(pan(tmp_path / f"p{i}.mp4", 10 * (i + 1))) for i in range(3)]
    clock = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    with FramesBar(sources) as bar:
        bar._thread.join(30)  # every header read: the total is whole from the first line
        for p, step in zip(sources, (10.0, 25.0, 1.0), strict=True):  # 10 s, 35 s, 36 s after the start
            clock[0] += step
            bar.done(p)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["frames: 30/60 (50%), 2/3 sources, 35 s", "frames: 60/60 (100%), 3/3 sources, 36 s"], lines
