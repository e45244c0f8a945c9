"""An animated WebP or APNG given as a video or a mask is read as a video, timed by its frame
delays, as a GIF is (its suffix sent it to the still reader: its first frame alone, and
``video upscale anim.webp`` wrote a one-frame video without a word). A still WebP or PNG is
still one frame."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from video.edit.mask import load_frames_timed, read_levels, video_fps
from video.media import probe_video

DELAYS = [50, 100, 150, 200]  # ms


def animation(path, size: int = 16):
    """Four frames of grey 0, 60, 120, 180, shown ``DELAYS`` ms each, saved losslessly."""
    frames = [Image.fromarray(np.full((size, size, 3), 60 * i, np.uint8)) for i in range(len(DELAYS))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=DELAYS, loop=0, lossless=True)
    return path


@pytest.mark.parametrize("name", ["anim.webp", "anim.png"])
def test_an_animated_image_is_every_frame_at_its_delays(tmp_path, name):
    frames, times = load_frames_timed(animation(tmp_path / name))
    assert frames.shape == (4, 16, 16, 3) and list(frames[:, 0, 0, 0]) == [0, 60, 120, 180]
    assert np.allclose(times, [0, 0.05, 0.15, 0.3])
    assert video_fps(tmp_path / name) == pytest.approx(4 / 0.5)  # frames over the time they play
    first, _ = load_frames_timed(tmp_path / name, max_frames=2)
    assert len(first) == 2


@pytest.mark.parametrize("suffix", [".webp", ".png"])
def test_a_still_image_is_one_frame_without_timing(tmp_path, suffix):
    Image.fromarray(np.full((8, 8, 3), 7, np.uint8)).save(tmp_path / f"still{suffix}", lossless=True)
    frames, times = load_frames_timed(tmp_path / f"still{suffix}")
    assert frames.shape == (1, 8, 8, 3) and times is None and video_fps(tmp_path / f"still{suffix}") is None


def test_an_animated_mask_gives_a_mask_per_frame(tmp_path):
    levels = read_levels(str(animation(tmp_path / "mask.webp")), 4, 16, 16, fps=8.0)
    assert levels.shape == (4, 16, 16)
    assert np.allclose(levels[:, 0, 0].numpy(), np.arange(4) * 60 / 255, atol=1e-3)


def test_upscale_and_edit_write_every_frame(tmp_path, cli):
    src = animation(tmp_path / "anim.webp")
    r = cli("upscale", src, "--model", "bicubic", "--scale", "2", "--output", tmp_path / "up.mp4")
    assert r.returncode == 0, r.stderr
    assert probe_video(tmp_path / "up.mp4")["num_frames"] == 4 and "(4 frames, 32x32" in r.stdout
    assert "8 fps" in r.stdout  # 4 frames in 0.5 s of delays, not the 16 fps default
    r = cli("edit", "recolour", "--video", src, "--box", "1,1,8,8", "--hue", "90", "--output", tmp_path / "e.gif")
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "e.gif") as im:  # the source's delays kept (the last: the usual one)
        delays = []
        for i in range(im.n_frames):
            im.seek(i)
            delays.append(im.info["duration"])
    assert delays[:3] == DELAYS[:3]


@pytest.mark.parametrize("fps", [None, 8.0, 25.0])  # by index, at the mask's own rate, and matched by time
def test_an_animated_mask_with_transparency_is_its_alpha_as_a_still_is(tmp_path, fps):
    """A stroke on a transparent layer: the alpha is the mask, as for a still PNG. The frames
    were laid on white first, so the transparent background became a full mask."""
    frames = []
    for i in range(len(DELAYS)):
        a = np.zeros((16, 16, 4), np.uint8)
        a[4:12, 2 + i:10 + i] = (255, 0, 0, 255)  # an opaque red square moving right
        frames.append(Image.fromarray(a, "RGBA"))
    path = tmp_path / "mask.png"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=DELAYS, loop=0)
    still = tmp_path / "still.png"
    frames[0].save(still)
    levels = read_levels(str(path), 4, 16, 16, fps=fps).numpy()
    assert levels.shape == (4, 16, 16)
    assert levels[0].tolist() == read_levels(str(still), 1, 16, 16)[0].numpy().tolist()
    assert levels[:, 0, 15].max() == 0.0 and levels[0, 8, 5] == 1.0  # background kept, stroke regenerated
