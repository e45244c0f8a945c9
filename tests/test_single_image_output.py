"""An output named like an image (``x.png``, ``.jpg``, ``.jpeg``, ``.webp``) gets one image file
for a one-frame result (it used to be a folder ``x.png/00000.png``, and ``.jpg`` was refused);
more frames to such a name are one line suggesting a folder or an .mp4, before any work; an
existing folder keeps getting PNG frames. Real pictures (scikit-image's astronaut), read back
with PIL."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from video.media import MediaError, check_output, write_video


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[80:176, 160:288])  # 96x128, a face


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse)) if mse else float("inf")


def test_one_frame_to_a_png_name_is_that_png(tmp_path, frame):
    out = write_video(frame[None], tmp_path / "one.png")
    assert out == tmp_path / "one.png" and out.is_file()
    with Image.open(out) as im:
        assert im.format == "PNG" and np.array_equal(np.asarray(im.convert("RGB")), frame)  # lossless
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.png"]  # no temporary left behind


@pytest.mark.parametrize("name,kind", [("one.jpg", "JPEG"), ("one.JPEG", "JPEG"), ("one.webp", "WEBP")])
def test_one_frame_to_a_lossy_image_name(tmp_path, frame, name, kind):
    check_output(tmp_path / name)  # accepted before the render (.jpg was "cannot write")
    out = write_video(frame[None], tmp_path / name)
    with Image.open(out) as im:
        assert im.format == kind and im.size == (128, 96)
        assert psnr(np.asarray(im.convert("RGB")), frame) > 30  # quality 95


def test_several_frames_to_an_image_name_is_one_line(tmp_path, frame):
    frames = np.stack([frame, frame[::-1]])
    with pytest.raises(MediaError) as e:
        write_video(frames, tmp_path / "clip.png")
    msg = str(e.value)
    assert "\n" not in msg and "2 frames" in msg and "(clip)" in msg and "clip.mp4" in msg, msg
    assert not list(tmp_path.iterdir())
    with pytest.raises(MediaError, match="cannot write 3 frames to the image clip.jpg"):
        check_output(tmp_path / "clip.jpg", num_frames=3)  # callers that know the count refuse early
    check_output(tmp_path / "clip.jpg", num_frames=1)


def test_an_existing_folder_named_like_an_image_still_gets_frames(tmp_path, frame):
    (tmp_path / "frames.png").mkdir()
    out = write_video(np.stack([frame, frame[::-1]]), tmp_path / "frames.png")
    got = sorted(out.glob("*.png"))
    assert out.is_dir() and [p.name for p in got] == ["00000.png", "00001.png"]
    assert np.array_equal(np.asarray(Image.open(got[1])), frame[::-1])


def test_upscale_a_photo_to_a_png_name(tmp_path, frame, cli):
    """The walkthrough's ``video upscale photo.png --model bicubic -o photo2x.png``; and a
    three-frame input to an image name is refused before any work."""
    from video.edit.upscale import bicubic_sharpen

    Image.fromarray(frame).save(tmp_path / "photo.png")
    p = cli("upscale", "photo.png", "--model", "bicubic", "-o", "photo2x.png", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "wrote photo2x.png (1 frame, 256x192)" in p.stdout, p.stdout  # "1 frame", not "1 frames"
    with Image.open(tmp_path / "photo2x.png") as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), bicubic_sharpen(frame[None], 2)[0])
    p = cli("upscale", "photo.png", "--model", "bicubic", "--frames", "3", "-o", "x.png", cwd=tmp_path)
    assert p.errors == ["error: --frames 3: the video has 1 frame"], p.stderr  # not "1 frames"
    (tmp_path / "clip").mkdir()
    for i in range(3):
        Image.fromarray(frame).save(tmp_path / "clip" / f"{i}.png")
    p = cli("upscale", "clip", "--model", "bicubic", "-o", "big.png", cwd=tmp_path)
    assert p.returncode == 2 and p.errors == ["error: cannot write 3 frames to the image big.png: name a folder "
                                              "(big) for PNG frames, or big.mp4"], p.stderr
    assert not (tmp_path / "big.png").exists()


def test_txt2vid_one_frame_to_a_jpg(tmp_path, cli):
    """``--frames 1 --output one.jpg`` through the render command (img2vid and txt2vid write alike)."""
    p = cli("txt2vid", "--model", "tiny", "--frames", "1", "--steps", "1", "--height", "32", "--width", "32",
            "--output", "one.jpg", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    with Image.open(tmp_path / "one.jpg") as im:
        assert im.format == "JPEG" and im.size == (32, 32)


@pytest.mark.parametrize("command,frames", [("img2vid", 8), ("txt2vid", 9)])
def test_the_models_frame_count_to_an_image_name_is_refused_before_the_render(tmp_path, cli, command, frames):
    """--frames unset: the model's default (the tiny models': 8 and 9) is known once it loads,
    still before the render; the render used to run and then fail in write_video."""
    p = cli(command, "--model", "tiny", "--steps", "1", "--output", tmp_path / "x.png")
    assert p.returncode == 2 and len(p.errors) == 1 and f"cannot write {frames} frames to the image x.png" in p.errors[0], \
        p.stderr
    assert "denoise" not in p.stderr and not (tmp_path / "x.png").exists()
