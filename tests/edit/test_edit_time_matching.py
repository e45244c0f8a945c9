"""``video edit`` matches a mask video and a --background clip to the video by time: a mask as
long as the video at half its rate is taken (its last frame, not one past it), a
variable-rate video takes the mask frames at its frames' real times (not its average rate),
and a background clip at another rate plays at its own speed, looped with a warning when
shorter, and a warning when it is cropped. Media made here with ffmpeg's lavfi sources: a red
video (a hue shift of 180 turns exactly the masked pixels cyan) and a mask or background with
a 4-pixel white band that moves 4 pixels a frame, so the band's place tells the frame used."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from video.cli import main
from video.edit.mask import load_frames
from video.media import ffmpeg_exe, read_video_timed


def _lavfi(path, graph: str, *extra: str) -> str:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", graph, *extra, "-pix_fmt",
                    "yuv420p", str(path)], check=True)
    return str(path)


def _band_clip(path, rate: int, frames: int, size: str = "64x48") -> str:
    """Frame j: black with a white band 4 pixels wide at x = 4j (lossless)."""
    return _lavfi(path, f"color=black:size={size}:rate={rate}[b];color=white:size=4x{size.split('x')[1]}:rate={rate}"
                        f"[w];[b][w]overlay=x={4 * rate}*t:y=0", "-frames:v", str(frames), "-crf", "0")


def _red(path, rate: int, frames: int, size: str = "64x48", setpts: str | None = None) -> str:
    graph = f"color=red:size={size}:rate={rate}" + (f",setpts='{setpts}'" if setpts else "")
    return _lavfi(path, graph, "-frames:v", str(frames), *(["-fps_mode", "passthrough"] if setpts else []))


def _run(argv, capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _recoloured_bands(video: str, out) -> list[int]:
    """Per frame, the band (x // 4) the recolour changed: its first changed column."""
    src, got = load_frames(video).astype(int), load_frames(out).astype(int)
    changed = np.abs(got - src).sum(-1).max(1)  # (F, W)
    assert all(c.max() > 100 for c in changed)  # each frame has a recoloured band
    return [int(np.argmax(c > 100)) // 4 for c in changed]


def test_a_mask_as_long_as_the_video_at_half_the_rate_is_taken(tmp_path, capsys):
    """1 s at 30 fps with a 1 s mask at 15 fps: video frame i takes mask frame round(i / 2),
    the last one (29 -> 14.5) the mask's last, 14. It was refused: "lasts 1.00 s ...; the video
    1.00 s". A mask that ends before the video's last frame begins is still refused."""
    video = _red(tmp_path / "v30.mp4", 30, 30)
    mask = _band_clip(tmp_path / "m15.mp4", 15, 15)
    code, err = _run(["edit", "recolour", "--video", video, "--mask", mask, "--hue", "180", "--feather", "0",
                      "--output", tmp_path / "out"], capsys)
    assert code == 0, err
    assert _recoloured_bands(video, tmp_path / "out") == [min((i + 1) // 2, 14) for i in range(30)]
    short = _band_clip(tmp_path / "m14.mp4", 15, 14)  # 0.93 s: the video's last frame starts at 0.97 s
    code, err = _run(["edit", "recolour", "--video", video, "--mask", short, "--hue", "180",
                      "--output", tmp_path / "o2"], capsys)
    assert code == 2 and "the mask video m14.mp4 lasts 0.93 s (14 frames at 15 fps); the video 1.00 s" in err, err


def test_a_variable_rate_video_takes_the_mask_frames_at_its_own_times(tmp_path, capsys):
    """Ten frames at 0, 0.1 .. 0.4 s, then 1.0 .. 1.4 s (6.67 fps on average) with a 20 fps
    mask: frame times x 20 are mask frames 0, 2 .. 8, 20, 22 .. 28. By the average rate they
    were 0, 3, 6 .. 27."""
    video = _red(tmp_path / "vfr.mp4", 10, 10, "128x32", "if(lt(N,5),N,N+5)/(10*TB)")
    times = read_video_timed(video)[1]
    assert np.allclose(times, [0, .1, .2, .3, .4, 1.0, 1.1, 1.2, 1.3, 1.4], atol=1e-3)  # the clip is as meant
    mask = _band_clip(tmp_path / "m20.mp4", 20, 32, "128x32")
    code, err = _run(["edit", "recolour", "--video", video, "--mask", mask, "--hue", "180", "--feather", "0",
                      "--output", tmp_path / "out"], capsys)
    assert code == 0, err
    assert _recoloured_bands(video, tmp_path / "out") == [0, 2, 4, 6, 8, 20, 22, 24, 26, 28]


def _background_bands(out) -> list[int]:
    """Per frame, the white band of the background below the subject box (rows 16 on)."""
    got = load_frames(out).astype(int)[:, 16:].mean(-1).mean(1)  # (F, W)
    return [int(np.argmax(c > 128)) // 4 for c in got]


def test_a_background_clip_plays_at_its_own_rate_and_a_short_one_loops_with_a_warning(tmp_path, capsys):
    """A 0.5 s clip at 10 fps under a 1 s video at 25 fps: video frame i shows the clip frame
    nearest its time (i / 25, looped every 0.5 s), with one warning naming both lengths. Used
    frame by frame, it played 2.5x fast (frame i % 5), silently. A clip at the video's own rate
    and as long goes frame by frame, with no warning."""
    video = _red(tmp_path / "v25.mp4", 25, 25)
    slow = _band_clip(tmp_path / "bg10.mp4", 10, 5)
    code, err = _run(["edit", "background", "--video", video, "--box", "0,0,8,8", "--background", slow,
                      "--output", tmp_path / "slow"], capsys)
    assert code == 0, err
    assert _background_bands(tmp_path / "slow") == [min(round(i / 25 % 0.5 * 10), 4) for i in range(25)]
    assert [line for line in err.splitlines() if "looped" in line] == [
        "warning: the background clip lasts 0.50 s and the video 1.00 s: the clip is looped"], err
    same = _band_clip(tmp_path / "bg25.mp4", 25, 16)
    code, err = _run(["edit", "background", "--video", video, "--box", "0,0,8,8", "--background", same,
                      "--frames", "16", "--output", tmp_path / "same"], capsys)
    assert code == 0 and "looped" not in err, err
    assert _background_bands(tmp_path / "same") == list(range(16))


def test_a_background_of_another_shape_is_said(tmp_path, capsys):
    """A square background under a 64x48 video is cover-cropped with one warning naming both
    sizes, as a mask is; one of the video's shape at another size is not warned about."""
    from PIL import Image

    video = _red(tmp_path / "v.mp4", 10, 3)
    Image.new("RGB", (48, 48), (0, 0, 255)).save(tmp_path / "square.png")
    Image.new("RGB", (32, 24), (0, 0, 255)).save(tmp_path / "half.png")
    code, err = _run(["edit", "background", "--video", video, "--box", "0,0,8,8", "--background",
                      tmp_path / "square.png", "--output", tmp_path / "a"], capsys)
    warned = [line for line in err.splitlines() if "aspect ratio" in line]
    assert code == 0 and len(warned) == 1 and "the background is 48x48 and the video 64x48" in warned[0], err
    assert "looped" not in err  # one image is a still background
    code, err = _run(["edit", "background", "--video", video, "--box", "0,0,8,8", "--background",
                      tmp_path / "half.png", "--output", tmp_path / "b"], capsys)
    assert code == 0 and "aspect ratio" not in err, err


@pytest.mark.parametrize("times, source, expected", [
    ([0.0, 0.05, 0.1, 0.96, 2.0], [0.0, 0.1, 0.2, 0.9], [0, 1, 1, 3, 3]),  # a tie takes the later; past the end: last
    ([0.0, 0.5], [0.0], [0, 0]),
])
def test_nearest_frames(times, source, expected):
    from video.edit.mask import nearest_frames, time_indices

    assert nearest_frames(np.array(times), np.array(source)).tolist() == expected
    assert time_indices(30, 30, 15, source_frames=15)[-1] == 14 and time_indices(30, 30, 15)[-1] == 15
