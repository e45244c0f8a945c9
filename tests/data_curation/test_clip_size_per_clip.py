"""A clip's ``width`` and ``height`` are its own frames' size. A stream whose picture changes
size (a 320x240 part and a 426x240 part joined by ffmpeg's concat demuxer, ``-c copy``) is cut
into a shot each, but both clips had the container header's 320x240. Where the size is the
header's, nothing more is decoded for it."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest

FPS = 8


def _ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *args], check=True)


def _part(path: Path, source: str, size: str) -> Path:
    _ffmpeg("-f", "lavfi", "-i", f"{source}=size={size}:rate={FPS}", "-t", "3", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", str(path))
    return path


@pytest.fixture(scope="module")
def concat(tmp_path_factory) -> Path:
    """testsrc2 at 320x240, then mandelbrot at 426x240, one mp4 by the concat demuxer's stream copy."""
    d = tmp_path_factory.mktemp("sizes")
    a, b = _part(d / "a.mp4", "testsrc2", "320x240"), _part(d / "b.mp4", "mandelbrot", "426x240")
    (d / "list.txt").write_text(f"file '{a}'\nfile '{b}'\n")
    (d / "src").mkdir()
    _ffmpeg("-f", "concat", "-safe", "0", "-i", str(d / "list.txt"), "-c", "copy", str(d / "src" / "ab.mp4"))
    return d / "src" / "ab.mp4"


def _frame_sizes(path: Path) -> list[tuple[int, int]]:
    """Every decoded frame's (width, height), in order: the reference, read apart from curate."""
    import av

    with av.open(str(path)) as c:
        return [(f.width, f.height) for f in c.decode(video=0)]


def test_each_clip_has_its_own_frames_size(concat, tmp_path):
    from data_curation.engine import run
    from video.media import probe_video

    sizes = _frame_sizes(concat)
    assert sizes[0] == (320, 240) and sizes[-1] == (426, 240)
    assert (probe_video(concat, count=False)["width"], probe_video(concat, count=False)["height"]) == (320, 240)
    (tmp_path / "r.yaml").write_text("name: sizes\nscorers: [motion]\nmax_phash_distance: null\nrules: []\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run([str(concat.parent)], tmp_path / "out", str(tmp_path / "r.yaml"), [], workers=0, progress=False)
    clips = [r for r in pq.read_table(tmp_path / "out" / "manifest.parquet").to_pylist() if r["start_frame"] is not None]
    assert len(clips) == 2 and all(r["error"] is None for r in clips)
    for r in clips:
        (own,) = set(sizes[r["start_frame"]:r["end_frame"]])
        assert (r["width"], r["height"]) == own, r["clip_id"]
    assert [(r["width"], r["height"]) for r in clips] == [(320, 240), (426, 240)]


@pytest.mark.parametrize("size, rotate", [("320x240", None), ("1282x722", None), ("320x240", "90")])
def test_a_clip_of_the_headers_size_decodes_nothing_more(tmp_path, monkeypatch, size, rotate):
    """The normal case, kept at no cost: a small, a large (key frames scaled) and a turned source."""
    import video.media
    from data_curation.clip_frames import read_clip
    from data_curation.probe import clip_size
    from video.media import probe_video

    path = _part(tmp_path / "plain.mp4", "testsrc2", size)
    if rotate:
        _ffmpeg("-display_rotation", rotate, "-i", str(path), "-c", "copy", str(tmp_path / "turned.mp4"))
        path = tmp_path / "turned.mp4"
    info = probe_video(path, count=False)
    assert info["rotation"] % 180 == (90 if rotate else 0)
    keys = read_clip(str(path), 0, 2 * FPS, FPS).keys
    calls = []
    real = video.media.grid_frames
    monkeypatch.setattr(video.media, "grid_frames", lambda *a, **k: calls.append(a) or real(*a, **k))
    w, h = (int(v) for v in size.split("x"))
    assert clip_size(str(path), 0, FPS, keys[0].shape, info) == (w, h) == _frame_sizes(path)[0]
    assert calls == []
    # a key frame of another shape is measured: the clip's first frame is decoded once
    assert clip_size(str(path), FPS, FPS, (1, 1, 3), info) == (w, h) and len(calls) == 1
