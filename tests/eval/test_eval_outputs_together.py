"""``metrics.json`` and ``report.html`` are one result: a run killed while the report renders
(plots and frame strips: seconds) must not leave its new metrics beside the last run's report."""

from __future__ import annotations

import json

import pytest

import eval.report
from eval.runner import evaluate
from video.media import write_video


class Killed(BaseException):
    """What a kill looks like at that point: nothing after it runs in the program's own code."""


def test_a_run_killed_while_rendering_the_report_changes_neither_file(tmp_path, bikes_frames, monkeypatch):
    gen, out = tmp_path / "gen", tmp_path / "out"
    write_video(bikes_frames[:6], gen / "a.mp4", fps=7)
    evaluate(gen, out=out, log=lambda m: None)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(before) == ["metrics.json", "report.html"]

    write_video(bikes_frames[10:16], gen / "b.mp4", fps=7)  # the next run has another video

    def killed(*a, **k):
        raise Killed

    monkeypatch.setattr(eval.report, "render_html", killed)
    with pytest.raises(Killed):
        evaluate(gen, out=out, log=lambda m: None)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    monkeypatch.undo()
    evaluate(gen, out=out, log=lambda m: None)
    assert list(json.loads((out / "metrics.json").read_text())["videos"]) == ["a", "b"]
    assert "<h3>b</h3>" in (out / "report.html").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "report.html"]
