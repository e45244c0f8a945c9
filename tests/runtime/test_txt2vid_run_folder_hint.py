"""``txt2vid --model RUN/final`` (a training run's export, whose model is in ``final/model``)
names the model folder inside, as ``--lora RUN/final`` names its ``lora.safetensors``; a LoRA
run's export names its LoRA file instead; any other folder says only what it is not."""

from __future__ import annotations

import pytest

from video.models.svd import CheckpointError
from video.runtime.txt2vid import load_t2v

NOT = "neither our text-to-video layout (video_pipeline.yaml) nor a Wan diffusers folder"


def test_a_runs_final_folder_points_at_its_model(tmp_path):
    run = tmp_path / "run_dit"
    (run / "final" / "model").mkdir(parents=True)
    (run / "final" / "model" / "video_pipeline.yaml").write_text("{}\n")
    (run / "final" / "model" / "transformer").mkdir()
    for given in (run / "final", run):
        with pytest.raises(CheckpointError) as e:
            load_t2v(given)
        assert str(e.value) == f"{given}: {NOT}; did you mean {run / 'final' / 'model'}?"


def test_a_lora_runs_final_folder_points_at_its_lora(tmp_path):
    final = tmp_path / "run_lora" / "final"
    final.mkdir(parents=True)
    (final / "lora.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match=rf"; it holds a LoRA: give its base model with --lora "
                                              rf"{final / 'lora.safetensors'}$"):
        load_t2v(final)


def test_any_other_folder_says_only_what_it_is_not(tmp_path):
    (tmp_path / "model").mkdir()  # an empty model/ is no model
    with pytest.raises(CheckpointError) as e:
        load_t2v(tmp_path)
    assert str(e.value) == f"{tmp_path}: {NOT}"


def test_an_svd_runs_export_points_at_img2vid(tmp_path):
    """An SVD run's final/model is a diffusers folder too, but txt2vid cannot load it: the hint
    named it anyway, and following it failed."""
    model = tmp_path / "run_svd" / "final" / "model"
    model.mkdir(parents=True)
    (model / "model_index.json").write_text('{"_class_name": "StableVideoDiffusionPipeline"}')
    with pytest.raises(CheckpointError) as e:
        load_t2v(model.parent)
    assert str(e.value).endswith(f"; it holds an image-to-video model: video img2vid --model {model}")
