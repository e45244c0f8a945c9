"""``auto`` decodes the same frames, and so cuts the same shots, on any number of threads (review:
a Ray run gives each task ``cuts.threads = cores // sources``, so a resumed run, with fewer
sources left, decoded with more threads than the fresh one and could cut differently; with one
thread ``auto`` decoded in one pass, with more in keyframe pieces whose opening check ended at
another frame, and whose pieces that set out before its verdict kept B-frames for a while)."""

from __future__ import annotations

import numpy as np
import pytest
from test_cuts_long_dissolves import xfade

from data_curation.cut_features import _one_pass, _segmented, frame_features
from data_curation.cuts import CutParams, detect_shots


@pytest.fixture(scope="module")
def dissolve_60fps(tmp_path_factory) -> str:
    """The review's clip: a 1 s dissolve at 60 fps from smptebars to testsrc (x264 veryfast:
    ``auto`` skips every B-frame after its check)."""
    return str(xfade(tmp_path_factory.mktemp("threads") / "d60.mp4", "smptebars", "testsrc", 1.0, 60))


def _same(a, b) -> bool:
    return (a.num_frames == b.num_frames and np.array_equal(a.index, b.index)
            and np.array_equal(a.thumb, b.thumb) and np.array_equal(a.hist, b.hist))


def test_auto_decodes_the_same_frames_on_any_number_of_threads(dissolve_60fps):
    one = _one_pass(dissolve_60fps, "auto", 1)
    assert len(one.index) < one.num_frames  # B-frames skipped: the sparse decode under test
    assert _segmented(dissolve_60fps, "auto", 2) is not None  # the keyframe pieces ran
    for threads in (2, 3, 6):
        assert _same(frame_features(dissolve_60fps, "auto", threads), one), threads


def test_auto_cuts_the_same_shots_on_one_thread_and_two(dissolve_60fps):
    """Before, one thread gave [[0, 162], [205, 360]] and two [[0, 162], [202, 360]] (or another
    split, by the pieces' timing)."""
    one = detect_shots(dissolve_60fps, CutParams(threads=1))
    two = detect_shots(dissolve_60fps, CutParams(threads=2))
    assert one.shots == two.shots and len(one.shots) == 2
    (s, e), = one.transitions
    assert 150 <= s < e <= 215 and e - s >= 30  # most of the dissolve's frames (150-210)


def _joined(tmp_path):
    """320x240 testsrc2 for 4 s, then 320x180 smptebars for 4 s, in one mp4 stream."""
    import subprocess

    import imageio_ffmpeg

    ff = imageio_ffmpeg.get_ffmpeg_exe()
    for name, size, src in (("a", "320x240", "testsrc2"), ("b", "320x180", "smptebars")):
        subprocess.run([ff, "-v", "error", "-f", "lavfi", "-i", f"{src}=s={size}:r=25:d=4", "-c:v", "libx264",
                        "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p", str(tmp_path / f"{name}.mp4")],
                       check=True)
    (tmp_path / "list.txt").write_text("file a.mp4\nfile b.mp4\n")
    joined = tmp_path / "joined.mp4"
    subprocess.run([ff, "-v", "error", "-f", "concat", "-safe", "0", "-i", str(tmp_path / "list.txt"), "-c", "copy",
                    str(joined)], check=True)
    return joined


def test_a_resolution_change_decodes_alike_on_one_thread_and_two(tmp_path):
    """A stream that switches from 320x240 to 320x180 (a concatenation, a broadcast's 4:3 to 16:9):
    the pieces' thumbnails are of another size than the opening's; joining them raised numpy's
    "all the input array dimensions ... must match" on two threads (review), where one thread
    compared histograms alone."""
    joined = _joined(tmp_path)
    one = frame_features(str(joined), "auto", 1)
    assert one.thumb.shape[1] == 32 * 24  # every thumbnail at the first frame's 4:3 shape
    assert _same(frame_features(str(joined), "auto", 2), one)


def test_a_resolution_change_is_one_cut_between_two_shots(tmp_path):
    """Where the thumbnails were zeroed at a change of shape, every frame looked black: the whole
    file was one fade, ``[(0, 200)]``, and gave no shots (review). The picture changes at frame 100."""
    joined = _joined(tmp_path)
    for decode in ("auto", "all"):
        for threads in (1, 2):
            shots = detect_shots(str(joined), CutParams(decode=decode, threads=threads))
            assert shots.shots == [[0, 100], [100, 200]], (decode, threads, shots)


def test_refined_frames_after_a_change_of_shape_are_an_all_decodes(tmp_path):
    """``cuts._refined`` merges the frames it asks for into the decode it refines; where they lay
    after the change of shape their thumbnails came at the second shape, and the refinement was
    dropped (review). Sized as the decode they join, they equal an ``all`` decode's bit for bit."""
    from data_curation.cut_features import frames_at

    joined = _joined(tmp_path)
    every = frame_features(str(joined), "all", 1)
    got = frames_at(str(joined), [150, 151, 152], every.thumb.shape[1])
    at = [int(np.flatnonzero(every.index == n)[0]) for n in (150, 151, 152)]
    assert np.array_equal(got.thumb, every.thumb[at]) and np.array_equal(got.hist, every.hist[at])
