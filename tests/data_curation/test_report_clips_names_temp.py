"""``curate report`` after the raw sources are gone, with same-named sources in two folders, and
with two reports written at once: the contact sheet falls back to the extracted clip file
(``split.extract``; it said "could not be read ... FileNotFoundError" though the clip was in
OUT/clips), captions and the error list name a source by its path under the sources' common
folder (``a/clip.mp4`` and ``b/clip.mp4`` both read ``clip.mp4``), and the page is written by
:func:`video.atomic.atomic_file` (a fixed ``.report.html.partial`` made two writers take each
other's temporary, and the slower one failed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from data_curation.engine import run
from data_curation.montage import Segment, build_montage


def _lavfi(path: Path, graph: str = "testsrc2=size=64x48:rate=8:duration=3") -> Path:
    import imageio_ffmpeg

    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", graph,
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def test_report_sheet_reads_the_extracted_clip_when_the_source_is_gone(tmp_path, monkeypatch):
    from data_curation import report
    from data_curation.manifest import media_bases
    from video.media import read_grid_frames

    monkeypatch.chdir(tmp_path)
    # two shots with a hard cut: the second clip starts at frame 24, so an index taken on the
    # source's grid (36) is not the clip's middle (12)
    build_montage([Segment("lavfi:testsrc2", 24), Segment("lavfi:mandelbrot", 24)], tmp_path / "src" / "m.mp4",
                  width=64, height=48, fps=8)
    run("src", "out", "quick", ["split.extract=true"], workers=0, progress=False)
    rows = pq.read_table(tmp_path / "out" / "manifest.parquet").to_pylist()
    clips = [r for r in rows if r.get("clip_path")]
    assert len(clips) == 2 and clips[1]["start_frame"] > 0, [(r["start_frame"], r["clip_path"]) for r in rows]
    # the reference: the middle frames read from the source itself
    want = [read_grid_frames("src/m.mp4", [(r["start_frame"] + r["end_frame"]) // 2], r["fps"])[0] for r in clips]

    shutil.move(tmp_path / "src", tmp_path / "archived")
    bases = media_bases(tmp_path / "out" / "manifest.parquet")
    failures: list[str] = []
    got = [report._middle_frame(r, bases, failures, {}) for r in clips]
    assert not failures, failures
    for r, g, w in zip(clips, got, want, strict=True):
        diff = np.abs(g.astype(int) - w.astype(int)).mean()
        assert diff < 6, (r["clip_path"], diff)  # the same frame, maybe re-encoded

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page = report.write_report("out").read_text()
    assert not [str(x.message) for x in caught if "could not be read" in str(x.message)]
    assert "could not be read" not in page and page.count("<figure") == 2


def test_report_names_sources_by_their_folder(tmp_path, monkeypatch):
    from data_curation.report import write_report

    monkeypatch.chdir(tmp_path)
    _lavfi(tmp_path / "src" / "a" / "clip.mp4")
    _lavfi(tmp_path / "src" / "b" / "clip.mp4", "smptebars=size=64x48:rate=8:duration=3")
    for bad in ("c", "d"):  # two unreadable sources of one name: two error rows
        (tmp_path / "src" / bad).mkdir()
        (tmp_path / "src" / bad / "clip.mp4").write_bytes(b"not a video at all" * 10)
    run(str(tmp_path / "src"), "out", "quick", [], workers=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = write_report("out").read_text()
    captions = [c.split(" ")[0] for c in page.split("<figcaption>")[1:]]
    assert sorted(captions) == ["a/clip.mp4", "b/clip.mp4"], captions
    errors = page.split("<h2>Errors</h2>")[1]
    assert "<li>c/clip.mp4: " in errors and "<li>d/clip.mp4: " in errors, errors


WRITER = """
import pathlib, sys, time
out, flag, go = map(pathlib.Path, sys.argv[1:4])
write = pathlib.Path.write_text
def slow(self, *a, **k):  # the page is written to its temporary; wait there for the other report
    n = write(self, *a, **k)
    flag.touch()
    while not go.exists():
        time.sleep(0.05)
    return n
pathlib.Path.write_text = slow
from data_curation.report import write_report
write_report(out)
"""


def test_two_reports_at_once_each_have_their_own_temporary(tmp_path, monkeypatch):
    from data_curation.report import write_report

    monkeypatch.chdir(tmp_path)
    _lavfi(tmp_path / "src" / "a.mp4")
    run("src", "out", "quick", [], workers=0, progress=False)
    flag, go = tmp_path / "flag", tmp_path / "go"
    slow = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "out"), str(flag), str(go)],
                            cwd=Path(__file__).resolve().parents[2], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not flag.exists():
            assert slow.poll() is None and time.time() < deadline, slow.stderr.read() if slow.stderr else ""
            time.sleep(0.05)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write_report(tmp_path / "out")  # while the other one waits with its page half done
        go.touch()
        _, err = slow.communicate(timeout=120)
    finally:
        if slow.poll() is None:
            slow.kill()
    assert slow.returncode == 0, err
    assert "<figure" in (tmp_path / "out" / "report.html").read_text()
    assert not [p.name for p in (tmp_path / "out").iterdir() if "partial" in p.name]
