"""What ``--lora`` and ``video info`` say about a path that is not a LoRA file: a missing path
is "not found" (not "no loras named"), a folder is called a folder (with the LoRA file inside
it, if a run left one), an error in one of several files names that file's whole path, and a
training run's final/ points at what it holds."""

from __future__ import annotations

import pytest
import torch
from model_test_files import save_first_layer_lora, two_layer_model
from safetensors.torch import save_file

from video.models.folder import resolve_lora_arg
from video.models.lora import LoraError, apply_loras
from video.models.svd import CheckpointError

_model, _good = two_layer_model, save_first_layer_lora


def test_a_missing_path_is_not_found_and_a_name_is_looked_up(tmp_path):
    models = tmp_path / "models"
    for value in ("runs/nope/lora.safetensors", "runs/nope/lora.safetensors:0.8", "nope.safetensors"):
        path = value.rsplit(":", 1)[0] if value.endswith(":0.8") else value
        with pytest.raises(CheckpointError, match=rf"^LoRA file '{path}' not found \(nor a name under "):
            resolve_lora_arg(value, models)
    with pytest.raises(CheckpointError, match="no loras named 'nope'"):  # a bare name: the models folder's answer
        resolve_lora_arg("nope", models)
    style = _good(models / "loras" / "style.safetensors")
    assert resolve_lora_arg("style.safetensors:0.5", models) == f"{style}:0.5"  # a name with its suffix still resolves


def test_a_folder_is_called_a_folder_naming_the_lora_inside(tmp_path):
    run = tmp_path / "run"
    (run / "final").mkdir(parents=True)
    with pytest.raises(LoraError, match=rf"'{run}' is a folder, not a LoRA file; give the \.safetensors file"):
        apply_loras(_model(), [(run, 1.0)])
    lora = _good(run / "final" / "lora.safetensors")
    for folder in (run, run / "final"):
        with pytest.raises(LoraError, match=rf"'{folder}' is a folder, not a LoRA file; did you mean {lora}\?"):
            apply_loras(_model(), [(str(folder), 1.0)])


def test_an_error_in_one_of_several_files_names_its_whole_path(tmp_path):
    """Two runs' lora.safetensors share the name: only the path tells which one is bad."""
    a = _good(tmp_path / "a" / "lora.safetensors")
    bad_keys = tmp_path / "b" / "lora.safetensors"
    bad_keys.parent.mkdir()
    save_file({"0.lora_A.weight": torch.randn(2, 8), "0.lora_B.weight": torch.randn(6, 2),
               "0.hada_w1_a": torch.randn(2, 2)}, str(bad_keys))
    with pytest.raises(LoraError, match=rf"^{bad_keys}: 1 key of a kind not applied"):
        apply_loras(_model(), [(a, 1.0), (bad_keys, 1.0)])
    misfit = tmp_path / "c" / "lora.safetensors"
    misfit.parent.mkdir()
    save_file({"1.lora_A.weight": torch.randn(2, 7), "1.lora_B.weight": torch.randn(4, 2)}, str(misfit))
    with pytest.raises(LoraError, match=rf"^{misfit}: LoRA for 1: A \(2, 7\)"):
        apply_loras(_model(), [(a, 1.0), (misfit, 1.0)])


def test_info_on_a_runs_final_folder_points_at_what_it_holds(tmp_path, capsys):
    from video.cli import main

    final = tmp_path / "run" / "final"
    (final / "model").mkdir(parents=True)
    _good(final / "lora.safetensors")
    assert main(["info", str(final)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "training run's export" in err[0]
    assert str(final / "model") in err[0] and str(final / "lora.safetensors") in err[0]
    assert main(["info", str(tmp_path / "run")]) == 2  # the run folder itself: its final/ parts
    assert str(final / "lora.safetensors") in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["info", str(tmp_path / "empty")]) == 2  # anything else: what it is (not the SVD loader's text)
    assert "not a model this tool recognises (an empty folder)" in capsys.readouterr().err
