"""``video edit --model``, ``video upscale --refine`` and ``video animate --model`` read a model
name as img2vid / txt2vid do (:func:`video.models.builtin_names.resolve_model_name_or_builtin`):
``builtin:NAME`` is understood (it was "model 'builtin:tiny' not found"), the user's top-level
``svd_xt.safetensors`` is ``svd_xt`` (the random 2.25B network was built instead: only the
resolution is checked here, nothing full-size is built), and ``tiny`` is never looked up."""

from __future__ import annotations

import pytest

from video.edit.cli import resolve_model_name


@pytest.fixture
def models(tmp_path):
    """A user's svd_xt.safetensors at the top of checkpoints/ and a tiny.safetensors under a
    subfolder (names only: resolution reads no file)."""
    root = tmp_path / "models"
    (root / "checkpoints" / "mine").mkdir(parents=True)
    (root / "checkpoints" / "svd_xt.safetensors").write_bytes(b"")
    (root / "checkpoints" / "mine" / "tiny.safetensors").write_bytes(b"")
    (root / "checkpoints" / "tiny-svd.safetensors").write_bytes(b"")
    return root


@pytest.mark.parametrize("use", ["--model", "--refine"])
def test_svd_xt_is_the_users_file_in_edit_and_upscale(models, capsys, use):
    mine = models / "checkpoints" / "svd_xt.safetensors"
    kw = {"use": use} if use != "--model" else {}  # (--model: the default)
    assert resolve_model_name("svd_xt", str(models), **kw) == str(mine)
    assert capsys.readouterr().err == (f"note: 'svd_xt' is {mine} from the models folder, not the built-in "
                                       f"random-weight 'svd_xt' ({use} builtin:svd_xt for that)\n")
    assert resolve_model_name("builtin:svd_xt", str(models), use=use) == "svd_xt"
    for name in ("tiny", "tiny-svd"):  # never looked up, even beside a tiny-svd.safetensors
        assert resolve_model_name(name, str(models), use=use) == name
        assert resolve_model_name(f"builtin:{name}", str(models), use=use) == name
    assert capsys.readouterr().err == ""


def _inputs(tmp_path):
    from PIL import Image

    Image.new("RGB", (32, 24), (90, 140, 200)).save(tmp_path / "photo.png")
    (tmp_path / "pose").mkdir()
    for i in range(5):
        Image.new("RGB", (32, 24), (10 * i, 80, 120)).save(tmp_path / "pose" / f"{i}.png")
    return tmp_path


@pytest.mark.parametrize("argv, names", [
    (["edit", "restyle", "--video", "photo.png", "--output", "e.mp4", "--model"], "tiny, tiny-svd, svd, svd_xt"),
    (["upscale", "photo.png", "--model", "bicubic", "-o", "u.mp4", "--refine"], "tiny, tiny-svd, svd, svd_xt"),
    (["animate", "--image", "photo.png", "--pose", "pose", "--face", "pose", "-o", "a.mp4", "--model"], "tiny"),
])
def test_builtin_prefix_is_understood_by_edit_upscale_and_animate(tmp_path, cli, argv, names):
    """Each command names its own built-ins for ``builtin:nope``, before any weights load."""
    p = cli(*argv, "builtin:nope", cwd=_inputs(tmp_path))
    assert p.returncode == 2 and p.errors == [f"error: builtin:nope: no built-in model 'nope'; the built-in names "
                                              f"are {names}"], p.stderr


def test_animate_renders_builtin_tiny(animate_inputs, cli):
    p = cli("animate", "--model", "builtin:tiny", "--image", "char.png", "--pose", "pose", "--face", "face",
            "--steps", "1", "--frames", "1", "-o", "a.png", cwd=animate_inputs)
    assert p.returncode == 0, p.stderr
    assert "note: 'tiny' has random weights (a smoke run)" in p.stderr and (animate_inputs / "a.png").is_file()
