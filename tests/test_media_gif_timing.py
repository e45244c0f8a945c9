"""A GIF output keeps a GIF's own frame delays (its centisecond clock, rounded so the length
stays right), and never plays slower than asked in a browser (a delay under 2/100 s plays as
1/10 s there): above 50 fps it is written at 50 fps timing, with one warning line."""

import warnings

import numpy as np
import pytest
from PIL import Image

from video.media import read_video_timed, write_video
from video.media.write import gif_stamps

DELAYS = [500, 100, 100, 500, 100, 100]  # ms, as a variable-rate GIF stores them


def _frames(n: int, size: int = 32) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, size, size, 3)).astype(np.uint8)


def _delays(path) -> list[int]:
    """Each frame's delay in ms, as the GIF stores it (PIL reads the graphic control blocks)."""
    with Image.open(path) as im:
        out = []
        for i in range(im.n_frames):
            im.seek(i)
            out.append(im.info["duration"])
    return out


@pytest.fixture
def vargif(tmp_path):
    frames = [Image.fromarray(f) for f in _frames(len(DELAYS))]
    path = tmp_path / "vargif.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=DELAYS, loop=0)
    return path


def test_write_video_keeps_a_gifs_own_delays(vargif, tmp_path):
    frames, times = read_video_timed(vargif)
    assert np.allclose(times, [0, 0.5, 0.6, 0.7, 1.2, 1.3])
    out = write_video(frames, tmp_path / "out.gif", fps=6 / 1.4, times=times)  # at the average rate: 230 ms each
    assert _delays(out) == DELAYS  # the last frame lasts as long as the usual one (the median), as in an mp4


@pytest.mark.parametrize("command", ["upscale", "edit"])
def test_gif_to_gif_edits_keep_the_delays(vargif, tmp_path, cli, command):
    out = tmp_path / "out.gif"
    argv = (["upscale", vargif, "--model", "bicubic", "--output", out] if command == "upscale" else
            ["edit", "recolour", "--video", vargif, "--box", "1,1,30,30", "--hue", "90", "--output", out])
    r = cli(*argv)
    assert r.returncode == 0, r.stderr
    assert _delays(out) == DELAYS


def test_gif_times_are_rounded_cumulatively():
    """1/30 s frames on a centisecond clock: 3, 4, 3 cs (the length stays 1/10 s), not 3 each;
    frames closer than 2 cs are moved apart, and the ones after catch up."""
    stamps, moved = gif_stamps(np.arange(4) / 30)
    assert np.allclose(np.diff(stamps), [0.03, 0.04, 0.03]) and not moved
    stamps, moved = gif_stamps(np.array([0, 0.005, 0.01, 0.2, 0.5]))
    assert np.allclose(stamps, [0, 0.02, 0.04, 0.2, 0.5]) and moved


def test_uneven_gif_times_keep_the_total_length(tmp_path):
    times = np.r_[np.arange(6) / 30, 0.5 + np.arange(6) / 24]  # 30 then 24 fps: 33.3 and 41.7 ms frames
    out = write_video(_frames(12), tmp_path / "out.gif", fps=12 / 0.75, times=times)
    got = _delays(out)
    assert np.cumsum(got)[:-1].tolist() == [round(t * 100) * 10 for t in times[1:]]


def test_gif_above_50_fps_is_written_at_50_fps_timing_with_one_warning(tmp_path):
    with pytest.warns(UserWarning, match="60 fps plays at 10 fps in browsers") as caught:
        out = write_video(_frames(8), tmp_path / "fast.gif", fps=60)
    assert len(caught) == 1
    assert _delays(out) == [20] * 8  # 60 fps made 10 ms delays, which browsers play as 100 ms
    with pytest.warns(UserWarning, match="closer than 2/100 s"):  # a source's own times, too
        out = write_video(_frames(4), tmp_path / "vfr.gif", fps=8, times=np.array([0, 0.005, 0.01, 0.5]))
    assert _delays(out)[:3] == [20, 20, 460]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _delays(write_video(_frames(4), tmp_path / "ok.gif", fps=50)) == [20] * 4


def test_a_still_gif_at_any_rate_and_a_long_last_frame(tmp_path):
    """A one-frame GIF has no playback rate: no 50 fps warning; a last frame held over 655 s
    (a slideshow) is capped at the GIF format's 16-bit delay instead of failing in ffmpeg."""
    import warnings as w

    import numpy as np

    from video.media import write_video

    with w.catch_warnings():
        w.simplefilter("error")  # any warning fails
        write_video(np.zeros((1, 8, 8, 3), np.uint8), tmp_path / "still.gif", fps=60)
    write_video(np.zeros((3, 8, 8, 3), np.uint8), tmp_path / "long.gif", fps=1, times=[0.0, 700.0, 1400.0])
    assert (tmp_path / "long.gif").stat().st_size > 0
