"""What the nodes say names the nodes' inputs, not the command line's flags or Python's argument
names: Write Video's ``crf`` (video.media's check says ``--crf``; an API prompt or a linked INT
skips the widget's 0..51) and Inpaint's ``prompt`` on SVD (the editor's warning named its
``reference_images[0]``, which the node does not have)."""

from __future__ import annotations

import logging

import pytest
import torch

from video.comfy import functions as F


@pytest.mark.parametrize("fmt, crf", [("mp4", 99), ("webm", -1), ("mp4", 18.5)])
def test_write_video_names_its_crf_input(tmp_path, fmt, crf):
    with pytest.raises(F.InputError) as e:
        F.write_video_file(torch.rand(2, 16, 16, 3), 8.0, "x", fmt, crf=crf, output_dir=tmp_path)
    assert str(e.value).startswith(f"crf must be a whole number from 0 (best) to 51 (worst); got {crf} ")
    assert "--crf" not in str(e.value)
    assert not list(tmp_path.rglob("*.*"))  # refused before an output name is claimed


def test_write_video_crf_0_and_a_gif_without_crf(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
        F.write_video_file(torch.rand(2, 16, 16, 3), 8.0, "lossless", "mp4", crf=0, output_dir=tmp_path)
    said = [r.getMessage() for r in caplog.records if "lossless" in r.getMessage()]
    assert said == ["Write Video: crf 0 is lossless H.264, which only the High 4:4:4 Predictive profile holds; "
                    "browsers and many players cannot play it (crf 1 plays everywhere)"]
    out = F.write_video_file(torch.rand(2, 16, 16, 3), 8.0, "still", "gif", crf=99, output_dir=tmp_path)
    assert out["result"][0].endswith(".gif")  # a gif has no crf: the value is not used, so not refused


def test_svd_inpaint_says_the_prompt_is_ignored_in_node_terms(caplog):
    svd = F.load_video_model("tiny-svd")
    with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
        F.inpaint_video(svd, torch.rand(3, 32, 32, 3), prompt="a kite", steps=1)
    said = [r.getMessage() for r in caplog.records if "prompt is ignored" in r.getMessage()]
    assert said == ["Inpaint / Edit Video: SVD has no text encoder: the prompt is ignored (the first frame of "
                    "images conditions the edit)"]
    assert not [r for r in caplog.records if "reference_images" in r.getMessage()]
