"""Letterbox detection on dim footage: a dim scene has no bars (a cat photo at 15% brightness
read as 96% border and the quick recipe dropped it), while real bars, black or the near-black
of real encodes, still measure exactly, around a bright or a dim picture."""

import subprocess

import numpy as np
import pytest
import skimage.data
from PIL import Image

from data_curation.clip_frames import read_clip
from data_curation.scorers import borders
from video.media import ffmpeg_exe, write_video


def _photo(name: str, gain: float) -> np.ndarray:
    img = Image.fromarray(getattr(skimage.data, name)()).resize((640, 480), Image.BICUBIC)
    return (np.asarray(img, np.float32) * gain).astype(np.uint8)


def _border(path) -> float:
    return borders.Scorer().score(read_clip(str(path), 0, 5, 25.0))["border_fraction"]


@pytest.mark.parametrize("name,gain", [("chelsea", 0.15), ("chelsea", 0.18), ("coffee", 0.10), ("astronaut", 0.08)])
def test_a_dim_scene_has_no_border(tmp_path, name, gain):
    """Dim rows at a frame's edge shade into the picture: no edge, so no bar (on the cat at 15%
    and 18% ffmpeg's cropdetect finds none either; on the two dimmer ones it is fooled too)."""
    p = write_video(np.stack([_photo(name, gain)] * 5), tmp_path / "dim.mp4", fps=25)
    assert _border(p) == 0.0


def test_a_dark_night_scene_with_a_lamp_has_no_border(tmp_path):
    y, x = np.mgrid[:480, :640]
    f = np.repeat((12 * np.exp(-((x - 320) ** 2 + (y - 240) ** 2) / (2 * 150**2)) + 6)[..., None], 3, 2)
    f[200:280, 300:340] = 200
    assert _border(write_video(np.stack([f.astype(np.uint8)] * 5), tmp_path / "night.mp4", fps=25)) == 0.0


@pytest.mark.parametrize("gain", [1.0, 0.15])
@pytest.mark.parametrize("pad", ["black", "0x050505"])  # near-black: luma ~20 in video range
def test_real_letterbox_bars_measure_exactly(tmp_path, gain, pad):
    """A 640x360 picture padded by ffmpeg to 640x480 (60 px bars: 0.25 of the frame), with
    grain over bars and picture and a lossy encode; around a normal and a dim picture."""
    src = write_video(np.stack([_photo("coffee", gain)[60:420]] * 5), tmp_path / "src.mp4", fps=25)
    out = tmp_path / "boxed.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(src), "-vf",
                    f"pad=640:480:0:60:{pad},noise=alls=4:allf=t", "-c:v", "libx264", "-crf", "28",
                    "-pix_fmt", "yuv420p", str(out)], check=True)
    assert _border(out) == pytest.approx(0.25, abs=1e-9)


def test_pillarbox_and_window_bars_measure_exactly(tmp_path):
    f = np.zeros((720, 1280, 3), np.uint8)
    f[90:630, 160:1120] = np.asarray(Image.fromarray(skimage.data.astronaut()).resize((960, 540)))
    p = write_video(np.stack([f] * 5), tmp_path / "window.mp4", fps=25)
    assert _border(p) == pytest.approx(1 - 960 * 540 / (1280 * 720), abs=1e-9)
