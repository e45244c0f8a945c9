"""A models folder with entries that are no model file: a symlink loop named
``*.safetensors`` took ``video models`` and every model lookup that missed down with
"RuntimeError: Symlink loop"; a FIFO of that name made ``video models`` wait forever; a
dangling link was listed as a model. They are left out (the ComfyUI loader's list is the same
listing). An extra_model_paths.yaml that is not UTF-8 is one line naming it."""

from __future__ import annotations

import os

import pytest
from model_test_files import touch

from video.models.folder import ModelsFolder, NameNotFound
from video.models.svd import CheckpointError


@pytest.fixture
def odd_folder(tmp_path):
    """checkpoints/ with a real file and a loop, a dangling link and a FIFO, all named as weights."""
    root = tmp_path / "models"
    ck = root / "checkpoints"
    touch(ck / "real.safetensors")
    os.symlink("loop.safetensors", ck / "loop.safetensors")  # ln -s loop.safetensors loop.safetensors
    os.symlink("l2", ck / "l1.safetensors")
    os.symlink("l1.safetensors", ck / "l2")
    os.symlink(tmp_path / "gone.safetensors", ck / "dangling.safetensors")
    os.mkfifo(ck / "pipe.safetensors")
    return root


def test_listing_leaves_out_loops_dangling_links_and_fifos(odd_folder):
    folder = ModelsFolder(odd_folder)
    assert [e.name for e in folder.entries("checkpoints")] == ["real.safetensors"]
    assert [name for name, _ in folder.listing("checkpoints")] == ["real.safetensors"]


def test_a_missed_lookup_says_not_found(odd_folder):
    folder = ModelsFolder(odd_folder)
    with pytest.raises(NameNotFound, match="found: real.safetensors"):
        folder.resolve("whatever", "checkpoints")
    assert folder.resolve("real", "checkpoints") == odd_folder / "checkpoints" / "real.safetensors"


def test_video_models_lists_the_real_file(cli, odd_folder):
    r = cli("models", "--models-dir", odd_folder)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "real.safetensors" in r.stdout
    assert not any(n in r.stdout for n in ("loop", "l1.", "dangling", "pipe"))


@pytest.mark.parametrize("data, extra", [("a:\n  checkpoints: x\n".encode("utf-16"), "it looks like UTF-16"),
                                          ("a:\n  checkpoints: caf\xe9\n".encode("latin-1"), "")])
def test_extra_paths_not_utf8_is_one_line(cli, tmp_path, data, extra):
    y = tmp_path / "extra.yaml"
    y.write_bytes(data)
    with pytest.raises(CheckpointError, match="not UTF-8 text") as e:
        ModelsFolder(tmp_path / "models", [y])
    assert str(y) in str(e.value) and extra in str(e.value)
    r = cli("models", "--models-dir", tmp_path, "--extra-paths", y)
    assert r.returncode == 2 and r.errors == [f"error: {e.value}"] and "Traceback" not in r.stderr, r.stderr


def test_extra_paths_with_a_utf8_bom_reads(tmp_path):
    y = tmp_path / "extra.yaml"
    touch(tmp_path / "w" / "a.safetensors")
    y.write_bytes(b"\xef\xbb\xbfcomfy:\n  base_path: " + str(tmp_path).encode() + b"\n  checkpoints: w\n")
    assert [e.name for e in ModelsFolder(tmp_path / "models", [y]).entries("checkpoints")] == ["a.safetensors"]
