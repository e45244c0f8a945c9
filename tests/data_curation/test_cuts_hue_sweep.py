"""Hue sweeps (review: lavfi's test card with ``hue=H=t``, 100 frames and no cut, came out as
shots [0, 1), [3, 24), [24, 100) with ``--decode all``; ``H=0.3*t`` as [0, 79), [83, 100)). A
slow continuous colour change (a sunset, a grade, stage lights) is one shot. The U and V
histograms had hard bins (a flat area of one colour crossed a bin edge all at once) and were
taken apart (two colours' shadows on one axis cross and part as the hues turn), so a steady
sweep looked like cuts; colour is now one soft U-V histogram (:func:`chroma_hist`). Clips are
lavfi sources whose truth is known, the sweep applied after any cut or dissolve, so the whole
clip sweeps."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from data_curation.cuts import CutParams, find_transitions, frame_features, to_shots
from data_curation.frame_summary import C_BINS, chroma_hist
from data_curation.luma import Y_BINS
from video.media import ffmpeg_exe

MODES = ("all", "auto")
# x264 P-frames predicting from I/P frames only: ``auto`` skips every B-frame, the sparsest decode
SPARSE = ["-c:v", "libx264", "-preset", "veryfast", "-x264-params", "ref=1:bframes=3"]
# hue in radians at t seconds, 25 fps: 0.7, 2.3, 4.6 and 9.2 degrees a frame
SPEEDS = ("0.3*t", "t", "2*t", "4*t")


def _encode(path: Path, sources: list[str], graph: str, size: str, x264: list[str]) -> Path:
    inputs = [a for s in sources for a in ("-f", "lavfi", "-i", f"{s}=size={size}:rate=25")]
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *inputs, "-filter_complex", graph,
                    "-map", "[o]", *x264, "-pix_fmt", "yuv420p", str(path)], check=True, timeout=120)
    return path


def _detect(path: Path, mode: str):
    f = frame_features(path, mode)
    return to_shots(f, find_transitions(f, CutParams(decode=mode)))


SWEEPS = [("testsrc2", "640x480", s, SPARSE) for s in SPEEDS] + \
         [("smptebars", "640x480", s, SPARSE) for s in SPEEDS] + \
         [("testsrc2", "320x240", s, ["-c:v", "libx264"]) for s in ("t", "0.3*t")]  # the review's


@pytest.mark.parametrize("source, size, hue, x264", SWEEPS, ids=[f"{a}-{b}-{c}-{'sparse' if d is SPARSE else 'x264'}"
                                                                for a, b, c, d in SWEEPS])
def test_hue_sweep_is_one_shot(tmp_path, source, size, hue, x264):
    """Before the soft U-V histogram every testsrc2 sweep here but the review's ``auto`` was cut
    (640x480 at 0.3 rad/s: [0, 2), [2, 78), [83, 100) with ``all``), and smptebars' at
    0.3-2 rad/s."""
    path = _encode(tmp_path / "sweep.mp4", [source],
                   f"[0]trim=end_frame=100,hue=H={hue},format=yuv420p[o]", size, x264)
    for mode in MODES:
        assert _detect(path, mode).shots == [[0, 100]], (mode, _detect(path, mode).shots)


_CUT = "[0]trim=end_frame=60,setpts=PTS-STARTPTS[a];[1]trim=end_frame=60,setpts=PTS-STARTPTS[b];[a][b]concat"
# a: 3 s, b from 2 s on, over 1 s: the output's frames 50-75 blend the two
_DISSOLVE = ("[0]trim=end_frame=75,setpts=PTS-STARTPTS,format=yuv420p[a];[1]trim=end_frame=75,"
             "setpts=PTS-STARTPTS,format=yuv420p[b];[a][b]xfade=transition=fade:duration=1:offset=2")
INSIDE = ([("cut", a, b, s) for a, b in (("testsrc2", "mandelbrot"), ("smptebars", "testsrc2"))
           for s in ("0.3*t", "t", "2*t")]
          + [("dissolve", a, b, s) for a, b in (("smptebars", "testsrc2"), ("mandelbrot", "testsrc2"))
             for s in ("0.3*t", "t", "2*t")]
          + [("dissolve", "testsrc2", "mandelbrot", "0.3*t")])


@pytest.mark.parametrize("kind, first, second, hue", INSIDE, ids=["-".join(c) for c in INSIDE])
def test_cut_and_dissolve_inside_a_hue_sweep_are_found(tmp_path, kind, first, second, hue):
    """The sweep's own change must not hide a real transition, nor add one: exactly the hard cut
    at frame 60, or one transition over the dissolve's frames 50-75 (found at 50-55 to 72-78:
    a blend's first and last frames hardly differ from the shot). Before, the testsrc2 sweeps
    also gave false cuts ([1, 3) at 1 rad/s, smptebars' at 7-26), and the mandelbrot dissolve
    at 1 rad/s was lost."""
    graph = (_CUT if kind == "cut" else _DISSOLVE) + f",hue=H={hue},format=yuv420p[o]"
    path = _encode(tmp_path / f"{kind}.mp4", [first, second], graph, "320x240", SPARSE)
    for mode in MODES:
        t = _detect(path, mode).transitions
        if kind == "cut":
            assert t == [[60, 60]], (mode, t)
        else:
            assert len(t) == 1 and 50 <= t[0][0] <= 55 and 72 <= t[0][1] <= 78, (mode, t)


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p", "yuv444p"])
def test_chroma_histogram_sees_the_whole_frame(tmp_path, pix_fmt):
    """Top half red, bottom half blue: whatever the chroma subsampling, half the U-V mass lies in
    the four bins about red's (U, V) = (90, 240) and half about blue's (240, 110) (BT.601
    limited range; 4:2:2 and 4:4:4 planes are taller or wider than 4:2:0's, and reading them at
    4:2:0's size saw the top half only)."""
    out = tmp_path / f"{pix_fmt}.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=red:s=128x48:d=0.4",
                    "-f", "lavfi", "-i", "color=blue:s=128x48:d=0.4", "-filter_complex", "[0][1]vstack",
                    "-c:v", "libx264", "-pix_fmt", pix_fmt, str(out)], check=True)
    uv = frame_features(out, "all", threads=1).hist[:, Y_BINS:].reshape(-1, C_BINS, C_BINS)
    # a level's position in bins is (level + 0.5) / 16 - 0.5: 90 -> 5.2, 240 -> 14.5, 110 -> 6.4
    red, blue = uv[:, 5:7, 14:16].sum((1, 2)), uv[:, 14:16, 6:8].sum((1, 2))
    assert np.all(red > 0.45) and np.all(blue > 0.45), (pix_fmt, red[0], blue[0])


def _flat(u: int, v: int, gain: float = 1.0) -> np.ndarray:
    return chroma_hist(np.full((8, 8), u, np.uint8), np.full((8, 8), v, np.uint8), gain)


def test_soft_bins_move_mass_in_proportion_to_the_colour():
    """Closed form: a flat colour whose U moves by ``d`` levels between two bin centres (level
    119.5 and 135.5) moves ``d / 16`` of its mass, an L1 of ``2 d / 16``, across level 128 too,
    where hard bins moved it all (L1 2). A dim frame's colour is stretched about grey by its
    gain: (U, V) = (130, 126) at gain 5 counts as (140, 120), level centres 128 + 2.5 * 5 and
    128 - 1.5 * 5."""
    for d in range(1, 16):
        assert abs(np.abs(_flat(120 + d, 60) - _flat(120, 60)).sum() - 2 * d / 16) < 1e-9, d
    u = _flat(120, 60).reshape(C_BINS, C_BINS).sum(1)  # U 120 sits at bin 120.5 / 16 - 0.5 = 7.03125
    assert abs(u[7] - 0.96875) < 1e-9 and abs(u[8] - 0.03125) < 1e-9 and abs(u.sum() - 1) < 1e-9
    assert np.allclose(_flat(130, 126, 5.0), _flat(140, 120))
    assert _flat(0, 255)[C_BINS - 1] == 1.0  # beyond the end centres: all to the end bin
