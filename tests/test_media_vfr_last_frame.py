"""A variable-rate mp4/webm ends its picture as long as the gap before its last frame after
that frame's time (:func:`video.media.write.last_frame_length`), as the gif does: the frames
went to ffmpeg in NUT at PyAV's default 24 fps, so the last frame lasted 1/24 s (1.34 s of
1.5 s written, the audio, cut at 1.5 s, running past the picture)."""

import struct

import av
import numpy as np
import pytest

from video.media.write import write_video

GIF_DELAYS = np.array([0, 0.2, 0.4, 0.9, 1.1, 1.3])  # delays 200, 200, 500, 200, 200, (200) ms: ends at 1.5 s
THIRTY_THEN_TEN = np.concatenate([np.arange(30) / 30, 1 + np.arange(10) / 10])  # ends at 2.0 s


def _frames(n: int) -> np.ndarray:
    return np.random.default_rng(n).integers(0, 256, (n, 32, 48, 3), dtype=np.uint8)


def _mvhd_seconds(path) -> float:
    """An mp4's presentation length as players take it: the movie header's (mvhd) duration,
    which spans the edit list. PyAV reports the media (mdhd) duration instead, which B-frame
    reordering shortens where the rate at the end differs from the rate at the start."""
    data = open(path, "rb").read()
    at = data.index(b"mvhd") + 4
    if data[at] == 1:
        scale, dur = struct.unpack(">IQ", data[at + 20: at + 32])
    else:
        scale, dur = struct.unpack(">II", data[at + 12: at + 20])
    return dur / scale


def _seconds(path) -> tuple[float, float]:
    """(the presentation length, PyAV's container duration) in seconds."""
    with av.open(str(path)) as c:
        pyav = c.duration / 1_000_000
    return (_mvhd_seconds(path) if str(path).endswith(".mp4") else pyav), pyav


@pytest.mark.parametrize("suffix", ["mp4", "webm"])
@pytest.mark.parametrize("times", [GIF_DELAYS, THIRTY_THEN_TEN], ids=["gif-delays", "30-then-10fps"])
def test_a_variable_rate_clip_ends_one_last_gap_after_its_last_frame(tmp_path, suffix, times):
    out = write_video(_frames(len(times)), tmp_path / f"vfr.{suffix}", fps=len(times) / 2, times=times)
    shown, pyav = _seconds(out)
    expected = times[-1] + (times[-1] - times[-2])
    tick = 1 / 90000 if suffix == "mp4" else 1 / 1000
    assert abs(shown - expected) <= tick
    if times is GIF_DELAYS:  # starts and ends at one rate: the media duration agrees
        assert abs(pyav - expected) <= tick


@pytest.mark.parametrize("suffix", ["mp4", "webm"])
def test_a_constant_rate_clip_still_lasts_frames_over_fps(tmp_path, suffix):
    out = write_video(_frames(40), tmp_path / f"cfr.{suffix}", fps=20)
    shown, pyav = _seconds(out)
    assert abs(shown - 2.0) <= 1e-3 and abs(pyav - 2.0) <= 1e-3
