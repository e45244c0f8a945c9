"""text_area measures the text's own area: burned-in subtitles (ffmpeg drawtext, DejaVu Sans, on
a 1280x720 photo) score within 0.8-1.3x the bounding box of their glyphs, found by drawing the
same text on black. The detector's boxes on the 512 px key frames ran 1.4-2.3x (a subtitle 1/15
of the frame high scored 0.0727 and svd_lvd's text_area <= 0.07 dropped it)."""

import subprocess
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import skimage.data
from PIL import Image

from data_curation.clip_frames import read_clip
from data_curation.scorers import ocr
from video.media import ffmpeg_exe, read_video, write_video

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
W, H = 1280, 720


def _draw(src: Path, dst: Path, lines: list[str], size: int, border: str) -> Path:
    """``lines`` burned into ``src`` by drawtext, centred, the last one 2 line heights above the
    bottom, white with a 2 px outline of colour ``border``."""
    step = 1.4 * size
    vf = ",".join(f"drawtext=fontfile={FONT}:text='{t}':fontsize={size}:fontcolor=white:borderw=2:"
                  f"bordercolor={border}:x=(w-tw)/2:y=h-2*{size}-{(len(lines) - 1 - i) * step}"
                  for i, t in enumerate(lines))
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(src), "-vf", vf, "-c:v", "libx264",
                    "-crf", "16", "-pix_fmt", "yuv420p", str(dst)], check=True)
    return dst


def _glyph_boxes(path: Path) -> float:
    """Share of the frame in the bounding boxes of the text lines drawn white on black."""
    lit = read_video(path)[0].max(2) > 60
    rows = np.flatnonzero(lit.any(1))
    area = 0
    for band in np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1):
        cols = np.flatnonzero(lit[band[0]:band[-1] + 1].any(0))
        area += (band[-1] - band[0] + 1) * (cols[-1] - cols[0] + 1)
    return area / (W * H)


@pytest.fixture(scope="module")
def backgrounds(tmp_path_factory):
    d = tmp_path_factory.mktemp("ocr_bg")
    photo = np.asarray(Image.fromarray(skimage.data.coffee()).resize((W, H), Image.BICUBIC))
    return (write_video(np.stack([photo] * 3), d / "photo.mp4", fps=25),
            write_video(np.zeros((3, H, W, 3), np.uint8), d / "black.mp4", fps=25))


@pytest.mark.parametrize("lines,size", [
    (["The quick brown fox jumps over the lazy dog"], 48),  # 1/15 of the height
    (["The quick brown fox jumps over the lazy dog"], 24),  # 1/30
    (["I never said she stole my money", "Well then who did, if not her?"], 32),  # 2 lines, 1/22
])
def test_subtitle_text_area_is_its_glyph_box(tmp_path, backgrounds, lines, size):
    photo, black = backgrounds
    truth = _glyph_boxes(_draw(black, tmp_path / "glyphs.mp4", lines, size, "white"))
    clip = read_clip(str(_draw(photo, tmp_path / "sub.mp4", lines, size, "black")), 0, 3, 25.0)
    area = ocr.Scorer().score(clip)["text_area"]
    assert 0.8 * truth <= area <= 1.3 * truth, (area, truth)


def test_overlapping_boxes_count_once():
    """Two reads whose boxes overlap (close lines, a word read twice) cover their union."""
    res = [[[[0, 0], [10, 0], [10, 4], [0, 4]], "HELLO", 0.9], [[[0, 2], [10, 2], [10, 6], [0, 6]], "WORLD", 0.9]]
    assert ocr.text_area(res, 10, 10) == pytest.approx(0.6)
    assert ocr.covered([[[-5, -5], [20, -5], [20, 20], [-5, 20]]], 10, 10) == pytest.approx(1.0)
