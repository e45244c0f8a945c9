"""A manifest's rows are read column by column, each distinct media path resolved and looked for
once and each file's header read once: row by row (a DataFrame lookup per row and per
property, every path resolved again per row) a 50k-row manifest over six files took 11 s to
open and 24 s more to bucket. The items, spans, frame counts, media files and sizes are those
the row-by-row reading gave (computed here per row, by its formulas, as the reference)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic
from video.training.buckets import Bucketed
from video.training.data import ManifestClips
from video.training.manifest_clips import file_pixel_aspect


def ffmpeg(path: Path, size: str, rate: int, seconds: float, *args: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"testsrc=size={size}:rate={rate}", "-t", str(seconds), *args, "-c:v", "libx264", "-pix_fmt",
                    "yuv420p", str(path)], check=True)


def row(source: str, fps: float, width: int, height: int, start: int, end: int, rotation=0, **tail) -> dict:
    return {"source": source, "clip_id": f"{source}:{start}", "start_frame": start, "end_frame": end, "fps": fps,
            "width": width, "height": height, "rotation": rotation, "num_frames": end - start, "keep": True,
            "error": None, **tail}


@pytest.fixture
def manifest(tmp_path, monkeypatch):
    """Several rows per source, relative paths (curate ran in ``proj/``, training runs
    elsewhere): an anamorphic 30 fps source (SAR 4:3), a 24 fps source a phone turned (coded
    160x90, rotation 90 or -90), one source under two spellings, extracted clips (one of
    them turned), a dropped row, missing rotations, captions and motion."""
    proj = tmp_path / "proj"
    ffmpeg(proj / "src" / "wide.mp4", "120x90", 30, 2, "-vf", "setsar=4/3")
    ffmpeg(proj / "src" / "turned.mp4", "160x90", 24, 2)
    for name in ("c0", "c1"):
        ffmpeg(proj / "out" / "clips" / f"{name}.mp4", "32x32", 8, 2)
    wide, turned = ("src/wide.mp4", 30.0, 120, 90), ("src/turned.mp4", 24.0, 160, 90)
    rows = [row(*wide, start=0, end=60, caption="whole", motion_mean=1.5),
            row(*wide, start=10, end=20, caption=" padded ", motion_mean=None),
            row(*wide, start=30, end=31, rotation=None, caption=None, motion_mean=0.25),
            row(*wide, start=5, end=59, rotation=180),
            row("./src/wide.mp4", 30.0, 120, 90, 20, 50),
            row(*turned, start=0, end=48, rotation=90, caption="up"),
            row(*turned, start=12, end=40, rotation=-90),
            row(*turned, start=40, end=47, rotation=270),
            {**row(*turned, start=1, end=9, rotation=90), "keep": False},
            row("src/turned.mp4", 24.0, 160, 90, 0, 16, clip_path="out/clips/c0.mp4", caption="clip 0"),
            {**row("src/turned.mp4", 24.0, 32, 32, 16, 19, rotation=90, clip_path="out/clips/c1.mp4"),
             "num_frames": 3}]
    path = proj / "out" / "manifest.parquet"
    write_atomic(to_table(rows, {"motion_mean": "float64", "caption": "string", "clip_path": "string"}), path,
                 {RUN_DIR_KEY: str(proj)})
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return path


def reference(manifest: Path, frames: int | None) -> list[dict]:
    """Per kept row, by the row-by-row formulas: span, frames at 8 fps, media file, shown size,
    caption and motion; rows shorter than ``frames`` left out (None: none)."""
    from data_curation.manifest import read_parquet

    proj = manifest.parent.parent
    out = []
    for r in read_parquet(manifest).to_pylist():
        if not r["keep"]:
            continue
        clip = r.get("clip_path")
        start, end = (0, r["num_frames"]) if clip else (r["start_frame"], r["end_frame"])
        n = int((end - start - 1) // max(1.0, r["fps"] / 8.0)) + 1
        if frames is not None and n < frames:
            continue
        media = (proj / clip) if clip else (proj / r["source"])
        turned = r["rotation"] is not None and int(r["rotation"]) % 180 == 90
        h, w = (r["width"], r["height"]) if turned else (r["height"], r["width"])
        aspect = file_pixel_aspect(media, turned and not clip)  # clip files are written upright
        out.append({"plan": {"media": str(media), "by_reference": not clip, "start": start, "end": end,
                             "fps": r["fps"], "caption": (r["caption"] or "").strip(),
                             "motion": r["motion_mean"]},
                    "size": (n, h, max(1, round(w * aspect)))})
    return out


@pytest.mark.parametrize("frames", [None, 8])
def test_items_spans_and_sizes_are_the_row_by_row_ones(manifest, frames):
    ref = reference(manifest, frames)
    clips = ManifestClips(manifest, frames=frames or 1, height=16, width=16, fps=8.0, drop_short=frames is not None)
    assert len(clips) == len(ref) and clips.short == (0 if frames is None else 10 - len(ref))
    got = [{"plan": clips._plan(i), "size": clips.native_size(i)} for i in range(len(clips))]
    assert [Path(g["plan"]["media"]).resolve() for g in got] == [Path(r["plan"]["media"]).resolve() for r in ref]
    for g, r in zip(got, ref, strict=True):
        g["plan"]["media"] = str(Path(g["plan"]["media"]).resolve())
        r["plan"]["media"] = str(Path(r["plan"]["media"]).resolve())
    assert got == ref
    if frames is None:  # the formulas' values, stated: wide shown 160x90 (SAR 4:3), turned upright 90x160
        assert [g["size"] for g in got] == [(16, 90, 160), (3, 90, 160), (1, 90, 160), (15, 90, 160), (8, 90, 160),
                                            (16, 160, 90), (10, 160, 90), (3, 160, 90), (6, 90, 160), (1, 32, 32)]
        assert [clips.pixel_aspect(i) for i in range(len(clips))] == [4 / 3] * 5 + [1.0] * 5
        assert [clips.media_path(i) for i in (0, 4)] == [manifest.parent.parent / "src" / "wide.mp4"] * 2
        assert clips.row_key(0) != clips.row_key(1) and clips.row_key(2) != clips.row_key(3)


def test_each_distinct_file_is_looked_for_and_read_once(manifest, monkeypatch):
    """200 rows over 3 files: the files are looked for and their headers read a few times in
    all, not once or more per row."""
    from data_curation.manifest import read_parquet

    rows = [r for r in read_parquet(manifest).to_pylist() if r["keep"] and not r.get("clip_path")] * 25
    write_atomic(to_table(rows, {"motion_mean": "float64", "caption": "string", "clip_path": "string"}), manifest,
                 {RUN_DIR_KEY: str(manifest.parent.parent)})
    looked, headers = [], []
    exists, aspect = Path.exists, file_pixel_aspect

    def counted_exists(self, *a, **k):
        looked.append(self)
        return exists(self, *a, **k)

    def counted_aspect(path, turned=False):
        headers.append(path)
        return aspect(path, turned)

    monkeypatch.setattr(Path, "exists", counted_exists)
    monkeypatch.setattr("video.training.manifest_clips.file_pixel_aspect", counted_aspect)
    clips = ManifestClips(manifest, frames=1, height=16, width=16, fps=8.0, drop_short=False)
    bucketed = Bucketed(clips, [[16, 32], [32, 16]], [1, 8])
    assert len(clips) == len(bucketed) == 200
    assert len(looked) <= 12, len(looked)  # 3 spellings of 2 files: resolved (a base or two) and checked once each
    assert sorted(p.name for p in headers) == ["turned.mp4", "wide.mp4"]  # once per file (and turn)
