"""`video upscale` without OpenCV is one line before any frame is read (it was a traceback,
for the x4 networks after every frame was upscaled)."""

import sys


def test_upscale_without_cv2_is_one_line(tmp_path, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # as on a machine without the package: import cv2 fails
    r = cli("upscale", tmp_path / "missing.mp4", "--model", "bicubic", "--output", tmp_path / "o.mp4")
    assert r.returncode == 2, r.stderr
    assert r.errors == ['error: video upscale needs the opencv-python-headless package (import cv2): '
                        'pip install -e ".[edit]"'], r.stderr
