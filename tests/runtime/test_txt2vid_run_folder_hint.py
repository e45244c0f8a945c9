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


def test_img2vid_on_a_dit_run_names_txt2vid_at_once(tmp_path):
    """``img2vid --model RUN`` (or RUN/final) of a text-to-video run: one message naming the
    model inside and the command that renders it; before, it named RUN/final/model, whose own
    error then named txt2vid (two tries to get there)."""
    from video.models.svd import detect_layout

    run = tmp_path / "run_dit"
    model = run / "final" / "model"
    (model / "transformer").mkdir(parents=True)
    (model / "video_pipeline.yaml").write_text("{}\n")
    for given in (run, run / "final"):
        with pytest.raises(CheckpointError) as e:
            detect_layout(given)
        assert str(e.value).startswith(f"{given}: a training run's export, not a model itself; it holds {model}, "
                                       f"a text-to-video model (our DiT): render it with "
                                       f"`video txt2vid --model {model}`")
