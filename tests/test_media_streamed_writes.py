"""write_video feeds ffmpeg a frame at a time (the clip joined into one bytes object first held it
twice), refuses up front a size the encoder cannot take, reports the line of ffmpeg's output that
names a failure's cause, and gives a variable-rate clip's last frame the gap before it."""

import subprocess
import tracemalloc

import av
import numpy as np
import pytest

from video.media import MediaError, check_output, ffmpeg_exe, read_video, write_video
from video.media.ffmpeg_io import ffmpeg_error, raw_chunks, run_ffmpeg


def _clip(f=24, h=96, w=128):
    ramp = np.arange(w)[None, :, None]
    return np.stack([np.broadcast_to((ramp + 7 * i) % 256, (h, w, 3)) for i in range(f)]).astype(np.uint8)


@pytest.mark.parametrize("uneven", [False, True], ids=["raw", "nut"])
def test_the_clip_is_never_copied_whole(tmp_path, uneven):
    frames = _clip(24, 192, 256)
    times = np.concatenate([np.arange(12) / 24, 0.5 + np.arange(12) / 8]) if uneven else None
    write_video(frames[:, :8, :8], tmp_path / "warm.mp4", fps=24, times=times)  # the imports, done before
    tracemalloc.start()
    try:
        write_video(frames, tmp_path / "a.mp4", fps=24, times=times)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < frames.nbytes / 4, (peak, frames.nbytes)  # a few frames at most; it was the clip again
    assert len(read_video(tmp_path / "a.mp4")) == 24


def test_a_size_h264_cannot_take_is_refused_before_the_render(tmp_path):
    with pytest.raises(MediaError, match=r"w\.mp4: H\.264 \(mp4\) frames are at most 16384 pixels on a side, "
                                         r"got 2x17000 \(\.webm"):
        check_output(tmp_path / "w.mp4", size=(2, 17000))
    with pytest.raises(MediaError, match="at most 16384"):
        write_video(np.zeros((1, 17000, 2, 3), np.uint8), tmp_path / "w.mp4")
    check_output(tmp_path / "w.mp4", size=(16385, 2))  # its odd last column is dropped: 16384 is written
    check_output(tmp_path / "w.webm", size=(2, 17000))
    assert not list(tmp_path.iterdir())


def test_ffmpegs_failure_is_the_line_that_names_the_cause(tmp_path):
    """The real ffmpeg's output for a frame libx264 refuses: its cause comes first, eight generic
    lines after it (the last 300 characters kept were those)."""
    args = [ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "2x17000",
            "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4", str(tmp_path / "w.mp4")]
    with pytest.raises(MediaError) as e:
        run_ffmpeg(args, raw_chunks(np.zeros((1, 17000, 2, 3), np.uint8)), "w.mp4")
    assert str(e.value) == "ffmpeg failed writing w.mp4: libx264: invalid width x height (2x17000)"
    vp9 = ("[libvpx-vp9 @ 0x55d0] Failed to initialize encoder: Invalid parameter\n"
           "[libvpx-vp9 @ 0x55d0]   Additional information: g_h out of range [1..65536]\n"
           "[vost#0:0/libvpx-vp9 @ 0x55d1] [enc:libvpx-vp9 @ 0x55d2] Error while opening encoder - maybe incorrect "
           "parameters such as bit_rate, rate, width or height.\n")
    assert ffmpeg_error(vp9) == "libvpx-vp9: Failed to initialize encoder: Invalid parameter (g_h out of range [1..65536])"
    assert ffmpeg_error("\nsomething odd\nthe end\n\n") == "the end"


def test_a_variable_rate_clip_keeps_its_last_frame_and_sound(tmp_path):
    """30 fps for 1 s, then 10 fps for 1 s, with 2 s of sound: written 2.0 s long (the median gap
    made the last frame 1/30 s, 1.93 s, and cut the sound with it)."""
    sound = tmp_path / "sound.m4a"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac",
                    str(sound)], check=True)
    times = np.concatenate([np.arange(30) / 30, 1 + np.arange(10) / 10])
    out = write_video(_clip(40, 32, 32), tmp_path / "vfr.mp4", fps=20, audio=sound, times=times)
    with av.open(str(out)) as c:
        a = c.streams.audio[0]
        assert float(a.duration * a.time_base) == pytest.approx(2.0, abs=0.03)
