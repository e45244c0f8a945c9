"""An --output that is one of the command's inputs is refused in one line before any model
loads (``video upscale clip.mp4 --output clip.mp4`` replaced the clip without a word); the
input stays as it was. An existing output that is no input is still replaced."""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from video.cli import main
from video.media import MediaError, check_output, write_video


def digest(path: Path) -> str:
    if path.is_dir():
        return "".join(digest(p) for p in sorted(path.iterdir()))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clip(tmp_path) -> Path:
    frames = (np.random.default_rng(0).random((4, 32, 48, 3)) * 255).astype(np.uint8)
    return write_video(frames, tmp_path / "clip.mp4", fps=8)


def refused(argv: list[str], capsys, source: Path, said: str) -> None:
    before = digest(source)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"error: {said}", err
    assert digest(source) == before  # nothing written over it


def test_upscale_onto_its_own_input_clip_photo_and_frame_folder(tmp_path, clip, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    refused(["upscale", "clip.mp4", "--scale", "2", "--model", "bicubic", "--output", "clip.mp4"], capsys, clip,
            "output clip.mp4 is the same file as the input; choose another --output")
    Image.new("RGB", (8, 8), "red").save(tmp_path / "photo.png")
    refused(["upscale", "photo.png", "--model", "bicubic", "--output", "./photo.png"], capsys, tmp_path / "photo.png",
            "output ./photo.png is the same file as the input; choose another --output")
    assert main(["upscale", "clip.mp4", "--scale", "2", "--model", "bicubic", "--output", "frames"]) == 0
    refused(["upscale", "frames", "--scale", "2", "--model", "bicubic", "--output", str(tmp_path / "frames")],
            capsys, tmp_path / "frames",
            f"output {tmp_path / 'frames'} is the same folder as the input; choose another --output")


def test_edit_output_over_video_mask_or_reference(tmp_path, clip, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink("clip.mp4", tmp_path / "link.mp4")  # another name of the same file
    refused(["edit", "recolour", "--video", "link.mp4", "--box", "8,8,24,24", "--hue", "120", "--output", "clip.mp4"],
            capsys, clip, "output clip.mp4 is the same file as the input --video; choose another --output")
    Image.new("L", (48, 32), 255).save(tmp_path / "mask.png")
    refused(["edit", "recolour", "--video", "clip.mp4", "--mask", "mask.png", "--hue", "120", "--output", "mask.png"],
            capsys, tmp_path / "mask.png", "output mask.png is the same file as the input --mask; choose another --output")
    # a PNG-folder output holding an input: writing it would delete the input
    assert main(["upscale", "clip.mp4", "--scale", "2", "--model", "bicubic", "--output", "frames"]) == 0
    refused(["edit", "inpaint", "--video", "clip.mp4", "--box", "8,8,24,24", "--reference", "frames/00000.png",
             "--output", "frames"], capsys, tmp_path / "frames",
            "output frames holds the input --reference (frames/00000.png), which writing it would delete; "
            "choose another --output")


def test_img2vid_and_animate_refuse_before_the_weights(tmp_path, clip, capsys):
    image = tmp_path / "still.png"
    Image.new("RGB", (16, 16), "blue").save(image)
    refused(["img2vid", "--model", "tiny", "--image", str(image), "--output", str(image)], capsys, image,
            f"output {image} is the same file as the input --image; choose another --output")
    refused(["animate", "--model", "tiny", "--image", str(image), "--pose", str(clip), "--face", str(clip),
             "--output", str(clip)], capsys, clip,
            f"output {clip} is the same file as the input --pose; choose another --output")


def test_an_existing_output_that_is_no_input_is_replaced(tmp_path, clip):
    other = tmp_path / "other.mp4"
    other.write_bytes(b"old")
    check_output(other, inputs={"--video": clip, "--mask": "", "--reference": []})  # no error
    with pytest.raises(MediaError, match="same file as the input --video"):
        check_output(tmp_path / "sub" / ".." / "clip.mp4", inputs={"--video": clip})
    assert main(["upscale", str(clip), "--scale", "2", "--model", "bicubic", "--output", str(other)]) == 0
    assert other.read_bytes() != b"old"
