"""Dissolves up to 2 s at any frame rate (review: the scales stopped at 16 samples, 31 frames with
every frame decoded, so a 2 s dissolve at 50 fps or a 1 s one at 60 went unfound by ``--decode
all``, while ``auto``, one frame in two or three, reached it: the mode that decodes more found
less). The scales now go on doubling until one spans ``CutParams.max_gradual_s`` at the decode's
sample spacing. Clips are lavfi test cards cross-faded by ``xfade``, so the truth is known."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from data_curation.cuts import SCALES, CutParams, _scales, detect_shots
from data_curation.frame_summary import Features
from video.media import ffmpeg_exe


def xfade(path: Path, a: str, b: str, seconds: float, fps: int, lead: float = 2.5, size: str = "160x120") -> Path:
    """``lead`` s of lavfi's ``a``, an ``xfade`` fade of ``seconds`` into ``b``, ``lead`` s of
    ``b``; x264 veryfast (its P-frames predict from I/P frames only: ``auto`` skips every B-frame)."""
    trim = f"trim=duration={lead + seconds:.3f},setpts=PTS-STARTPTS,format=yuv420p"
    graph = f"[0]{trim}[a];[1]{trim}[b];[a][b]xfade=transition=fade:duration={seconds}:offset={lead}[o]"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"{a}=size={size}:rate={fps}",
                    "-f", "lavfi", "-i", f"{b}=size={size}:rate={fps}", "-filter_complex", graph, "-map", "[o]",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=120)
    return path


# (seconds, fps): the review's two, and 2 s at 25 fps (50 frames: past 31 too)
LONG = [(2.0, 50), (1.0, 60), (2.0, 25)]


@pytest.mark.parametrize("seconds, fps", LONG, ids=[f"{s}s-{f}fps" for s, f in LONG])
def test_long_dissolve_is_one_transition_in_every_mode(tmp_path, seconds, fps):
    """Test card (smptebars) into test pattern (testsrc): one transition over the fade's frames,
    two shots, with every frame decoded and with ``auto``."""
    path = xfade(tmp_path / "d.mp4", "smptebars", "testsrc", seconds, fps)
    lo, hi = round(2.5 * fps), round((2.5 + seconds) * fps)
    for mode in ("all", "auto"):
        shots = detect_shots(path, CutParams(decode=mode, threads=1))
        assert len(shots.transitions) == 1, (mode, shots.shots)
        (s, e), = shots.transitions
        # inside the fade, most of it: its ends change too little to tell from either shot
        assert lo <= s < e <= hi and e - s >= 0.5 * (hi - lo), (mode, s, e, lo, hi)


def test_scales_reach_the_longest_dissolve_in_frames_and_seconds():
    """The scales' spans (2k - 1 samples) reach 2 s whatever the frame rate and sample spacing;
    a sparse decode at 25 fps already did with the scales up to 16 samples."""

    def scales(fps: float, step: int) -> list[int]:
        idx = np.arange(0, 600, step)
        return _scales(Features(idx, np.zeros((len(idx), 1)), np.zeros((len(idx), 1)), fps, 600), CutParams())

    assert scales(25, 1) == [*SCALES, 32]  # 63 frames >= 50
    assert scales(60, 1) == [*SCALES, 32, 64]  # 127 frames >= 120
    assert scales(25, 2) == list(SCALES)  # 31 samples two frames apart: 62 frames
    assert scales(60, 3) == [*SCALES, 32]
    for fps, step in ((24, 1), (30, 1), (50, 1), (60, 1), (30, 2), (60, 4)):
        assert (2 * scales(fps, step)[-1] - 1) * step >= 2.0 * fps


def test_fast_single_shots_at_60_fps_stay_one_shot(tmp_path):
    """The larger scales compare frames up to ~2 s apart: a shot that changes all the time (lavfi's
    mandelbrot zoom; its test card with the hue turning 2 rad/s) is still one shot."""
    for i, src in enumerate(("mandelbrot=size=160x120:rate=60", "testsrc2=size=160x120:rate=60,hue=H=2*t")):
        path = tmp_path / f"one{i}.mp4"
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", src, "-t", "6",
                        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path)],
                       check=True, timeout=120)
        for mode in ("all", "auto"):
            assert detect_shots(path, CutParams(decode=mode, threads=1)).shots == [[0, 360]], (src, mode)
