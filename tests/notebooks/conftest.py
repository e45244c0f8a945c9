"""Tiny data the notebooks run on: short mp4s made by ``video.media.write_video`` and a curation
manifest written with pyarrow in the manifest's column layout."""

from __future__ import annotations

import numpy as np
import pytest

FPS = 10.0


def write_lossless(frames: np.ndarray, path, fps: float = FPS):
    """``write_video`` at crf 0 (lossless: key frames are exact), without its warning that
    browsers cannot play such a file, which is meant for people, not these fixtures."""
    import warnings

    from video.media import write_video

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*--crf 0 is lossless", category=UserWarning)
        return write_video(frames, path, fps=fps, crf=0)


@pytest.fixture()
def lossless():
    """:func:`write_lossless`, for tests that make their own clips."""
    return write_lossless


def ramp(n: int, h: int = 48, w: int = 64, step: int = 8, offset: int = 0) -> np.ndarray:
    """Frame i is a flat grey of value offset + step * i, with a moving bar: key frames are known."""
    frames = np.stack([np.full((h, w, 3), offset + step * i, np.uint8) for i in range(n)])
    for i in range(n):
        frames[i, :, (2 * i) % w : (2 * i) % w + 4] = 255
    return frames


@pytest.fixture(scope="session")
def curated(tmp_path_factory):
    """(manifest path, rows): two real sources, clips as frame ranges, one extracted clip file,
    one kept, some dropped, one error row."""
    import pyarrow as pa
    import pyarrow.parquet as pq


    d = tmp_path_factory.mktemp("curated")
    write_lossless(ramp(30), d / "src_a.mp4")
    write_lossless(ramp(20, offset=40), d / "src_b.mp4")
    write_lossless(ramp(20, offset=40)[5:15], d / "clips" / "b_5_15.mp4")

    def row(src, start, end, motion, sharp, aesthetic, keep, reason=None, clip_path=None, error=None):
        return {"source": src, "clip_id": f"{src.split('.')[0]}_{start:06d}_{end:06d}", "start_frame": start,
                "end_frame": end, "start_s": start / FPS, "end_s": end / FPS, "fps": FPS, "width": 64, "height": 48,
                "rotation": 0, "num_frames": end - start, "source_frames": 30, "motion_mean": motion, "sharpness": sharp,
                "brightness": 0.4, "text_area": 0.0, "aesthetic": aesthetic, "caption": f"a clip of {src}",
                "clip_path": clip_path, "keep": keep, "drop_reason": reason, "error": error}

    rows = [row("src_a.mp4", 0, 10, 0.9, 120.0, 5.5, True),
            row("src_a.mp4", 10, 20, 0.1, 80.0, 4.0, False, "motion_mean<0.2"),
            row("src_a.mp4", 20, 30, 1.5, 150.0, 6.0, True),
            row("src_b.mp4", 5, 15, 0.7, 60.0, 5.0, True, clip_path="clips/b_5_15.mp4"),
            {**row("broken.mp4", 0, 0, None, None, None, False, error="MediaError: not a video"),
             "start_frame": None, "end_frame": None, "num_frames": None, "fps": None}]
    path = d / "manifest.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path, rows


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """Two generated clips and their references (the same clips, one darkened)."""
    from video.media import write_video

    d = tmp_path_factory.mktemp("gen")
    write_video(ramp(8), d / "gen" / "one.mp4", fps=7)
    write_video(ramp(8, offset=60), d / "gen" / "two.mp4", fps=7)
    write_video(ramp(8), d / "ref" / "one.mp4", fps=7)
    write_video(ramp(8, offset=30), d / "ref" / "two.mp4", fps=7)
    (d / "prompts.txt").write_text("a grey ramp\na brighter ramp\n")
    return d
