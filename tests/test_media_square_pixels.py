"""A GIF, a folder of PNGs or an image written from an anamorphic source (SAR 32:27) is
resampled to square pixels, as a player shows the source (those formats store no pixel shape;
they held the squeezed frames); an mp4 keeps the frames and tags the shape."""

import subprocess

import numpy as np
import pytest
from PIL import Image

from video.media import ffmpeg_exe, probe_video, read_video, write_video


@pytest.fixture(scope="module")
def anamorphic(tmp_path_factory):
    """8 frames of 64x48 stored pixels that are 32:27 wide (shown 76x48), and the SAR as read."""
    path = tmp_path_factory.mktemp("anam") / "anam.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=64x48:rate=8:duration=1", "-vf", "setsar=32/27", "-pix_fmt", "yuv420p", str(path)],
                   check=True)
    return read_video(path), probe_video(path)["sar"]


@pytest.mark.parametrize("name", ["out.gif", "frames", "one.png"])
def test_formats_without_a_pixel_shape_are_written_square(tmp_path, anamorphic, name):
    frames, sar = anamorphic
    assert sar == "32:27"
    frames = frames[:1] if name == "one.png" else frames
    with pytest.warns(UserWarning, match=rf"{name}: .* cannot store the source's pixel shape \(SAR 32:27\); "
                                         r"frames resampled from 64x48 to 76x48 square pixels"):
        out = write_video(frames, tmp_path / name, fps=8, sar=sar)
    first = out / "00000.png" if out.is_dir() else out
    with Image.open(first) as im:
        assert im.size == (76, 48)
    if name == "out.gif":
        assert probe_video(out)["num_frames"] == 8


def test_an_mp4_keeps_the_stored_frames_and_tags_the_shape(tmp_path, anamorphic):
    frames, sar = anamorphic
    info = probe_video(write_video(frames, tmp_path / "out.mp4", fps=8, sar=sar))
    assert (info["width"], info["height"], info["sar"]) == (64, 48, "32:27")


def test_square_pixels_are_left_as_they_are(tmp_path, anamorphic):
    frames, _ = anamorphic
    out = write_video(frames[:1], tmp_path / "sq.png", sar="1:1")
    assert np.array_equal(np.asarray(Image.open(out)), frames[0])
