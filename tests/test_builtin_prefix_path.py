"""A built-in name is the built-in whatever the working folder holds: ``--model builtin:tiny``
reached the loaders as ``tiny`` and a ./tiny folder was read as the model (``tiny: not a
diffusers SVD folder``), and so was a bare ``tiny``, which the README makes always the built-in.
A folder of that name is given as a path, ``./tiny``. A ./svd_xt folder that a bare ``svd_xt``
meant before is still read, spelled ``./svd_xt`` by the name rule; ``builtin:svd_xt`` is the
config."""

from __future__ import annotations

import pytest
import yaml

from video.models.builtin_names import resolve_model_name_or_builtin
from video.models.svd import CheckpointError, detect_layout


@pytest.fixture
def crowded_cwd(tmp_path, monkeypatch):
    """A working folder with a folder named after each built-in (t2v_tiny as our text-to-video
    layout, so reading it as a folder would succeed) and an empty models folder."""
    for name in ("tiny", "tiny-svd", "svd_xt", "t2v_tiny"):
        (tmp_path / name).mkdir()
    (tmp_path / "t2v_tiny" / "video_pipeline.yaml").write_text(yaml.safe_dump({"backbone": "dit"}))
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_builtin_tiny_renders_beside_a_tiny_folder(crowded_cwd, cli):
    p = cli("img2vid", "--model", "builtin:tiny", "--frames", "1", "--steps", "1", "--output", "o.png")
    assert p.returncode == 0, p.stderr
    assert "note: 'tiny' has random weights" in p.stderr and (crowded_cwd / "o.png").is_file(), p.stderr
    p = cli("img2vid", "--model", "./tiny", "--frames", "1", "--steps", "1", "--output", "o.png")
    assert p.returncode == 2 and "not a diffusers SVD folder" in p.errors[0], p.stderr  # ./tiny: the folder


def test_every_loader_reads_a_builtin_name_as_the_builtin(crowded_cwd):
    from video.edit.cli import random_weights
    from video.edit.editor import detect_model
    from video.models.inspect import describe
    from video.runtime.txt2vid import load_t2v

    for name in ("tiny", "tiny-svd", "svd_xt"):
        assert detect_layout(name) == "config", name
    with pytest.raises(CheckpointError, match="not a diffusers SVD folder"):
        detect_layout("./tiny")
    assert load_t2v("tiny").experts  # built; the folder ./tiny is not a model
    with pytest.raises(CheckpointError, match="neither our text-to-video layout"):
        load_t2v("./tiny")
    assert (detect_model("tiny"), detect_model("tiny-svd")) == ("flow", "svd")
    assert random_weights("tiny") and random_weights("tiny-svd")  # the commands' random-weights note
    for name in ("t2v_tiny", "svd_xt", "tiny-svd"):
        assert describe(name)["layout"] == "random weights (config)", name


def test_the_name_rule_spells_a_working_folder_svd_xt_as_a_path(crowded_cwd, tiny_diffusers_dir):
    (crowded_cwd / "svd_xt").rmdir()
    (crowded_cwd / "svd_xt").symlink_to(tiny_diffusers_dir, target_is_directory=True)
    builtins = ("tiny", "tiny-svd", "svd", "svd_xt")
    models = crowded_cwd / "models"
    mine = resolve_model_name_or_builtin("svd_xt", builtins, models_dir=models)
    assert mine == "./svd_xt" and detect_layout(mine) == "diffusers"  # read as before
    assert resolve_model_name_or_builtin("builtin:svd_xt", builtins, models_dir=models) == "svd_xt"
    for value in ("tiny", "builtin:tiny"):
        assert resolve_model_name_or_builtin(value, builtins, models_dir=models) == "tiny"
