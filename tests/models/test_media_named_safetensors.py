"""A video or image file saved under a ``.safetensors`` name, given to ``video img2vid --model``
or ``video info``, gets the line ``video models`` and ``video txt2vid`` give it ("a video file
(MP4), not a model"), read from its first bytes before its name picks the layout: it was
"truncated or damaged safetensors file (header too large)". Real files: an MP4 written by
video.media, a JPEG by PIL."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from video.media import write_video
from video.models.svd import CheckpointError, detect_layout


@pytest.fixture
def media(tmp_path):
    """{"MP4": x.safetensors, "JPEG": y.sft}, each a render / photo under a weights name."""
    mp4 = write_video(np.zeros((2, 16, 16, 3), np.uint8), tmp_path / "cat.mp4")
    Image.new("RGB", (8, 8), "red").save(tmp_path / "cat.jpg")
    (tmp_path / "x.safetensors").write_bytes(mp4.read_bytes())
    (tmp_path / "y.sft").write_bytes((tmp_path / "cat.jpg").read_bytes())
    return {"MP4": tmp_path / "x.safetensors", "JPEG": tmp_path / "y.sft"}


def _said(path, fmt: str) -> str:
    what = "a video file" if fmt == "MP4" else "an image file"
    return f"{path}: {what} ({fmt}), not a model"


def test_detect_layout_names_media_not_damaged(media, tmp_path):
    for fmt, path in media.items():
        with pytest.raises(CheckpointError) as e:
            detect_layout(path)
        assert str(e.value).startswith(_said(path, fmt)), e.value
    real = tmp_path / "real.safetensors"
    save_file({"x": torch.zeros(2)}, str(real))  # safetensors bytes are never media
    assert detect_layout(real) == "single_file"


def test_img2vid_and_info_say_what_txt2vid_says(media, tmp_path, cli):
    for fmt, path in media.items():
        txt = cli("txt2vid", "--model", path, "--frames", "1", "--steps", "1", "--output", tmp_path / "t.png")
        img = cli("img2vid", "--model", path, "--frames", "2", "--steps", "1", "--output", tmp_path / "i.mp4")
        info = cli("info", path)
        assert txt.returncode == img.returncode == info.returncode == 2
        assert img.errors == info.errors == txt.errors, (img.errors, info.errors, txt.errors)
        assert len(img.errors) == 1 and img.errors[0].startswith(f"error: {_said(path, fmt)}"), img.errors
        assert "damaged" not in img.stderr + info.stderr
