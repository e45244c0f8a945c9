"""A complete file whose last frame is held (a GIF's closing frame shown 3 s, a variable-rate
MP4 made from it) is read without a "truncated" warning: the last frame covers its own
duration, not the gap before it (the check called both files cut short at frame 5 of 6)."""

import subprocess
import warnings

import numpy as np
from PIL import Image

from video.media import ffmpeg_exe, read_video_timed


def _held_gif(path):
    frames = [Image.fromarray(np.full((32, 32, 3), 40 * k, np.uint8)) for k in range(5)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[100, 100, 100, 100, 3000], loop=0)
    return path


def _read_quietly(path):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        frames, times = read_video_timed(path)
    return frames, times, [str(x.message) for x in w]


def test_a_gif_whose_last_frame_is_held_is_not_truncated(tmp_path):
    frames, times, said = _read_quietly(_held_gif(tmp_path / "hold.gif"))
    assert len(frames) == 5 and np.allclose(times, [0, 0.1, 0.2, 0.3, 0.4])
    assert said == []


def test_a_variable_rate_mp4_whose_last_frame_is_held_is_not_truncated(tmp_path):
    mp4 = tmp_path / "hold.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(_held_gif(tmp_path / "hold.gif")),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-fps_mode", "passthrough", str(mp4)], check=True)
    frames, times, said = _read_quietly(mp4)
    assert len(frames) == 5 and np.allclose(times, [0, 0.1, 0.2, 0.3, 0.4])
    assert said == []
