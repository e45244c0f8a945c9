"""Dim scenes whose light changes (review: a night shot at luma ~0.1 whose brightness drifted,
cycled or flickered at 1 Hz was cut into up to 10 shots, as its luma sat in two or three
histogram bins and a drift of a few levels moved most pixels across a bin edge). Clips are
built so the truth is known: one lavfi scene at about a tenth of its brightness (luma and chroma
scaled towards black and grey, as a dark exposure does), its gain changing over time."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from data_curation.cuts import CutParams, find_transitions, frame_features, to_shots
from video.media import ffmpeg_exe

MODES = ("auto", "all")
# x264 P-frames predicting from I/P frames only: ``auto`` skips every B-frame, the sparsest decode
SPARSE = ["-c:v", "libx264", "-preset", "veryfast", "-x264-params", "ref=1:bframes=3"]


def _lavfi(source: str) -> list[str]:
    return ["-f", "lavfi", "-i", f"{source}=size=160x120:rate=25"]


def _dim(gain: str) -> str:
    """A geq filter scaling luma towards video black (16) and chroma towards grey by ``gain`` (an
    expression of the time ``T`` in seconds)."""
    return (f"geq=lum='16+(lum(X,Y)-16)*({gain})':cb='128+(cb(X,Y)-128)*({gain})'"
            f":cr='128+(cr(X,Y)-128)*({gain})'")


def _encode(path: Path, inputs: list[str], graph: str, pix_fmt: str = "yuv420p") -> Path:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *inputs, "-filter_complex", graph,
                    "-map", "[o]", *SPARSE, "-pix_fmt", pix_fmt, str(path)], check=True, timeout=120)
    return path


def _shots(path: Path, mode: str) -> list[list[int]]:
    f = frame_features(path, mode)
    return to_shots(f, find_transitions(f, CutParams(decode=mode))).shots


# name -> the gain over time: mean luma stays between ~0.09 and ~0.14 (about 23-36 of 255)
LIGHT = {
    "slow drift 0.10+-0.03 over 6 s": "0.10+0.03*sin(2*PI*T/6)",
    "2 s brightness cycle 0.12+-0.04": "0.12+0.04*sin(2*PI*T/2)",
    "1 Hz flicker 0.10+-0.03": "0.10+0.03*sin(2*PI*T)",
}


@pytest.fixture(scope="module")
def dim_scenes(tmp_path_factory) -> dict[str, Path]:
    """name -> 6 s of lavfi's mandelbrot zoom (one scene, no cut) lit as LIGHT[name] says."""
    d = tmp_path_factory.mktemp("dim_light")
    graph = "[0]trim=end_frame=150,format=yuv420p,{}[o]"
    return {name: _encode(d / f"dim{i}.mp4", _lavfi("mandelbrot"), graph.format(_dim(g)))
            for i, (name, g) in enumerate(LIGHT.items())}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(LIGHT))
def test_dim_scene_whose_light_changes_is_one_shot(dim_scenes, name, mode):
    """One shot in both decodes. ``auto`` compares only the frames this encoder build made I/P
    frames; test_cuts_dim_sparse.py gives the detector many other placements of them."""
    assert _shots(dim_scenes[name], mode) == [[0, 150]], (name, mode)


@pytest.fixture(scope="module")
def dim_cut(tmp_path_factory) -> Path:
    """Two different dim scenes at a tenth of their brightness, joined by a hard cut at frame 60:
    lavfi's mandelbrot zoom then its test card (testsrc2), mean luma ~0.10 on both sides."""
    g = _dim("0.1")
    return _encode(tmp_path_factory.mktemp("dim_cut") / "cut.mp4",
                   _lavfi("mandelbrot") + _lavfi("testsrc2"),
                   f"[0]trim=end_frame=60,setpts=PTS-STARTPTS,format=yuv420p,{g}[a];"
                   f"[1]trim=end_frame=60,setpts=PTS-STARTPTS,format=yuv420p,{g}[b];"
                   "[a][b]concat=n=2:v=1:a=0[o]")


@pytest.mark.parametrize("mode", MODES)
def test_hard_cut_between_two_dim_scenes_is_found(dim_cut, mode):
    """Comparing dim frames as if exposed normally must not hide a real cut between them."""
    f = frame_features(dim_cut, mode)
    assert float(f.thumb.mean(1).max()) < 0.13  # both scenes are dim
    shots = to_shots(f, find_transitions(f, CutParams(decode=mode))).shots
    assert len(shots) == 2, (mode, shots)
    (s0, e0), (s1, e1) = shots
    assert s0 == 0 and e1 == 120 and e0 <= 60 <= s1, (mode, shots)
    if mode == "all":
        assert e0 == s1 == 60  # frame-exact


def test_full_range_dim_flicker_is_one_shot(tmp_path):
    """A full-range (JPEG, ``yuvj``) file's black is level 0, not 16: its dim frames are stretched
    about that, and its 1 Hz flicker is one shot too (it was no shot at all: every frame is
    darker than the fade pass's black there, and the flicker's false cuts spread over them)."""
    path = _encode(tmp_path / "full.mp4", _lavfi("mandelbrot"),
                   f"[0]trim=end_frame=100,format=yuv420p,{_dim(LIGHT['1 Hz flicker 0.10+-0.03'])},"
                   "scale=in_range=tv:out_range=pc,format=yuvj420p[o]", "yuvj420p")
    assert _shots(path, "all") == [[0, 100]]
    f = frame_features(path, "all")
    assert f.black == 0.0 and np.all(f.gain > 1)  # dim frames, stretched about full-range black


def test_no_samples_no_transitions():
    """A file that yields no decoded frame has no transitions (the fade pass took the minimum of
    an empty array)."""
    from data_curation.cuts import find_transitions
    from data_curation.frame_summary import Features

    empty = Features(np.zeros(0, np.int64), np.zeros((0, 64), np.float32), np.zeros((0, 96), np.float32), 25.0, 0)
    assert find_transitions(empty) == []
