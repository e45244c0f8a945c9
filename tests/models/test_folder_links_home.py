"""The models folder through directory symlinks (a link back to a parent is walked once, not
until the path is too long), and ``~`` in model and LoRA paths that the shell did not expand
(``--model=~/x``, a YAML config)."""

from __future__ import annotations

import os

import pytest
from model_test_files import touch

from video.models.folder import ModelsFolder, resolve_lora_arg, resolve_model_arg
from video.models.lora import LoraError, parse_lora_arg
from video.models.svd import detect_layout


def test_symlink_to_a_parent_is_walked_once(tmp_path):
    root = tmp_path / "models"
    touch(root / "checkpoints" / "a.safetensors")
    touch(root / "checkpoints" / "sub" / "b.safetensors")
    os.symlink("..", root / "checkpoints" / "loop")  # ln -s .. models/checkpoints/loop
    os.symlink(tmp_path / "elsewhere", root / "checkpoints" / "linked")  # a real link in: still followed
    touch(tmp_path / "elsewhere" / "c.safetensors")
    names = [e.name for e in ModelsFolder(root).entries("checkpoints")]
    assert sorted(names) == ["a.safetensors", "linked/c.safetensors", "sub/b.safetensors"]


def test_tilde_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    touch(tmp_path / "w" / "style.safetensors")
    touch(tmp_path / "w" / "svd.safetensors")
    assert parse_lora_arg("~/w/style.safetensors:0.5") == (str(tmp_path / "w" / "style.safetensors"), 0.5)
    assert resolve_lora_arg("~/w/style.safetensors:0.5", tmp_path / "none") == f"{tmp_path}/w/style.safetensors:0.5"
    assert resolve_lora_arg("~/w/style.safetensors", tmp_path / "none") == f"{tmp_path}/w/style.safetensors"
    assert resolve_model_arg("~/w/svd.safetensors", models_dir=tmp_path / "none") == f"{tmp_path}/w/svd.safetensors"
    assert detect_layout("~/w/svd.safetensors") == "single_file"


def test_tilde_lora_file_loads(tmp_path, monkeypatch):
    import torch
    from safetensors.torch import save_file

    from video.models.lora import read_lora

    monkeypatch.setenv("HOME", str(tmp_path))
    save_file({"0.lora_A.weight": torch.ones(1, 3), "0.lora_B.weight": torch.ones(2, 1)}, str(tmp_path / "l.safetensors"))
    parts = read_lora("~/l.safetensors", torch.nn.Sequential(torch.nn.Linear(3, 2)))
    assert list(parts) == ["0"]
    with pytest.raises(LoraError, match="not found"):
        read_lora("~/absent.safetensors", torch.nn.Sequential(torch.nn.Linear(3, 2)))
