"""``t2v_tiny`` (txt2vid's built-in ``tiny`` by its config's name, which ``video info t2v_tiny``
takes and the README lists among the names that are always the built-in) is taken wherever a
txt2vid model is: ``video txt2vid --model``, ``video edit --model``, ``video upscale --refine``,
bare or as ``builtin:t2v_tiny``. It was "model 't2v_tiny' not found ... nor a name in the models
folder" and "no built-in model 't2v_tiny'". Where another kind is taken (img2vid: SVD; animate:
Wan-Animate) it is said what it is, not "not found"."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def test_txt2vid_renders_with_t2v_tiny(tmp_path, cli):
    out = tmp_path / "t.png"
    p = cli("txt2vid", "--model", "t2v_tiny", "--prompt", "a kite", "--frames", "1", "--steps", "1",
            "--height", "16", "--width", "16", "--device", "cpu", "--output", out)
    assert p.returncode == 0 and not p.errors, p.stderr
    assert Image.open(out).size == (16, 16)
    assert "note: 't2v_tiny' has random weights" in p.stderr  # named as typed, not as what it resolves to


@pytest.mark.parametrize("value", ["t2v_tiny", "builtin:t2v_tiny"])
def test_every_txt2vid_model_argument_reads_it_as_tiny(value, tmp_path, monkeypatch):
    """The lookups of txt2vid (its keep: tiny alone), edit --model and upscale --refine (their
    built-in names): each gives ``tiny``, which their loaders build as txt2vid's tiny."""
    from video.cli import _model_arg
    from video.edit.cli import resolve_model_name

    monkeypatch.chdir(tmp_path)  # no models folder: nothing is looked up
    assert _model_arg(value, ("tiny",), tiny_is_t2v=True) == "tiny"  # as txt2vid calls it
    assert resolve_model_name(value) == "tiny"
    assert resolve_model_name(value, use="--refine") == "tiny"


@pytest.fixture
def inputs(tmp_path):
    from video.media import write_video

    Image.new("RGB", (32, 32)).save(tmp_path / "photo.png")
    write_video(np.zeros((2, 32, 32, 3), np.uint8), tmp_path / "pose.mp4", fps=4)
    return tmp_path


@pytest.mark.parametrize(("argv", "takes"), [
    (["img2vid", "--model", "t2v_tiny", "--image", "photo.png"], "an SVD model; its built-in names: tiny, tiny-svd"),
    (["animate", "--model", "builtin:t2v_tiny", "--image", "photo.png", "--pose", "pose.mp4", "--face", "pose.mp4",
      "-o", "a.mp4"], "another kind of model; its built-in names: tiny"),
])
def test_where_another_kind_is_taken_it_says_what_t2v_tiny_is(argv, takes, inputs, cli):
    p = cli(*argv, cwd=inputs)
    assert p.returncode == 2 and p.errors == [
        f"error: t2v_tiny is txt2vid's built-in tiny (video txt2vid --model tiny): this --model takes {takes}"], p.stderr
