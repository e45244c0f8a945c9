"""A sparse decode's near miss gets the frames it skipped (review: bikes.mp4 re-encoded by x264
``medium``, B-pyramid, lost its hard cut at frame 76 in the default ``auto`` mode, found by
``--decode all`` and by PySceneDetect). Around the cut the decoded frames were 73, 75, 76, 78 in a
fast pan: the change over 73-75 rescaled to one frame (0.146) left ``across`` (0.409) 2.8x it,
under the 3x needed, where frame 74 shows 0.125 (3.3x). The frames around such a cut are now
decoded and the cut judged on them (:func:`data_curation.cuts._refined`)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from scenedetect import ContentDetector, detect

from data_curation.cut_features import frame_features, frames_at
from data_curation.cuts import CutParams, detect_shots
from video.media import ffmpeg_exe

BIKES_CUTS = [30, 76, 137, 187, 242]  # tests/data_curation/test_cuts.py


@pytest.fixture(scope="module")
def bikes_pyramid(bikes, tmp_path_factory) -> str:
    """bikes.mp4 through x264 ``medium`` at CRF 23 (the review's command; one encoder thread, so
    every run writes the same file)."""
    path = tmp_path_factory.mktemp("refine") / "bikes_medium.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", bikes, "-an", "-c:v", "libx264", "-preset",
                    "medium", "-crf", "23", "-x264-params", "threads=1", str(path)], check=True, timeout=120)
    return str(path)


def test_sparse_decode_finds_the_cut_every_frame_shows(bikes_pyramid):
    """``auto`` (here the reference frames: x264's B-pyramid with three references fails the
    B-frame check) finds the five cuts that every frame and PySceneDetect find, frame-exact."""
    theirs = [s.frame_num for s, _ in detect(bikes_pyramid, ContentDetector())[1:]]
    every = detect_shots(bikes_pyramid, CutParams(decode="all"))
    assert [s for s, _ in every.shots[1:]] == theirs == BIKES_CUTS
    for mode in ("auto", "ref"):
        sparse = detect_shots(bikes_pyramid, CutParams(decode=mode))
        assert sparse.shots == every.shots, mode


def test_frames_at_decodes_skipped_frames_as_every_frame_decode(bikes_pyramid):
    """The frames added are bit for bit those of the full decode: B-frames a sparse decode skipped
    (74, 77), frames on both sides of the keyframe at the cut, and frame 0."""
    every = frame_features(bikes_pyramid, "all", 1)
    sparse = frame_features(bikes_pyramid, "ref", 1)
    want = [0, 74, 75, 76, 77, 200]
    assert {74, 77} - set(sparse.index.tolist()) == {74, 77}
    got = frames_at(bikes_pyramid, want)
    assert got.index.tolist() == want
    at = np.searchsorted(every.index, want)
    assert np.array_equal(got.thumb, every.thumb[at]) and np.array_equal(got.hist, every.hist[at])
