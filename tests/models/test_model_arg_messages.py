"""What ``--model VALUE`` says when VALUE is not there (:func:`resolve_model_arg`): a value
written as a path (absolute, ``./``, ``../``, ``~``) is "PATH not found", not a name looked up
with its leading ``/`` dropped; a missing name lists every folder searched (checkpoints and
diffusion_models) with close names; a name in both is ambiguous, with both paths, as the README
says, instead of checkpoints/ winning silently."""

from __future__ import annotations

import pytest
from model_test_files import touch

from video.models.folder import is_explicit_path, resolve_model_arg
from video.models.svd import CheckpointError


@pytest.fixture
def models(tmp_path):
    root = tmp_path / "models"
    touch(root / "checkpoints" / "svd_xt.safetensors")
    touch(root / "diffusion_models" / "qs_dit" / "video_pipeline.yaml")  # a folder model
    return root


@pytest.mark.parametrize("value", ["/models/Wan2.1-T2V-1.3B-Diffusers", "./Wan2.1", "../Wan2.1", "~/no/such/wan"])
def test_a_missing_path_is_not_found_as_a_path(models, value, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(CheckpointError) as e:
        resolve_model_arg(value, models_dir=models, keep=("tiny",))
    msg = str(e.value)
    assert msg.startswith(f"{value} not found"), msg
    assert "no checkpoints" not in msg and value.lstrip("/.~") + "'" not in msg  # not looked up as a name


def test_explicit_path_rule():
    assert [is_explicit_path(v) for v in ("/a", "./a", "../a", "~/a", "~", ".", "..")] == [True] * 7
    assert [is_explicit_path(v) for v in ("qs_dit", "wan/t2v", "svd_xt.safetensors", "no/such/model")] == [False] * 4


def test_a_missing_name_lists_every_folder_searched_with_close_names(models):
    with pytest.raises(CheckpointError) as e:
        resolve_model_arg("qs", models_dir=models, keep=("tiny",))
    msg = str(e.value)
    assert "model 'qs' not found" in msg and "built-in name (tiny)" in msg
    assert str(models / "checkpoints") in msg and str(models / "diffusion_models") in msg
    assert "checkpoints: svd_xt.safetensors" in msg and "diffusion_models: qs_dit" in msg, msg
    assert "did you mean qs_dit?" in msg, msg


def test_a_name_in_both_folders_is_ambiguous_with_both_paths(models):
    touch(models / "checkpoints" / "qs_dit.safetensors")
    with pytest.raises(CheckpointError) as e:
        resolve_model_arg("qs_dit", models_dir=models)
    msg = str(e.value)
    assert "ambiguous" in msg and str(models / "checkpoints" / "qs_dit.safetensors") in msg, msg
    assert str(models / "diffusion_models" / "qs_dit") in msg and "give the path" in msg, msg
    # the full name picks one; a name in one folder only still resolves
    file = models / "checkpoints" / "qs_dit.safetensors"
    assert resolve_model_arg("qs_dit.safetensors", models_dir=models) == str(file)
    assert resolve_model_arg("svd_xt", models_dir=models) == str(models / "checkpoints" / "svd_xt.safetensors")


def test_one_file_reached_through_both_folders_is_not_ambiguous(models):
    """An extra path that points checkpoints and diffusion_models at the same folder (or a
    link) finds one file twice: that is one model."""
    (models / "diffusion_models" / "linked.safetensors").symlink_to(models / "checkpoints" / "svd_xt.safetensors")
    (models / "diffusion_models" / "svd_xt.safetensors").symlink_to(models / "checkpoints" / "svd_xt.safetensors")
    assert resolve_model_arg("svd_xt", models_dir=models) == str(models / "checkpoints" / "svd_xt.safetensors")


def test_txt2vid_says_the_absolute_path_is_not_found(cli, tmp_path):
    p = cli("txt2vid", "--model", "/models/Wan2.1-T2V-1.3B-Diffusers", "--prompt", "a cat",
            "--output", tmp_path / "x.mp4", cwd=tmp_path)
    assert p.returncode == 2 and p.errors == ["error: /models/Wan2.1-T2V-1.3B-Diffusers not found: no such file or "
                                              "folder (a name in the models folder has no leading /, ./, ../ or ~)"], \
        p.stderr
