"""``outpaint --aspect`` means the shape on screen: an anamorphic input keeps its pixel shape
(SAR) in the output, so the canvas in stored pixels is the target over the SAR. A 320x240 clip
of 32:27 pixels taken to 16:9 in stored pixels showed at 2.11:1; HDV's 1440x1080 of 4:3 pixels
is 16:9 already and is refused before any model loads."""

from __future__ import annotations

import numpy as np
import pytest

from video.cli import main
from video.edit.recipes import check_outpaint, outpaint_padding, pixel_aspect
from video.media import probe_video, write_video
from video.runtime.img2vid import InputError


def _on_screen(height: int, width: int, sar) -> float:
    return width * pixel_aspect(sar) / height


def test_canvas_in_stored_pixels_shows_the_target():
    t, r, b, left = outpaint_padding(240, 320, aspect="16:9", sar="32:27")
    assert (t, r, b, left) == (0, 20, 0, 20)  # 360x240 stored, 16:9 on screen
    assert _on_screen(240, 360, "32:27") == pytest.approx(16 / 9)
    assert outpaint_padding(240, 320, aspect="16:9") == outpaint_padding(240, 320, aspect="16:9", sar=None)
    t, r, b, left = outpaint_padding(96, 128, aspect="16:9", multiple=16, sar="32:27")
    assert (96 + t + b, 128 + left + r) == (96, 144)


def test_already_that_aspect_on_screen_is_refused():
    with pytest.raises(InputError, match="the video is 1440x1080 with 4:3 pixels, already 16:9 on screen"):
        check_outpaint(1080, 1440, aspect="16:9", sar="4:3")
    check_outpaint(1080, 1440, aspect="16:9")  # square pixels: 4:3, so 16:9 has a border to fill
    with pytest.raises(InputError, match="the video is 96x64, already 3:2 \\(to within a pixel\\)"):
        check_outpaint(64, 96, aspect="3:2")  # square pixels: said as before
    with pytest.raises(InputError, match="pixel aspect"):
        pixel_aspect("a:b")


def _clip(path, height, width, sar, frames=2):
    rng = np.random.default_rng(0)
    write_video(rng.integers(0, 255, (frames, height, width, 3), dtype=np.uint8), path, fps=8, sar=sar)
    return str(path)


def test_edit_outpaint_writes_the_target_on_screen(tmp_path, capsys):
    src = _clip(tmp_path / "anam.mp4", 96, 128, "32:27")
    out = tmp_path / "wide.mp4"
    code = main(["edit", "outpaint", "--video", src, "--aspect", "16:9", "--model", "tiny", "--steps", "1",
                 "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    info = probe_video(out)
    assert (info["width"], info["height"], info["sar"]) == (144, 96, "32:27")
    assert _on_screen(info["height"], info["width"], info["sar"]) == pytest.approx(16 / 9, rel=0.01)


def test_edit_outpaint_refuses_hdv_shaped_video_before_the_model(tmp_path, capsys):
    src = _clip(tmp_path / "hdv.mp4", 108, 144, "4:3", frames=1)  # 192x108 on screen: 16:9
    code = main(["edit", "outpaint", "--video", src, "--aspect", "16:9", "--model", "/nonexistent/model",
                 "--output", str(tmp_path / "o.mp4")])
    err = capsys.readouterr().err
    assert code == 2 and "144x108 with 4:3 pixels, already 16:9 on screen" in err, err
