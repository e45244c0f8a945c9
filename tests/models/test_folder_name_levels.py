"""How a name picks one model of the models folder: names match in levels (the name under its
search folder, the same without extension, the bare file name, the bare stem), so a top-level
file is not made ambiguous by a copy in a subfolder; the same name in two trees (ComfyUI's
models folder and an extra_model_paths.yaml tree) is the first tree's, as in ComfyUI, with a
warning; a link beside its target is a second name, listed too; ``~`` and ``.`` in the
models folder and extra-paths file; a models folder that does not exist is said so."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from model_test_files import touch

from video.models.folder import AmbiguousName, ModelsFolder, NameNotFound, resolve_lora_arg, resolve_model_arg


def test_a_top_level_model_beats_a_copy_in_a_subfolder(tmp_path):
    root = tmp_path / "models"
    top = touch(root / "checkpoints" / "svd_xt_1_1.safetensors")
    backup = touch(root / "checkpoints" / "backup" / "svd_xt_1_1.safetensors")
    for name in ("svd_xt_1_1", "svd_xt_1_1.safetensors"):
        assert resolve_model_arg(name, models_dir=root) == str(top)
    assert resolve_model_arg("backup/svd_xt_1_1", models_dir=root) == str(backup)
    style = touch(root / "loras" / "style.safetensors")
    sdxl = touch(root / "loras" / "sdxl" / "style.safetensors")
    assert resolve_lora_arg("style:0.5", root) == f"{style}:0.5"
    assert resolve_lora_arg("style.safetensors", root) == str(style)
    assert resolve_lora_arg("sdxl/style", root) == str(sdxl)


def test_an_ambiguity_within_one_level_gives_names_that_work(tmp_path):
    root = tmp_path / "models"
    a = touch(root / "loras" / "a" / "x.safetensors")
    b = touch(root / "loras" / "b" / "x.safetensors")
    folder = ModelsFolder(root)
    for name in ("x", "x.safetensors"):
        with pytest.raises(AmbiguousName) as e:
            folder.resolve(name, "loras")
        msg = str(e.value)
        assert f"a/x.safetensors ({a})" in msg and f"b/x.safetensors ({b})" in msg, msg
    assert folder.resolve("a/x.safetensors", "loras") == a and folder.resolve("b/x.safetensors", "loras") == b


def two_trees(tmp_path: Path, default: bool = False) -> tuple[Path, Path, Path]:
    """ComfyUI's models folder and an A1111 tree (its yaml beside models/), each with dup.safetensors."""
    root = tmp_path / "ComfyUI" / "models"
    mine = touch(root / "loras" / "dup.safetensors")
    webui = tmp_path / "webui"
    theirs = touch(webui / "models" / "Lora" / "dup.safetensors")
    touch(webui / "models" / "Lora" / "only_there.safetensors")
    flag = "\n    is_default: true" if default else ""
    (tmp_path / "ComfyUI" / "extra_model_paths.yaml").write_text(f"a111:\n    base_path: {webui}{flag}\n")
    return root, mine, theirs


def test_the_same_name_in_two_trees_is_the_first_trees_with_a_warning(tmp_path):
    root, mine, theirs = two_trees(tmp_path)
    folder = ModelsFolder(root)
    with pytest.warns(UserWarning) as caught:
        assert folder.resolve("dup", "loras") == mine
    assert len(caught) == 1 and f"using {mine}" in str(caught[0].message) and str(theirs) in str(caught[0].message)
    assert folder.find(theirs, ("loras",)) == theirs  # the other copy: by its path
    # listed once each, the shadowed copy by the path that loads it
    assert [label for label, _ in folder.listing("loras")] == ["dup.safetensors", str(theirs), "only_there.safetensors"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert folder.resolve("only_there", "loras") == theirs.with_name("only_there.safetensors")
    # is_default: true puts the other tree first, as ComfyUI does
    root, mine, theirs = two_trees(tmp_path / "d", default=True)
    with pytest.warns(UserWarning, match="using " + str(theirs)):
        assert ModelsFolder(root).resolve("dup.safetensors", "loras") == theirs


def test_several_is_default_sections_the_last_read_first(tmp_path):
    """ComfyUI's add_model_folder_path inserts each is_default path at the front."""
    y = tmp_path / "extra_model_paths.yaml"
    y.write_text(f"one:\n    base_path: {tmp_path}\n    is_default: true\n    loras: l1\n"
                 f"two:\n    base_path: {tmp_path}\n    is_default: true\n    loras: l2\n"
                 f"three:\n    base_path: {tmp_path}\n    loras: l3\n")
    paths = ModelsFolder(tmp_path / "models", extra_paths=[y]).search_paths("loras")
    assert paths == [tmp_path / "l2", tmp_path / "l1", tmp_path / "models" / "loras", tmp_path / "l3"]


def test_a_link_beside_its_target_is_a_second_name(tmp_path):
    root = tmp_path / "models"
    real = touch(root / "checkpoints" / "svd_xt_1_1.safetensors")
    os.symlink("svd_xt_1_1.safetensors", root / "checkpoints" / "svd_xt.safetensors")
    folder = ModelsFolder(root)
    assert [e.name for e in folder.entries("checkpoints")] == ["svd_xt.safetensors", "svd_xt_1_1.safetensors"]
    assert resolve_model_arg("svd_xt_1_1", models_dir=root) == str(real)
    assert resolve_model_arg("svd_xt", models_dir=root) == str(root / "checkpoints" / "svd_xt.safetensors")


def test_models_dir_dot_reads_the_yaml_beside_it(tmp_path, monkeypatch):
    root, mine, theirs = two_trees(tmp_path)
    monkeypatch.chdir(root)
    assert resolve_model_arg("only_there", "loras", models_dir=".") == str(theirs.with_name("only_there.safetensors"))
    monkeypatch.chdir(root / "loras")
    assert ModelsFolder("..").resolve("only_there", "loras") == theirs.with_name("only_there.safetensors")


def test_tilde_in_the_models_folder_and_the_extra_paths_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    svd = touch(tmp_path / "cm" / "checkpoints" / "svd.safetensors")
    other = touch(tmp_path / "store" / "far.safetensors")
    (tmp_path / "x.yaml").write_text(f"mine:\n    base_path: {tmp_path}\n    checkpoints: store\n")
    assert resolve_model_arg("svd", models_dir="~/cm") == str(svd)
    assert resolve_model_arg("far", models_dir="~/cm", extra_configs=["~/x.yaml"]) == str(other)
    lora = touch(tmp_path / "cm" / "loras" / "style.safetensors")
    assert resolve_lora_arg("style:0.5", "~/cm") == f"{lora}:0.5"
    assert ModelsFolder("~/cm").root == tmp_path / "cm"


def test_a_models_folder_that_does_not_exist_is_said_so(tmp_path):
    with pytest.raises(NameNotFound) as e:
        resolve_model_arg("svd", models_dir=tmp_path / "cm")
    msg = str(e.value)
    assert f"the models folder {tmp_path / 'cm'} does not exist" in msg and "none" not in msg, msg


def test_a_models_dir_from_a_yaml_config_with_tilde(tmp_path, monkeypatch, cli):
    """``models_dir: ~/cm`` in a YAML config reaches the lookup unexpanded (no shell)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    touch(tmp_path / "cm" / "checkpoints" / "svd.safetensors")
    cfg = tmp_path / "run.yaml"
    cfg.write_text("models_dir: ~/cm\nmodel: nope\nimage: i.png\n")
    p = cli("img2vid", "--config", cfg, "--output", tmp_path / "o.mp4")
    assert p.returncode == 2 and "checkpoints: svd.safetensors" in p.stderr, p.stderr
