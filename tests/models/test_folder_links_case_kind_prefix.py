"""Names in the models folder as ``video models`` shows them: a link beside its target is a second
name (both listed, the link as ``link -> target``), a folder searched twice still lists its files
once; upper-case suffixes (``K.SAFETENSORS``) are weights too; a name printed as
``checkpoints/NAME`` loads when pasted back, and a --model name that is a LoRA says so; a link to
nothing is a broken link, not "not found"; a $VIDEO_MODELS that is no folder is refused as
--models-dir is."""

from __future__ import annotations

import os

import pytest
from model_test_files import save_first_layer_lora, touch

from video.models.folder import ModelsFolder, NameNotFound, resolve_lora_arg, resolve_model_arg
from video.runtime.errors import CheckpointError


@pytest.fixture
def linked(tmp_path):
    """checkpoints/ with svd_tiny.safetensors and link_svd.safetensors -> it."""
    root = tmp_path / "m"
    touch(root / "checkpoints" / "svd_tiny.safetensors")
    os.symlink("svd_tiny.safetensors", root / "checkpoints" / "link_svd.safetensors")
    return root


def test_a_link_and_its_target_are_both_listed(linked):
    folder = ModelsFolder(linked)
    names = ["link_svd.safetensors", "svd_tiny.safetensors"]
    assert [e.name for e in folder.entries("checkpoints")] == names
    assert [label for label, _ in folder.listing("checkpoints")] == names  # a drop-down offers both
    with pytest.raises(NameNotFound, match="found: link_svd.safetensors, svd_tiny.safetensors$"):
        folder.resolve("nothing", "checkpoints")


def test_video_models_shows_the_link_and_its_target(cli, linked):
    r = cli("models", "--models-dir", linked)
    assert r.returncode == 0, r.stderr
    rows = [line.split()[0:3] for line in r.stdout.splitlines()]
    assert ["checkpoints/link_svd.safetensors", "->", "svd_tiny.safetensors"] in rows, r.stdout
    assert any(row[0] == "checkpoints/svd_tiny.safetensors" for row in rows), r.stdout
    r = cli("models", "--models-dir", linked, "--json")
    links = {row["name"]: row.get("link") for row in __import__("json").loads(r.stdout)}
    assert links == {"link_svd.safetensors": "svd_tiny.safetensors", "svd_tiny.safetensors": None}


def test_a_folder_searched_twice_still_lists_each_file_once(tmp_path):
    touch(tmp_path / "store" / "a.safetensors")
    os.symlink(tmp_path / "store", tmp_path / "store_link")
    y = tmp_path / "extra.yaml"
    y.write_text(f"one:\n    base_path: {tmp_path}\n    checkpoints: |\n        store\n        store_link\n"
                 f"two:\n    base_path: {tmp_path}\n    checkpoints: store\n")
    folder = ModelsFolder(tmp_path / "m", [y])
    assert [str(e.path) for e in folder.entries("checkpoints")] == [str(tmp_path / "store" / "a.safetensors")]


@pytest.mark.parametrize("name", ["K.SAFETENSORS", "UP.Safetensors", "old.CKPT"])
def test_upper_case_suffixes_are_listed_and_found(tmp_path, name):
    f = touch(tmp_path / "m" / "checkpoints" / name)
    folder = ModelsFolder(tmp_path / "m")
    assert [e.name for e in folder.entries("checkpoints")] == [name]
    stem = name.rpartition(".")[0]
    assert folder.resolve(stem, "checkpoints") == f  # without its extension, as a lower-case one
    assert resolve_model_arg(name, models_dir=tmp_path / "m") == str(f)


def test_the_kind_folder_video_models_prints_is_accepted(tmp_path):
    f = touch(tmp_path / "m" / "checkpoints" / "svd_tiny.safetensors")
    u = touch(tmp_path / "m" / "unet" / "w.safetensors")
    m = tmp_path / "m"
    assert resolve_model_arg("checkpoints/svd_tiny.safetensors", models_dir=m) == str(f)
    assert resolve_model_arg("checkpoints/svd_tiny", models_dir=m) == str(f)
    assert resolve_model_arg("diffusion_models/w", models_dir=m) == str(u)  # unet/ is diffusion_models' alias
    assert resolve_model_arg("unet/w.safetensors", models_dir=m) == str(u)
    with pytest.raises(NameNotFound):  # a kind not searched is no way in
        resolve_model_arg("loras/svd_tiny", models_dir=m)


def test_a_real_subfolder_named_as_a_kind_comes_first(tmp_path):
    top = touch(tmp_path / "m" / "checkpoints" / "x.safetensors")
    sub = touch(tmp_path / "m" / "checkpoints" / "checkpoints" / "x.safetensors")
    assert resolve_model_arg("checkpoints/x", models_dir=tmp_path / "m") == str(sub)
    assert resolve_model_arg("x", models_dir=tmp_path / "m") == str(top)


def test_video_info_takes_the_printed_name(cli, tmp_path):
    save_first_layer_lora(tmp_path / "m" / "checkpoints" / "style.safetensors")
    r = cli("info", "checkpoints/style.safetensors", "--models-dir", tmp_path / "m", "--json")
    assert r.returncode == 0, r.stderr
    assert '"kind": "lora"' in r.stdout


def test_a_lora_given_as_model_is_named_as_one(cli, tmp_path):
    lora = save_first_layer_lora(tmp_path / "m" / "loras" / "kohya_dit.safetensors")
    with pytest.raises(NameNotFound) as e:
        resolve_model_arg("kohya_dit", models_dir=tmp_path / "m")
    assert f"kohya_dit is {lora}, a LoRA in loras/: give it with --lora" in str(e.value)
    r = cli("txt2vid", "--model", "kohya_dit", "--models-dir", tmp_path / "m", "--prompt", "x")
    assert r.returncode == 2 and len(r.errors) == 1 and "give it with --lora" in r.errors[0], r.stderr
    r = cli("info", "kohya_dit", "--models-dir", tmp_path / "m", "--json")  # info describes it where it is
    assert r.returncode == 0 and '"kind": "lora"' in r.stdout, r.stderr


def test_a_link_to_nothing_is_a_broken_link(tmp_path):
    link = tmp_path / "gone_link.safetensors"
    os.symlink("gone.safetensors", link)
    for call in (lambda: resolve_model_arg(str(link)), lambda: resolve_lora_arg(f"{link}:0.5")):
        with pytest.raises(CheckpointError, match=r"a broken link \(-> gone.safetensors\)"):
            call()


@pytest.mark.parametrize("make", ["none", "file"])
def test_video_models_refuses_a_video_models_variable_that_is_no_folder(cli, tmp_path, monkeypatch, make):
    target = tmp_path / "nonexistent"
    if make == "file":
        touch(target)
    monkeypatch.setenv("VIDEO_MODELS", str(target))
    r = cli("models")
    what = "not found" if make == "none" else "is a file, not a folder"
    assert r.returncode == 2 and r.errors == [f"error: $VIDEO_MODELS={target}: {what}"], (r.stdout, r.stderr)
    r = cli("info", "svd_tiny")  # a name looked up there: the variable is named
    said = "does not exist" if make == "none" else "is a file, not a folder"  # as `video models` says
    assert r.returncode == 2 and f"($VIDEO_MODELS) {said}" in r.errors[0], r.stderr
