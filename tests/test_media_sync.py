"""Reading and writing against ffmpeg's own answers: audio that starts late keeps its place,
a variable-rate clip keeps its frame times, a mirrored clip reads as ffmpeg shows it, outputs
carry BT.709 tags and the source's pixel shape, HDR input says it is not tone mapped,
``--frames N`` reads N frames. Every clip is made here with the bundled ffmpeg."""

from __future__ import annotations

import subprocess
import tracemalloc
import warnings
from pathlib import Path

import av
import numpy as np
import pytest

from video.cli import main
from video.media import (
    display_ops,
    ffmpeg_exe,
    itsoffset,
    probe_video,
    read_video,
    read_video_timed,
    uneven_times,
    write_video,
)

BEEP = 1.0  # seconds into the audio stream where the tone starts
LEAD = 0.5  # how far one stream starts after the other


def _ff(*args) -> None:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True)


def _beep_clip(path: Path, audio_late: bool) -> Path:
    """3 s of testsrc at 10 fps with a tone from BEEP s into its audio stream; one stream is
    shifted LEAD s later (the audio when ``audio_late``, else the video)."""
    shift = ["-itsoffset", LEAD]
    _ff(*(shift if not audio_late else []), "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=3",
        *(shift if audio_late else []), "-f", "lavfi", "-i",
        f"aevalsrc='if(gte(t,{BEEP}),0.5*sin(2*PI*440*t),0)':d=3:s=44100",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", path)
    return path


def _onset_after_video(path: Path) -> float:
    """Seconds from the video's first frame to the first audible audio sample."""
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        vs = float(v.start_time * v.time_base)
        for f in c.decode(a):
            x = np.abs(f.to_ndarray()).max(0)
            if (x > 0.05).any():
                return float(f.pts * a.time_base) + int(np.argmax(x > 0.05)) / f.sample_rate - vs
    raise AssertionError("no sound")


@pytest.mark.parametrize("audio_late, expected", [(True, LEAD + BEEP), (False, BEEP - LEAD)])
def test_audio_keeps_its_place_beside_the_video(tmp_path, audio_late, expected):
    """Audio that starts LEAD s after the video: the tone is LEAD + BEEP s after the first
    frame, in the source and in what is written with its audio (it was delayed twice, to
    +1.977 s); audio that starts before the video stays right too."""
    src = _beep_clip(tmp_path / "src.mp4", audio_late)
    assert _onset_after_video(src) == pytest.approx(expected, abs=0.03)
    out = write_video(read_video(src), tmp_path / "out.mp4", fps=10, audio=src)
    assert _onset_after_video(out) == pytest.approx(expected, abs=0.03)


def test_itsoffset_takes_off_only_the_videos_distance_from_the_file_start():
    assert itsoffset(0.0, 0.0) == 0.0  # audio late: ffmpeg keeps its gap by itself
    assert itsoffset(0.0, 0.5) == -0.5  # video late: its audio starts before it


def _vfr_clip(path: Path, with_audio: bool = True) -> Path:
    """2 s at 24 fps then 2 s at 30 fps (a phone's variable rate), with 4 s of tone."""
    audio = ["-f", "lavfi", "-i", "sine=frequency=440:duration=4"] if with_audio else []
    _ff("-f", "lavfi", "-i", "testsrc=size=64x48:rate=24:duration=2", "-f", "lavfi", "-i",
        "testsrc=size=64x48:rate=30:duration=2", *audio,
        "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]", *(["-map", "2:a"] if with_audio else []),
        "-fps_mode", "passthrough", "-enc_time_base", "1/120", "-c:v", "libx264", "-pix_fmt", "yuv420p",
        *(["-c:a", "aac"] if with_audio else []), path)
    return path


def _pts(path: Path) -> np.ndarray:
    """Each decoded frame's time from the first, read straight from PyAV (the reference)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        p = np.array([float(f.pts * s.time_base) for f in c.decode(s)])
    return p - p[0]


def test_uneven_times():
    assert not uneven_times(np.arange(10) / 24, 24)
    assert uneven_times(np.r_[np.arange(48) / 24, 2 + np.arange(60) / 30], 108 / 4)


@pytest.mark.parametrize("command", ["upscale", "edit"])
def test_a_variable_rate_clip_keeps_its_frame_times(tmp_path, command, capsys):
    """An output whose frame i is the source's frame i is written at the source's own frame
    times, so its sound (copied as it is) stays in sync: written at the average rate, the
    frames drifted 215 ms from the audio mid-clip."""
    src = _vfr_clip(tmp_path / "vfr.mp4")
    ref = _pts(src)
    assert len(ref) == 108 and uneven_times(ref, probe_video(src)["fps"])
    out = tmp_path / "out.mp4"
    argv = (["upscale", src, "--model", "bicubic", "-o", out] if command == "upscale" else
            ["edit", "recolour", "--video", src, "--box", "0,0,32,24", "--hue", "90", "--output", out])
    assert main([str(a) for a in argv]) == 0, capsys.readouterr().err
    got = _pts(out)
    assert len(got) == len(ref) and np.abs(got - ref).max() < 1e-3
    with av.open(str(out)) as c:
        assert c.streams.audio  # the sound is kept beside it


def _asymmetric(path: Path) -> Path:
    """A clip whose every turn and mirror differs: a gradient plus a block in one corner."""
    y, x = np.mgrid[:48, :64]
    fr = np.stack([x * 4, y * 5, np.zeros_like(x)], -1).astype(np.uint8)
    fr[:12, :16] = (255, 255, 255)
    return write_video(np.stack([fr] * 3), path, fps=8, crf=1)


def _ffmpeg_upright(path: Path) -> np.ndarray:
    """ffmpeg's own decode, which applies the display matrix (autorotate)."""
    out = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8)


@pytest.mark.parametrize("matrix", [["-display_hflip"], ["-display_vflip"], ["-display_rotation", "90", "-display_hflip"],
                                    ["-display_rotation", "-90", "-display_hflip"], ["-display_rotation", "180"],
                                    ["-display_rotation", "90"], ["-display_rotation", "270", "-display_vflip"]],
                         ids=lambda m: "".join(m))
def test_a_mirrored_or_turned_clip_reads_as_ffmpeg_shows_it(tmp_path, matrix):
    """The display matrix is applied as ffmpeg's autorotate does: a mirror stays a mirror (it
    was read turned 180 degrees), a turn with a mirror is both."""
    plain = _asymmetric(tmp_path / "plain.mp4")
    stored = tmp_path / "stored.mp4"
    _ff(*matrix, "-i", plain, "-c", "copy", stored)
    ours = read_video(stored)
    theirs = _ffmpeg_upright(stored)
    assert theirs.size == ours.size
    assert np.abs(ours.astype(int) - theirs.reshape(ours.shape)).max() <= 1
    plain_frames = read_video(plain)
    assert ours.shape != plain_frames.shape or np.abs(ours.astype(int) - plain_frames).mean() > 10  # it did turn


def test_display_ops_of_a_plain_mirror():
    assert display_ops((-65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)) == ["hflip"]
    assert display_ops((-65536, 0, 0, 0, -65536, 0, 0, 0, 1 << 30)) == ["hflip", "vflip"]  # a half turn
    assert display_ops(None) == []


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_outputs_are_tagged_bt709_all_three(tmp_path, suffix):
    """Primaries, transfer and matrix are BT.709 (primaries and transfer were unknown)."""
    out = write_video(np.full((2, 32, 32, 3), 100, np.uint8), tmp_path / f"o{suffix}", fps=8)
    with av.open(str(out)) as c:
        f = next(c.decode(video=0))
    assert (int(f.color_primaries), int(f.color_trc), int(f.colorspace)) == (1, 1, 1)  # AVCOL_*_BT709


@pytest.mark.parametrize("trc", ["arib-std-b67", "smpte2084"])
def test_hdr_input_warns_that_it_is_not_tone_mapped(tmp_path, trc):
    src = tmp_path / "hdr.mp4"
    _ff("-f", "lavfi", "-i", "testsrc=size=64x48:rate=8:duration=0.5", "-vf",
        f"setparams=color_primaries=bt2020:color_trc={trc}:colorspace=bt2020nc", "-c:v", "libx265",
        "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error", src)
    with pytest.warns(UserWarning, match="without tone mapping") as got:
        read_video(src)
    assert len([w for w in got if "tone mapping" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_video(_asymmetric(tmp_path / "sdr.mp4"))  # SDR: no word


@pytest.mark.parametrize("command", ["upscale", "edit"])
def test_non_square_pixels_are_carried_to_the_output(tmp_path, command, capsys):
    """A 32:27 (DV widescreen) source: the output is tagged 32:27 too, so it displays at the
    source's shape (it came out with square pixels, squeezed)."""
    src = tmp_path / "anam.mp4"
    _ff("-f", "lavfi", "-i", "testsrc=size=64x48:rate=8:duration=0.5", "-vf", "setsar=32/27", "-c:v", "libx264",
        "-pix_fmt", "yuv420p", src)
    assert probe_video(src)["sar"] == "32:27"
    out = tmp_path / "out.mp4"
    argv = (["upscale", src, "--model", "bicubic", "-o", out] if command == "upscale" else
            ["edit", "recolour", "--video", src, "--box", "0,0,32,24", "--hue", "90", "--output", out])
    assert main([str(a) for a in argv]) == 0, capsys.readouterr().err
    assert probe_video(out)["sar"] == "32:27"


def _clip(path: Path, seconds: float) -> Path:
    _ff("-f", "lavfi", "-i", f"testsrc=size=320x240:rate=30:duration={seconds}", "-c:v", "libx264", "-pix_fmt",
        "yuv420p", path)
    return path


def _peak(argv) -> int:
    """The Python memory peak (numpy's arrays included) of one ``video`` command."""
    tracemalloc.start()
    try:
        assert main([str(a) for a in argv]) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("command", ["upscale", "edit"])
def test_frames_n_reads_only_n_frames(tmp_path, command, capsys):
    """``--frames 2`` of a 120-frame clip takes no more memory than of a 3-frame clip (every
    frame was decoded and held first: 120 x 230 KB, twice over for the stack)."""
    def argv(src, out):
        return (["upscale", src, "--model", "bicubic", "--frames", "2", "-o", out] if command == "upscale" else
                ["edit", "recolour", "--video", src, "--box", "0,0,32,24", "--hue", "90", "--frames", "2",
                 "--output", out])

    short, long = _clip(tmp_path / "short.mp4", 0.1), _clip(tmp_path / "long.mp4", 4)
    assert probe_video(short)["num_frames"] == 3 and probe_video(long)["num_frames"] == 120
    base = _peak(argv(short, tmp_path / "a.mp4"))
    peak = _peak(argv(long, tmp_path / "b.mp4"))
    assert probe_video(tmp_path / "b.mp4")["num_frames"] == 2
    frame = 320 * 240 * 3
    assert peak < base + 10 * frame, (base / frame, peak / frame)


def test_crf_0_warns_that_browsers_cannot_play_it(tmp_path):
    """Lossless H.264 is High 4:4:4 Predictive even at 4:2:0: a warning says so; 4:2:0 stays."""
    with pytest.warns(UserWarning, match="High 4:4:4 Predictive"):
        out = write_video(np.full((2, 32, 32, 3), 100, np.uint8), tmp_path / "o.mp4", fps=8, crf=0)
    assert probe_video(out)["pix_fmt"] == "yuv420p"


def test_read_video_max_frames(tmp_path):
    src = _clip(tmp_path / "long.mp4", 4)
    frames, times = read_video_timed(src, 3)
    assert frames.shape == (3, 240, 320, 3)
    np.testing.assert_allclose(times, np.arange(3) / 30, atol=1e-6)


@pytest.mark.parametrize("times", [[0, 0.1, 0.1, 0.3], [0, 0.2, 0.1, 0.3]])
def test_times_that_repeat_or_go_back_are_written_at_the_average_rate(tmp_path, times):
    """A stream without timestamps, or with a reset, can give such times: NUT refuses them (an
    av error after the whole render); they are written at the rate instead, as before."""
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    out = write_video(frames, tmp_path / "o.mp4", fps=10, times=np.asarray(times, float))
    assert probe_video(out)["num_frames"] == 4
