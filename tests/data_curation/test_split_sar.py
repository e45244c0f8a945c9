"""Extracted clips keep the source's pixel shape (review: a source of SAR 2:1 gave clips tagged
square, since PyAV's encoder starts square, and training, which stretches frames by their SAR,
learnt them squeezed to half width). Sources are made by ffmpeg with ``setsar``."""

import subprocess
from pathlib import Path

import av

from data_curation.split import extract_clip, keyframes
from video.media import ffmpeg_exe, sar_of
from video.training.manifest_clips import file_pixel_aspect


def _anamorphic(path: Path, *rotate: str) -> Path:
    """4 s of testsrc2 at 8 fps, 96x48 pixels each twice as wide as high, a keyframe every 8
    frames; ``rotate``: ffmpeg input options giving it a display rotation."""
    plain = path.with_name("plain.mp4")
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=96x48:rate=8:duration=4",
                    "-vf", "setsar=2", "-c:v", "libx264", "-g", "8", "-pix_fmt", "yuv420p", str(plain)],
                   check=True, timeout=60)
    if not rotate:
        return plain
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *rotate, "-i", str(plain), "-c", "copy", str(path)],
                   check=True, timeout=60)
    return path


def _sar(path: Path) -> str | None:
    with av.open(str(path)) as c:
        return sar_of(c.streams.video[0])


def test_copied_and_reencoded_clips_keep_the_sar(tmp_path):
    src = _anamorphic(tmp_path / "src.mp4")
    assert _sar(src) == "2:1"
    kf = set(keyframes(src))
    for (start, end), method in [((8, 24), "copy"), ((5, 21), "encode"), ((0, 16), "copy")]:
        path, used = extract_clip(src, start, end, 8.0, tmp_path / f"clip{start}.mp4", kf)
        assert used == method
        assert _sar(path) == "2:1" and file_pixel_aspect(path) == 2.0, (start, end, method)


def test_a_quarter_turned_source_gives_upright_clips_with_the_sar_swapped(tmp_path):
    """Stored 96x48 of 2:1 pixels, shown turned 90 degrees: the clip's frames are stored upright
    (48x96), so each pixel is now twice as high as wide."""
    src = _anamorphic(tmp_path / "rotated.mp4", "-display_rotation", "90")
    path, used = extract_clip(src, 8, 24, 8.0, tmp_path / "clip.mp4", set(keyframes(src)))
    assert used == "encode"
    with av.open(str(path)) as c:
        first = next(c.decode(video=0))
        assert (first.width, first.height) == (48, 96)
    assert _sar(path) == "1:2" and file_pixel_aspect(path) == 0.5
