"""Dim scenes under the sparse (``auto``) decode, wherever its frames land. ``auto`` decodes the
I/P frames only, so where the encoder puts them decides which frames the detector compares:
imageio-ffmpeg 0.8.1's x264 put those of the 1 Hz flicker clip (test_cuts_dim_light.py) at 0, 2,
..., 20, 21, 22, 24, ... and a false dissolve appeared at frames 15-22 (a flat area at 11-12 levels
above black, stretched by the exposure gain, crossed a luma bin edge). Rather than hang on one
encoder build, these tests decode every frame once and give the detector many sets of frames a
sparse decode could see: its frames are bit-identical to the full decode's (``auto`` checks that
before it skips), and each frame's features are its own, so a subset of the full decode's features
is what that sparse decode yields."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_cuts_dim_light import LIGHT, _dim, _encode, _lavfi, dim_cut, dim_scenes  # noqa: F401  (fixtures)

from data_curation.cuts import CutParams, find_transitions, frame_features, to_shots
from data_curation.frame_summary import Features

PLACEMENTS = 300
MAX_STEP = 4  # the fixtures' x264 has bframes=3: at most 3 frames between two I/P frames


def _placements(num_frames: int, count: int = PLACEMENTS, seed: int = 0) -> Iterator[np.ndarray]:
    """Frame numbers a sparse decode may see: frame 0, then steps of 1 to :data:`MAX_STEP` frames,
    each placement with its own mix of step lengths (all 2s; 4s and 1s; ...), and the last frame."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        mix = rng.dirichlet(np.full(MAX_STEP, 0.7))
        idx = [0]
        while idx[-1] < num_frames - 1:
            idx.append(min(num_frames - 1, idx[-1] + 1 + int(rng.choice(MAX_STEP, p=mix))))
        yield np.array(idx)


def _sparse_transitions(f: Features) -> Iterator[tuple[list[int], list[list[int]]]]:
    """(frames seen, transitions as frame ranges) for each placement over the full decode ``f``."""
    assert len(f.index) == f.num_frames  # every frame decoded: placement i is frame i
    for idx in _placements(f.num_frames):
        g = Features(f.index[idx], f.thumb[idx], f.hist[idx], f.fps, f.num_frames, f.black)
        yield idx.tolist(), to_shots(g, find_transitions(g, CutParams(decode="auto"))).transitions


@pytest.mark.parametrize("name", list(LIGHT))
def test_dim_light_is_one_shot_wherever_the_sparse_frames_land(request, name):
    f = frame_features(request.getfixturevalue("dim_scenes")[name], "all")
    false = [(t, idx) for idx, t in _sparse_transitions(f) if t]
    assert not false, f"{name}: {len(false)} of {PLACEMENTS} placements cut, first {false[0]}"


@pytest.fixture(scope="module")
def dim_dissolve(tmp_path_factory) -> Path:
    """Lavfi's mandelbrot zoom cross-fading into its test card (testsrc2) over frames 50-75, all
    of it at a tenth of its brightness (mean luma ~0.10)."""
    return _encode(tmp_path_factory.mktemp("dim_dissolve") / "dissolve.mp4",
                   _lavfi("mandelbrot") + _lavfi("testsrc2"),
                   "[0]trim=end_frame=75,setpts=PTS-STARTPTS,format=yuv420p[a];"
                   "[1]trim=end_frame=75,setpts=PTS-STARTPTS,format=yuv420p[b];"
                   f"[a][b]xfade=transition=fade:duration=1:offset=2,{_dim('0.1')}[o]")


@pytest.mark.parametrize("clip, first, last", [("dim_cut", 60, 60), ("dim_dissolve", 50, 75)])
def test_dim_cut_and_dissolve_are_found_wherever_the_sparse_frames_land(request, clip, first, last):
    """Steadier dim luma must not cost real transitions: the hard cut at frame 60 and the
    dissolve over frames 50-75 are one transition, over those frames, in every placement (before
    soft dim bins the dissolve was lost in 3 of these 300)."""
    f = frame_features(request.getfixturevalue(clip), "all")
    assert float(f.thumb.mean(1).max()) < 0.13  # dim throughout
    missed = [(t, idx) for idx, t in _sparse_transitions(f)
              if not (len(t) == 1 and t[0][0] <= last and t[0][1] >= first)]
    assert not missed, f"{clip}: {len(missed)} of {PLACEMENTS} placements, first {missed[0]}"


@pytest.mark.parametrize("light", ["1 Hz flicker 0.10+-0.03", None])
def test_clip_of_2k_samples_has_no_boundary_at_scale_k(tmp_path, light):
    """A clip of 32 decoded frames, one scene: at scale 16 its only boundary compares the first
    frame with the last and has no frame beyond them to compare with. That boundary was always
    taken (its ``within`` counted as 0) and any scene that moved was cut in the middle; a sparse
    decode meets it on any clip of 32 I/P frames."""
    graph = f"[0]trim=end_frame=32,format=yuv420p{',' + _dim(LIGHT[light]) if light else ''}[o]"
    path = _encode(tmp_path / "short.mp4", _lavfi("mandelbrot"), graph)
    f = frame_features(path, "all")
    assert len(f.index) == 32
    assert to_shots(f, find_transitions(f, CutParams(decode="all"))).shots == [[0, 32]]
