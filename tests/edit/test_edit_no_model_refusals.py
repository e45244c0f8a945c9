"""``video edit`` refuses what it would silently ignore or do for nothing, in one line and
before any model loads (the --model given is a path that does not exist, so a check after
loading would fail with "not found" instead): a model's flag on an edit that runs no model
(recolour at --strength 0, a plain --background composite; --strength there points to
--harmonise), an outpaint that adds nothing (--pad 0, an --aspect the video already has), and
an inverted --box that leaves nothing to edit. The clip is made here with ffmpeg's lavfi."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from video.cli import main
from video.media import ffmpeg_exe

NO_MODEL = "/nonexistent/model"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    """3 frames of a 96x64 (3:2) test card."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=10",
                    "-frames:v", "3", "-pix_fmt", "yuv420p", str(path)], check=True)
    return str(path)


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> str:
    from PIL import Image

    path = tmp_path_factory.mktemp("bg") / "bg.png"
    Image.new("RGB", (96, 64), (0, 0, 200)).save(path)
    return str(path)


def _error(argv, capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    return code, lines[0] if lines else ""


COMPOSITE = ["edit", "background", "--box", "0,0,32,32"]
RECOLOUR = ["edit", "recolour", "--box", "0,0,32,32", "--hue", "90"]


@pytest.mark.parametrize("argv, message", [
    (COMPOSITE + ["--model", NO_MODEL], "--model is for the model, and a --background composite without --harmonise "
                                        "runs no model: give --harmonise above 0 to run one, or leave --model out"),
    (COMPOSITE + ["--prompt", "a beach"], "--prompt is for the model"),
    (COMPOSITE + ["--steps", "30"], "--steps is for the model"),
    (COMPOSITE + ["guidance=5"], "guidance=5 is for the model"),
    (COMPOSITE + ["--strength", "0.4"], "--strength: a --background composite runs no model, so it has no strength; "
                                        "to regenerate the composited background at a strength S, give --harmonise S"),
    (RECOLOUR + ["--model", NO_MODEL, "--prompt", "red"], "--model is for the model, and recolour at --strength 0 "
                                                          "runs no model: give --strength above 0 to run one"),
    (RECOLOUR + ["--strength", "0", "--seed", "3"], "--seed is for the model"),
    (RECOLOUR + ["--sampler", "heun"], "--sampler is for the model"),
])
def test_a_models_flag_is_refused_where_no_model_runs(clip, still, tmp_path, argv, message, capsys):
    bg = ["--background", still] if argv[1] == "background" else []
    code, err = _error([*argv[:2], "--video", clip, *bg, *argv[2:], "--output", tmp_path / "o.mp4"], capsys)
    assert code == 2 and message in err, err
    assert not (tmp_path / "o.mp4").exists()


def test_the_python_api_refuses_them_too_and_recolour_takes_strength_0(clip, tmp_path, capsys):
    from video.edit.cli import EditConfig, check_config
    from video.runtime.img2vid import InputError

    with pytest.raises(InputError, match="--prompt is for the model"):
        check_config("recolour", EditConfig(video=clip, box="0,0,8,8", hue=90, prompt="red"))
    check_config("recolour", EditConfig(video=clip, box="0,0,8,8", hue=90, strength=0.0))  # its own switch
    code, err = _error([*RECOLOUR, "--video", clip, "--strength", "0", "--output", tmp_path / "o.mp4"], capsys)
    assert code == 0 and (tmp_path / "o.mp4").exists(), err


@pytest.mark.parametrize("argv, message", [
    (["outpaint", "--aspect", "3:2"], "the video is 96x64, already 3:2 (to within a pixel): nothing to outpaint"),
    (["outpaint", "--aspect", "1.5"], "already 1.5"),
    (["outpaint", "--pad", "0"], "--pad 0 adds no pixels: nothing to outpaint"),
    (["outpaint", "--pad", "0,0,0,0"], "--pad 0,0,0,0 adds no pixels"),
    (["inpaint", "--box", "0,0,96,64", "--invert"], "--box 0,0,96,64 covers all of the 96x64 frame on every frame, "
                                                    "so with --invert nothing is left to edit"),
    (["recolour", "--box", "0,0,200,200", "--invert", "--hue", "9", "--strength", "0.5"], "covers all of the"),
    (["background", "--box", "0,0,96,64@0:3"], "so no background is left to regenerate"),
])
def test_an_edit_that_changes_nothing_is_refused_before_the_model_loads(clip, tmp_path, argv, message, capsys):
    code, err = _error(["edit", *argv, "--model", NO_MODEL, "--video", clip, "--output", tmp_path / "o.mp4"], capsys)
    assert code == 2 and message in err, err


def test_the_outpaint_recipe_refuses_an_aspect_the_video_has():
    """The library call too (it returned an unchanged copy), before it asks the editor
    anything: no editor is given."""
    from video.edit.recipes import outpaint
    from video.runtime.img2vid import InputError

    frames = np.zeros((2, 64, 96, 3), np.uint8)
    with pytest.raises(InputError, match="already 3:2"):
        outpaint(None, frames, aspect="3:2")
    with pytest.raises(InputError, match="adds no pixels"):
        outpaint(None, frames, pad=0)
