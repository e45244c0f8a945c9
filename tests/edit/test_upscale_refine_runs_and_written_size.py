"""``video upscale``: a refine pass that would run no step is refused before the SR pass (a VACE
model keeps diffusers' img2img rule, int(steps x strength) steps: 0.3 with 3 steps ran the whole
SR pass, then failed), ``--refine`` with strength 0 is refused before any model loads (it loaded
one, refined nothing and said "+ refine tiny at 0.0"), and the summary line gives the size of
what was written for an anamorphic input's image or PNG folder (written square, wider than the
frames: it said the frames' size)."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def anamorphic(tmp_path_factory):
    """A real 192x128 H.264 clip of 4 frames whose pixels are 32:27 (DVD PAL 4:3's shape),
    made by ffmpeg."""
    import imageio_ffmpeg

    path = tmp_path_factory.mktemp("sar") / "pose.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=192x128:rate=8:duration=0.5", "-vf", "setsar=32/27", "-pix_fmt", "yuv420p",
                    str(path)], check=True)
    return path


# --- 1. a VACE refine that runs no step: refused before the SR pass ------------------------------

def test_vace_refine_that_runs_no_step_is_refused_before_sr(cli, vace_dir, anamorphic, tmp_path):
    out = tmp_path / "vl.mp4"
    p = cli("upscale", anamorphic, "--model", "realesr-animevideov3", "--frames", "3", "--refine", vace_dir,
            "--steps", "3", "--strength", "0.3", "-o", out)
    assert p.returncode == 2 and p.errors == [
        "error: --strength 0.3 with 3 steps runs no refine step (a VACE model runs int(steps x strength) of them): "
        "raise --steps or --strength"], p.stderr
    assert "Real-ESRGAN" not in p.stderr and not out.exists()  # the SR pass's progress bar: it never started


def test_vace_refine_with_the_models_steps_names_them(cli, vace_dir, anamorphic, tmp_path):
    """Unset --steps is the model's (the tiny folder's scheduler: 30); 0.01 x 30 runs none."""
    from video.edit import Editor

    n = Editor.from_pretrained(vace_dir).config.sampling.num_inference_steps
    assert int(n * 0.01) == 0
    p = cli("upscale", anamorphic, "--model", "bicubic", "--frames", "3", "--refine", vace_dir,
            "--strength", "0.01", "-o", tmp_path / "vl.mp4")
    assert p.returncode == 2 and p.errors == [
        f"error: --strength 0.01 with the model's {n} steps runs no refine step (a VACE model runs "
        "int(steps x strength) of them): raise --steps or --strength"], p.stderr


@pytest.fixture(scope="module")
def vace_editor(vace_dir):
    from video.edit import Editor

    return Editor.from_pretrained(vace_dir)


def test_python_upscale_refuses_it_before_sr(vace_editor, clip):
    from video.edit.upscale import upscale
    from video.runtime.errors import InputError

    steps = []
    with pytest.raises(InputError, match=r"^strength 0.3 with 3 steps runs no refine step .*: raise "
                                         r"num_inference_steps or strength$"):
        upscale(clip[:2, :16, :24], model="realesr-animevideov3", refine=vace_editor, strength=0.3,
                num_inference_steps=3, on_step=lambda done, total: steps.append((done, total)))
    assert steps == []  # not one frame of the per-frame pass ran


@pytest.mark.filterwarnings("ignore:the refine model's VAE is not tiled")  # SVD's: said, not tested here
@pytest.mark.parametrize("editor, strength, steps", [("vace_editor", 0.34, 3),  # 3 x 0.34 = 1.02: one step
                                                     ("tiny_editor", 0.01, 1), ("svd_editor", 0.01, 1)])
def test_refiners_that_run_a_step_are_taken(request, clip, editor, strength, steps):
    """A VACE refine of int(steps x strength) = 1 runs; our flow models and SVD start at the
    strength's own level and run all the steps below it (:mod:`video.diffusion.strength`), so
    at strength 0.01 their one step runs: they have no such refusal."""
    from video.edit.upscale import upscale

    seen = []
    out = upscale(clip[:2, :16, :24], model="realesr-animevideov3", refine=request.getfixturevalue(editor),
                  strength=strength, num_inference_steps=steps, on_step=lambda done, total: seen.append((done, total)))
    assert out.shape == (2, 32, 48, 3)
    assert seen[:2] == [(1, 2), (2, 2)] and seen[-1] == (1, 1)  # 2 SR frames, then the one refine step


# --- 2. --refine with strength 0: one line before any model loads ---------------------------------

@pytest.mark.parametrize("given, said", [(["--strength", "0"], "--strength 0"),
                                         (["strength=0"], "strength=0"),
                                         (["strength=0.0"], "strength=0.0"),
                                         ("yaml", "strength: 0 in {yaml}")])
def test_refine_at_strength_zero_is_refused_before_the_load(cli, anamorphic, tmp_path, given, said):
    yaml = tmp_path / "run.yaml"
    if given == "yaml":
        yaml.write_text("strength: 0\n")
        given = ["--config", yaml]
    out = tmp_path / "y.mp4"
    p = cli("upscale", anamorphic, "--model", "bicubic", "--refine", "tiny", *given, "-o", out)
    assert p.returncode == 2 and p.errors == [
        f"error: {said.format(yaml=yaml)} runs no refine pass: give --strength above 0 (default 0.3), or leave "
        "--refine out"], p.stderr
    assert "random weights" not in p.stderr and not out.exists()  # the tiny model never loaded


# --- 3. the size written, not the frames' ---------------------------------------------------------

def test_an_anamorphic_image_reports_its_written_size(cli, anamorphic, tmp_path):
    """x2 of 192x128 at SAR 32:27: 384x256 frames, written square at round(384 x 32 / 27) = 455
    wide, as a player shows them."""
    out = tmp_path / "w2.png"
    p = cli("upscale", anamorphic, "--model", "bicubic", "--frames", "1", "-o", out)
    assert p.returncode == 0, p.stderr
    assert Image.open(out).size == (455, 256)
    assert f"wrote {out} (1 frame, 455x256): x2 bicubic" in p.stdout


def test_an_anamorphic_png_folder_reports_its_written_size(cli, anamorphic, tmp_path):
    out = tmp_path / "frames"
    p = cli("upscale", anamorphic, "--model", "bicubic", "--frames", "2", "--fps", "8", "-o", out)
    assert p.returncode == 0, p.stderr
    assert {Image.open(f).size for f in out.glob("*.png")} == {(455, 256)} and len(list(out.glob("*.png"))) == 2
    assert f"wrote {out}{os.sep} (2 PNG frames, 455x256, 8 fps)" in p.stdout


def test_written_size_of_square_outputs_is_the_frames(tmp_path):
    """Square pixels: the image and the folder hold the frames as they are."""
    from video.media import write_video
    from video.media.written import written_size

    frames = np.zeros((2, 10, 14, 3), np.uint8)
    assert written_size(write_video(frames[:1], tmp_path / "a.png"), frames) == (14, 10)
    assert written_size(write_video(frames, tmp_path / "d"), frames) == (14, 10)
