"""Inpaint / Edit Video on a real tiny Wan VACE folder acts as ``video edit inpaint`` does: any
frame count and size (the clip padded for the model and cropped back, long clips in windows) and
the input's own pixels outside the mask. The node ran the bare VACE editor, which refused 6
frames ("takes 4k+1 frames") and 40x40 ("multiples of 16") and returned its own decode outside
the mask (up to 202 levels off). A clip edited in several windows parses its prompt once a
window: the node's console said each prompt warning once a window, now once a run."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from video.cli import main
from video.comfy import functions as F

sys.path.insert(0, str(Path(__file__).parents[1] / "edit"))  # tests/edit's tiny VACE parts and clip maker
from vace_fixtures import moving_clip, vace_components  # noqa: E402

FRAMES, H, W = 6, 20, 28  # not 4k+1 frames, not multiples of 16
LEFT = 14  # the mask: columns [0, LEFT) of every frame


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    from diffusers import WanVACEPipeline

    root = tmp_path_factory.mktemp("models")
    WanVACEPipeline(**vace_components()).save_pretrained(root / "checkpoints" / "vace-small", safe_serialization=True)
    return root


def test_inpaint_on_vace_keeps_the_input_outside_the_mask_as_video_edit_does(models, tmp_path, capsys):
    model = F.load_video_model("vace-small", models)
    assert model.kind == "wan_vace"
    clip = moving_clip(FRAMES, H, W)
    images = F.frames_to_comfy(clip)
    mask = torch.zeros(FRAMES, H, W)
    mask[:, :, :LEFT] = 1.0
    out = F.inpaint_video(model, images, mask=mask, prompt="a kite", steps=2, seed=0)
    assert out.shape == images.shape
    assert torch.equal(out[:, :, LEFT:], images[:, :, LEFT:])  # the input's pixels, exactly
    assert float((out[:, :, :LEFT] - images[:, :, :LEFT]).abs().mean()) > 0.05  # the masked part regenerated

    # the reference: the command line on the same frames, the same region as a box, the same seed
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i, frame in enumerate(clip):
        Image.fromarray(frame).save(src / f"{i:03}.png")
    code = main(["edit", "inpaint", "--model", str(models / "checkpoints" / "vace-small"), "--video", str(src),
                 "--box", f"0,0,{LEFT},{H}", "--prompt", "a kite", "--steps", "2", "--seed", "0",
                 "--device", "cpu", "--dtype", "float32", "--output", str(dst)])
    assert code == 0, capsys.readouterr().err
    cli = np.stack([np.asarray(Image.open(p)) for p in sorted(dst.glob("*.png"))])
    node = np.round(out.numpy() * 255.0).astype(np.uint8)
    assert cli.shape == node.shape and np.array_equal(cli, node)


def test_prompt_warnings_once_a_run_over_several_windows(models, caplog):
    model = F.load_video_model("vace-small", models)
    sampling = model.editor().config.sampling
    window, sampling.num_frames = sampling.num_frames, 5  # windows of 5 frames: 13 frames take several
    mask = torch.zeros(13, 32, 32)
    mask[:, :, :16] = 1.0
    try:
        with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
            F.inpaint_video(model, F.frames_to_comfy(moving_clip(13, 32, 32)), mask=mask, prompt="a kite (a:1.2",
                            steps=1)
    finally:
        sampling.num_frames = window
    said = [r.getMessage() for r in caplog.records if "read as a weight" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("Inpaint / Edit Video: prompt ends in ':1.2'"), said
