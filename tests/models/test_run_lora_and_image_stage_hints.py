"""--model given what a training run exported that is not a model: a LoRA run's
``final/lora.safetensors`` names the base the run trained it on and the command (txt2vid said
only "a single file (peft layout ...)"), and an SVD image-pretraining run (no runtime model,
only the image UNet the video stage starts from) says to start stage 2 from it (it was "not a
diffusers SVD folder")."""

import json

import pytest
import torch
from safetensors.torch import save_file

from video.models.svd import CheckpointError, load_svd
from video.runtime.txt2vid import load_t2v


def _lora_run(tmp_path, task: str, model: str):
    run = tmp_path / "lora_run"
    (run / "final").mkdir(parents=True)
    (run / "config.yaml").write_text(f"task: {task}\nmodel: {model}\nout: {run}\n")
    f = run / "final" / "lora.safetensors"
    save_file({"blocks.0.attn.to_q.lora_A.weight": torch.zeros(4, 8),
               "blocks.0.attn.to_q.lora_B.weight": torch.zeros(8, 4)}, str(f))
    return f


@pytest.mark.parametrize("task, command", [("dit_t2v", "txt2vid"), ("svd_i2v", "img2vid")])
def test_a_runs_lora_names_its_base_and_command(tmp_path, task, command):
    f = _lora_run(tmp_path, task, "runs/base/final/model")
    for load in (load_t2v, load_svd):
        with pytest.raises(CheckpointError) as e:
            load(f)
        assert str(e.value).endswith(f"; a LoRA trained on runs/base/final/model: `video {command} --model "
                                     f"runs/base/final/model --lora {f} ...`"), str(e.value)


def test_a_lora_on_an_init_from_base_names_that_runs_export(tmp_path):
    """model=tiny with init_from=BASE: the base is BASE's final/model, not random weights."""
    base = tmp_path / "base"
    (base / "final" / "model").mkdir(parents=True)
    f = _lora_run(tmp_path, "dit_t2v", "tiny")
    for init in (base, base / "final"):
        cfg = f.parent.parent / "config.yaml"
        cfg.write_text(f"task: dit_t2v\nmodel: tiny\ninit_from: {init}\n")
        with pytest.raises(CheckpointError) as e:
            load_t2v(f)
        assert str(e.value).endswith(f"; a LoRA trained on {base / 'final' / 'model'}: `video txt2vid --model "
                                     f"{base / 'final' / 'model'} --lora {f} ...`"), str(e.value)


def test_a_lora_outside_a_run_keeps_the_general_hint(tmp_path):
    f = _lora_run(tmp_path, "dit_t2v", "x")
    (f.parent.parent / "config.yaml").unlink()
    with pytest.raises(CheckpointError) as e:
        load_t2v(f)
    assert str(e.value).endswith(f"a LoRA: give it as --lora {f} to the command that renders its base model "
                                 "(img2vid, txt2vid)")


def test_an_image_stage_run_says_to_start_the_video_stage(tmp_path):
    run = tmp_path / "stage1_image"
    (run / "final" / "unet_image").mkdir(parents=True)
    save_file({"w": torch.zeros(1)}, str(run / "final" / "trainable.safetensors"))
    (run / "final" / "trained.json").write_text(json.dumps({"step": 3}))
    for given in (run, run / "final"):
        with pytest.raises(CheckpointError) as e:
            load_svd(given)
        assert str(e.value) == (f"{given}: an image-pretraining run, which exports no model to render (its UNet has "
                                "no temporal layers yet); start the video stage from it: `video train stage2_video "
                                f"init_from={run}`")
