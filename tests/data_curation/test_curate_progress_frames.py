"""``curate run``'s bar counts frames (each source weighs its header's count), not sources:
sources take 0.5-10 s each, so a bar of sources gave a wrong ETA, and a run of one long video sat
at 0/1 until it ended. The same bar with Ray (``_gather``) and ``--workers 0``; ``N/M sources``
stays as its postfix. These are the terminal's bar (pytest's capture is no terminal: the check is
made to answer yes); off a terminal, lines: test_curate_progress_lines.py."""

import re

import pytest

from data_curation.engine import record_lost_source, run
from data_curation.progress import FramesBar
from data_curation.ray_runner import _gather
from data_curation.recipe import load_recipe
from video.media import header_frames


@pytest.fixture(autouse=True)
def _terminal(monkeypatch):
    monkeypatch.setattr("data_curation.progress._is_tty", lambda stream: True)


@pytest.fixture()
def sources(tmp_path, pan):
    """A 1 s and a 4 s clip (10 and 40 frames), and a file that is no video."""
    d = tmp_path / "src"
    d.mkdir()
    short, long = pan(d / "short.mp4", 10), pan(d / "long.mp4", 40)
    bad = d / "bad.mp4"
    bad.write_bytes(b"not a video")
    return [str(short), str(long), str(bad)]


def _last_bar(err: str) -> str:
    return re.split(r"[\r\n]", err.strip())[-1]


def test_the_bar_weighs_each_source_by_its_frames(sources):
    total = sum(header_frames(p)[0] for p in sources[:2])
    assert total == 50
    with FramesBar(sources) as bar:
        bar.done(sources[1])  # may come before the header thread weighs it: counted once either way
        assert bar.bar.n == 40
        bar.done(sources[2])  # no video: no frames, but a source done
        bar.done(sources[0])
    assert (bar.bar.n, bar.bar.total, bar.finished) == (total, total, 3)
    quiet = FramesBar(sources, enabled=False)
    with quiet:
        quiet.done(sources[0])
    assert quiet.frames == {}  # --quiet reads no header


def test_curate_run_without_ray_shows_frames(sources, tmp_path, capsys):
    run(sources[:2], tmp_path / "out", "quick", workers=0, progress=True)
    last = _last_bar(capsys.readouterr().err)
    assert "frames: 100%" in last and " 50/50 [" in last and "2/2 sources" in last, last


def test_ray_gather_shows_frames(sources, tmp_path, capsys):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir="/tmp/ray_progress_frames", log_to_driver=False)
    try:
        def process(path, recipe, out_dir):  # a closure: Ray ships it by value
            return {"path": path, "rows": 1, "failed": 0}

        _gather(sources, load_recipe("quick"), str(tmp_path), True, process, record_lost_source)
    finally:
        ray.shutdown()
    last = _last_bar(capsys.readouterr().err)
    assert "frames: 100%" in last and " 50/50 [" in last and "3/3 sources" in last, last
