"""Reading a frame's display matrix leaves no reference cycle: PyAV caches ``frame.side_data`` on
the frame and that container points back at it, so every frame read upright (and its decoder's
threads and frame pool) lived until the garbage collector ran; a Ray worker reading clips grew
from 19 to 201 threads. With the collector off, N reads leave no frame and no thread behind, and
a rotated clip still reads as ffmpeg shows it."""

import gc
import os
import subprocess

import numpy as np
import pytest

from data_curation.clip_frames import read_clip
from video.media import ffmpeg_exe, read_grid_frames, read_video, write_video


def _ffmpeg(*args):
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True)


@pytest.fixture(scope="module")
def rotated(tmp_path_factory):
    """A 1 s 96x64 landscape clip tagged to be shown turned 90 degrees (a phone's portrait video)."""
    d = tmp_path_factory.mktemp("turned")
    x = np.arange(96)[None, :, None]
    y = np.arange(64)[:, None, None]
    frames = np.stack([np.broadcast_to((x * 2 + y + 7 * t) % 256, (64, 96, 3)) for t in range(25)]).astype(np.uint8)
    plain = write_video(frames, d / "plain.mp4", fps=25)
    _ffmpeg("-display_rotation", 90, "-i", plain, "-c", "copy", d / "rotated.mp4")
    return d / "rotated.mp4"


def _shown_by_ffmpeg(path):
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(96, 64, 3).astype(int)


def _frames_alive() -> int:
    import av

    return sum(isinstance(o, av.VideoFrame) for o in gc.get_objects())


def _threads() -> int:
    return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else 0


READERS = {
    "read_clip": lambda p: read_clip(str(p), 0, 20, 25.0).keys[0],
    "read_grid_frames": lambda p: read_grid_frames(p, [0, 10], 25.0)[0],
    "read_video": lambda p: read_video(p)[0],
}


@pytest.mark.parametrize("reader", READERS)
def test_frames_read_upright_are_freed_without_the_collector(rotated, reader):
    read = READERS[reader]
    first = read(rotated)  # imports and one-time allocations
    assert first.shape == (96, 64, 3)  # turned: portrait
    assert np.abs(first.astype(int) - _shown_by_ffmpeg(rotated)).max() <= 2
    gc.collect()
    frames, threads = _frames_alive(), _threads()
    gc.disable()
    try:
        for _ in range(8):
            read(rotated)
        assert _frames_alive() == frames
        assert _threads() == threads
    finally:
        gc.enable()
