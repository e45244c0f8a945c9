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


SHARED = "device: cpu\ndtype: auto\nsdpa: torch\nseed: 3\nmodels_dir: /data/models\nextra_model_paths_config: x.yaml\n"


@pytest.mark.parametrize("argv", [RECOLOUR, COMPOSITE], ids=["recolour", "composite"])
def test_a_shared_config_of_model_settings_does_not_stop_an_edit_without_a_model(clip, still, tmp_path, argv,
                                                                                  capsys):
    """A --config shared with img2vid / txt2vid holds the device, the seed and the models
    folder: settings, not a request to this edit for a model (it was refused: "seed in
    shared.yaml is for the model"). On the command line they still are refused."""
    (tmp_path / "shared.yaml").write_text(SHARED)
    bg = ["--background", still] if argv[1] == "background" else []
    run = [*argv[:2], "--video", clip, *bg, *argv[2:], "--output", tmp_path / "o.mp4"]
    code, err = _error([*run, "--config", tmp_path / "shared.yaml"], capsys)
    assert code == 0 and (tmp_path / "o.mp4").exists(), err
    for given in (["--models-dir", "/data/models"], ["seed=3"], ["--extra-model-paths-config", "x.yaml"],
                  ["--config", tmp_path / "shared.yaml", "device=cpu"]):
        code, err = _error([*run, *given], capsys)
        how = given[0] if given[0] != "--config" else "device=cpu"
        assert code == 2 and err.startswith(f"error: {how} is for the model"), err


def test_a_config_files_model_request_is_still_refused(clip, tmp_path, capsys):
    (tmp_path / "p.yaml").write_text(SHARED + "prompt: red\n")
    code, err = _error([*RECOLOUR, "--video", clip, "--config", tmp_path / "p.yaml", "--output", tmp_path / "o.mp4"],
                       capsys)
    assert code == 2 and err.startswith(f"error: prompt in {tmp_path / 'p.yaml'} is for the model"), err


def test_the_python_api_keeps_its_settings(clip):
    """An EditConfig's seed, device and models folder are the caller's settings (one config for
    many edits), not a request for a model: not refused; its prompt is (above)."""
    from video.edit.cli import EditConfig, check_config

    check_config("recolour", EditConfig(video=clip, box="0,0,8,8", hue=90, seed=3, device="cpu", dtype="float32",
                                        models_dir="/data/models"))


@pytest.mark.parametrize("given", [None, {}])
def test_a_reference_is_refused_by_the_check_whatever_given_lists(clip, given):
    """A model request at a value other than its default is refused even where ``given`` (a
    Python caller's) leaves it out, so run_edit's own "condition a model" branch is gone:
    nothing reaches it."""
    from video.edit.cli import EditConfig, check_config
    from video.runtime.img2vid import InputError

    with pytest.raises(InputError, match="^--reference is for the model"):
        check_config("recolour", EditConfig(video=clip, box="0,0,8,8", hue=90, reference=["a.png"]), given)
