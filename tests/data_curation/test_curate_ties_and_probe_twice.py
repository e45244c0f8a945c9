"""Two small things of ``curate``: the failure line called one of several errors seen equally
often "most often" (two broken files, one error each: "most often (1x): ..."), and ``curate
probe src ./src/a.mp4`` printed a.mp4 twice where ``curate run`` scores it once."""

from __future__ import annotations

import json

from data_curation.cli import failure_line, main

BASE = {"failed": 2, "sources": 2, "clips_failed": 0, "clips": 0}


def test_a_tie_names_no_error_most_often():
    two = failure_line({**BASE, "errors": {"MediaError: a": 1, "MediaError: b": 1}})
    assert two.endswith("; 2 different errors, 1x each: MediaError: a | MediaError: b"), two
    three = failure_line({**BASE, "failed": 8, "errors": {"E: a": 2, "E: b": 2, "E: c": 2}})  # a fourth may tie
    assert three.endswith("; several different errors, 2x each, among them: E: a | E: b | E: c"), three
    only = failure_line({**BASE, "failed": 6, "errors": {"E: a": 2, "E: b": 2, "E: c": 2}})  # no fourth
    assert only.endswith("; 3 different errors, 2x each: E: a | E: b | E: c"), only
    one_more = failure_line({**BASE, "failed": 4, "clips_failed": 3, "clips": 9,
                             "errors": {"E: a": 2, "E: b": 2, "E: c": 2}})  # the 7th error row: a 4th, 1x
    assert one_more.endswith("; 3 different errors, 2x each: E: a | E: b | E: c"), one_more
    lead = failure_line({**BASE, "errors": {"E: a": 3, "E: b": 1, "E: c": 1}})
    assert lead.endswith("; most often (3x): E: a"), lead
    pair = failure_line({**BASE, "errors": {"E: a": 3, "E: b": 3, "E: c": 1}})
    assert pair.endswith("; 2 different errors, 3x each: E: a | E: b"), pair


def test_probe_prints_a_file_named_twice_once(tmp_path, pan, capsys, monkeypatch):
    (tmp_path / "src").mkdir()
    pan(tmp_path / "src" / "a.mp4")
    monkeypatch.chdir(tmp_path)
    assert main(["probe", "src", "./src/a.mp4"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(rows) == 1, rows
