"""A re-encoded clip keeps the source's colour tags (review: the encode path of ``extract``
copied only the range, so a BT.709 source's clip was written with its BT.709 samples but no
matrix tag, and read back as BT.601, shifted by up to 33 levels; a rotated source's frames were
even converted back to YUV in BT.601). Sources are smooth, saturated gradients encoded by
ffmpeg with a known matrix, range and tags; each clip is compared with the source as
:func:`video.media.read_video` shows it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from data_curation.split import extract_clip, keyframes
from video.media import ffmpeg_exe, read_video

FPS = 12
BT709 = ("bt709", "tv", "bt709", "bt709")  # ffmpeg's names: matrix, range, primaries, transfer
BT601 = ("smpte170m", "tv", "smpte170m", "smpte170m")


def _source(path: Path, size: tuple[int, int], tags: tuple[str, ...] | None, rotate: str | None = None) -> Path:
    """2 s of a drifting colour gradient, ``size`` (w, h), a keyframe every 12 frames, encoded in
    the matrix and range ``tags`` names and tagged with them (None: BT.601 samples, no tags).
    An odd size is stored 4:4:4 (4:2:0 needs an even one)."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    frames = np.stack([np.stack([np.sin(3 * x + t / 8), y, 1 - x], -1) for t in range(2 * FPS)])
    rgb = (40 + 180 * frames.clip(0, 1)).astype(np.uint8).tobytes()
    fmt = "yuv444p" if w % 2 or h % 2 else "yuv420p"
    vf = f"format={fmt}" if tags is None else (
        f"scale=out_color_matrix={tags[0]}:out_range={tags[1]},format={fmt},"
        f"setparams=colorspace={tags[0]}:range={tags[1]}:color_primaries={tags[2]}:color_trc={tags[3]}")
    opts = [] if tags is None else ["-colorspace", tags[0], "-color_range", tags[1], "-color_primaries", tags[2],
                                    "-color_trc", tags[3]]
    plain = path.with_name("plain_" + path.name)
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                    "-r", str(FPS), "-i", "-", "-vf", vf, "-c:v", "libx264", "-crf", "10", "-g", str(FPS), *opts,
                    str(plain)], input=rgb, check=True, timeout=60)
    if rotate is None:
        return plain
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", rotate, "-i", str(plain),
                    "-c", "copy", str(path)], check=True, timeout=60)
    return path


def _tags(path: Path) -> tuple[str, str, str, str]:
    """(matrix, range, primaries, transfer) of the first decoded frame, in ffmpeg's names
    ("unknown" where untagged): what the stream's VUI says, as every reader sees it."""
    from av.video.reformatter import ColorPrimaries, ColorRange, ColorTrc

    spaces = {1: "bt709", 2: "unknown", 5: "bt470bg", 6: "smpte170m"}
    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
        return (spaces.get(f.colorspace, str(f.colorspace)), {0: "unknown", 1: "tv", 2: "pc"}[ColorRange(f.color_range)],
                ColorPrimaries(f.color_primaries).name.lower().replace("unspecified", "unknown"),
                ColorTrc(f.color_trc).name.lower().replace("unspecified", "unknown"))


def _clip(src: Path, dest: Path) -> np.ndarray:
    """Frames 3..15 of ``src`` (3 is no keyframe: re-encoded), read back; asserts the method."""
    path, method = extract_clip(src, 3, 15, float(FPS), dest, keyframe_set=set(keyframes(src)))
    assert method == "encode"
    return read_video(path).astype(int)


@pytest.mark.parametrize("size, rotate", [((96, 64), None), ((96, 64), "90"), ((97, 65), None), ((97, 65), "90")],
                         ids=["plain", "rotated", "odd-size-cropped", "odd-size-rotated"])
def test_a_bt709_sources_clip_keeps_its_tags_and_colours(tmp_path, size, rotate):
    src = _source(tmp_path / "src.mp4", size, BT709, rotate)
    assert _tags(src) == BT709
    clip = _clip(src, tmp_path / "clip.mp4")
    assert _tags(tmp_path / "clip.mp4") == BT709
    shown = read_video(src)[3:15].astype(int)[:, :clip.shape[1], :clip.shape[2]]  # an odd size is cropped to even
    assert clip.shape == shown.shape
    diff = np.abs(clip - shown)  # read as BT.601 the clip is off by ~10-20 levels on these colours
    assert diff.mean() < 2 and np.percentile(diff, 99) <= 6, (diff.mean(), np.percentile(diff, 99))


@pytest.mark.parametrize("rotate", [None, "90"])
def test_a_bt601_sources_clip_stays_bt601(tmp_path, rotate):
    src = _source(tmp_path / "src.mp4", (96, 64), BT601, rotate)
    clip = _clip(src, tmp_path / "clip.mp4")
    assert _tags(src) == _tags(tmp_path / "clip.mp4") == BT601
    diff = np.abs(clip - read_video(src)[3:15].astype(int))
    assert diff.mean() < 2 and np.percentile(diff, 99) <= 6


@pytest.mark.parametrize("rotate", [None, "90"])
def test_an_untagged_sources_clip_stays_untagged(tmp_path, rotate):
    """No tag is made up: BT.601 samples (libswscale's default for untagged YUV) stay BT.601
    and untagged, as they were written before tags were copied."""
    src = _source(tmp_path / "src.mp4", (96, 64), None, rotate)
    assert _tags(src)[0] == "unknown"
    clip = _clip(src, tmp_path / "clip.mp4")
    assert _tags(tmp_path / "clip.mp4") == _tags(src)
    diff = np.abs(clip - read_video(src)[3:15].astype(int))
    assert diff.mean() < 2 and np.percentile(diff, 99) <= 6


def test_an_rgb_sources_clip_is_not_tagged_rgb(tmp_path):
    """An RGB source (matrix "gbr", AVCOL_SPC_RGB) is written as YUV: the tag is not copied,
    which would tell players to show the Y, U and V planes as G, B and R."""
    src = tmp_path / "rgb.mkv"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc2=size=96x64:rate={FPS}",
                    "-t", "2", "-vf", "format=gbrp", "-c:v", "ffv1", "-g", str(FPS), str(src)], check=True, timeout=60)
    extract_clip(src, 3, 15, float(FPS), tmp_path / "clip.mp4", keyframe_set=None)
    with av.open(str(tmp_path / "clip.mp4")) as c:
        assert next(c.decode(video=0)).colorspace == 2  # AVCOL_SPC_UNSPECIFIED
