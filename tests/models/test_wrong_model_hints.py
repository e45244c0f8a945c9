"""A ``--model`` path the command cannot load says what it is and what runs it, in one line:
img2vid given a text-to-video model said only "not a diffusers SVD folder", a training
checkpoint (``checkpoints/step_N/``, whole or FSDP-sharded) was "not a diffusers SVD folder" /
"neither our text-to-video layout" in img2vid, txt2vid and ``video info``, and ``video info``
on a render said ``kind: unknown, detail: unrecognised file (.mp4)`` with exit 0. Checkpoints
are written by the trainer's own writer (:func:`video.training.state.save_checkpoint`); an
FSDP one as its collective writer lays it out (``shards/``, ``state.json``, ``rng.safetensors``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from video.models.detect import detect_kind, list_models
from video.models.svd import CheckpointError, detect_layout
from video.runtime.txt2vid import load_t2v


def _files(root: Path, files: dict) -> Path:
    """``root`` with each ``{relative path: JSON object or text}`` written into it."""
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(body if isinstance(body, str) else json.dumps(body))
    return root


def _ours(root: Path) -> Path:
    """Our text-to-video layout as far as telling it apart needs (``save_t2v``'s files)."""
    (root / "transformer").mkdir(parents=True)
    (root / "video_pipeline.yaml").write_text("backbone: dit\n")
    return root


def _svd(root: Path) -> Path:
    for sub in ("unet", "vae", "image_encoder"):
        (root / sub).mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableVideoDiffusionPipeline"}))
    return root


def _wan(root: Path, pipeline: str) -> Path:
    transformer = {"WanPipeline": "WanTransformer3DModel", "WanVACEPipeline": "WanVACETransformer3DModel",
                   "WanAnimatePipeline": "WanAnimateTransformer3DModel",
                   "WanImageToVideoPipeline": "WanTransformer3DModel"}[pipeline]
    return _files(root, {"model_index.json": {"_class_name": pipeline, "transformer": ["diffusers", transformer]},
                         "transformer/config.json": {"_class_name": transformer}})


def _checkpoint(run: Path, step: int, config: dict) -> Path:
    """``run/checkpoints/step_N/`` written by the trainer's checkpoint writer, and the run's
    ``config.yaml`` (the trainer writes it first)."""
    from video.training.state import save_checkpoint

    model = torch.nn.Linear(3, 2)
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.ones(1, 3)).sum().backward()
    optim.step()
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: 1.0)
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.yaml").write_text("task: dit_t2v\n")
    return save_checkpoint(run / "checkpoints" / f"step_{step:07d}", model.state_dict(), None, optim, sched,
                           {"step": step, "config": config})


def _raises(fn, path) -> str:
    with pytest.raises(CheckpointError) as e:
        fn(path)
    return str(e.value)


@pytest.fixture
def image(tmp_path) -> Path:
    Image.new("RGB", (32, 32), (90, 120, 200)).save(tmp_path / "in.png")
    return tmp_path / "in.png"


def test_img2vid_names_a_text_to_video_model_and_the_command_that_renders_it(tmp_path, cli, image):
    model = _ours(tmp_path / "run" / "final" / "model")
    p = cli("img2vid", "--model", model, "--image", image, "--output", tmp_path / "o.mp4")
    assert p.returncode == 2 and len(p.errors) == 1, p.stderr
    assert p.errors[0] == (f"error: {model} is a text-to-video model (our DiT): render it with "
                           f"`video txt2vid --model {model}` or `video edit TASK --model {model}`")


@pytest.mark.parametrize(("make", "loader", "says"), [
    (lambda r: _wan(r, "WanPipeline"), detect_layout, " is a text-to-video model (Wan): render it with "
                                                      "`video txt2vid --model {m}` or `video edit TASK --model {m}`"),
    (lambda r: _wan(r, "WanVACEPipeline"), detect_layout,
     " is a video editing model (Wan VACE): render it with `video edit TASK --model {m}`"),
    (lambda r: _wan(r, "WanAnimatePipeline"), detect_layout,
     " is a character animation model (Wan Animate): render it with `video animate --model {m}`"),
    (lambda r: _wan(r, "WanImageToVideoPipeline"), detect_layout, ": a Wan image-to-video model, which this project "
                                                                  "does not run"),
    (_svd, load_t2v, " is an image-to-video model (SVD): render it with `video img2vid --model {m}` or "
                     "`video edit TASK --model {m}`"),
    (lambda r: _files(r, {"config.json": {"_class_name": "AutoencoderKL"}}), load_t2v,
     ": AutoencoderKL (image VAE), diffusers folder: one part of a model, not a whole one"),
    (lambda r: _files(r, {"config.json": {"_class_name": "WanTransformer3DModel"}}), detect_layout,
     ": transformer alone (WanTransformer3DModel): one part of a model, not a whole one"),
    (lambda r: _files(r, {"model_index.json": {"_class_name": "StableDiffusionXLPipeline"}}), detect_layout,
     ": diffusers folder of StableDiffusionXLPipeline (not supported here)"),
], ids=["wan_t2v", "vace", "animate", "wan_i2v", "svd_to_txt2vid", "vae", "transformer_alone", "sdxl"])
def test_every_kind_detect_kind_knows_says_what_runs_it(tmp_path, make, loader, says):
    m = make(tmp_path / "m")
    assert _raises(loader, m).startswith(f"{m}{says.format(m=m)}")


def test_a_checkpoint_of_a_finished_run_names_the_runs_model(tmp_path, cli, image):
    run = tmp_path / "runs" / "dit"
    ckpt = _checkpoint(run, 200, {"task": "dit_t2v", "lora": {"enabled": False}})
    final = _ours(run / "final" / "model")
    line = (f"{ckpt}: a training checkpoint (step 200) of {run}, not a model: render {final} (the run's export) "
            f"with `video txt2vid --model {final}`")
    assert _raises(detect_layout, ckpt) == line  # img2vid
    assert _raises(load_t2v, ckpt) == line
    p = cli("txt2vid", "--model", ckpt, "--prompt", "a kite", "--output", tmp_path / "o.mp4")
    assert p.returncode == 2 and p.errors == [f"error: {line}"], p.stderr
    p = cli("info", ckpt, "--json")
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    assert (info["kind"], info["layout"], info["parameters"]) == ("training_checkpoint", "training checkpoint",
                                                                  {"model": 8})  # the Linear(3, 2), not its optimizer
    assert info["detail"] == line.removeprefix(f"{ckpt}: ")


def test_a_checkpoint_of_an_unfinished_run_says_how_to_finish_it(tmp_path):
    run = tmp_path / "run"
    ckpt = _checkpoint(run, 2, {"task": "dit_t2v"})
    assert _raises(load_t2v, ckpt) == (
        f"{ckpt}: a training checkpoint (step 2) of {run}, not a model: its run has not finished (no "
        f"{run / 'final' / 'model'} yet): rerun its `video train` command (`video train {run / 'config.yaml'} "
        f"out={run}`), which resumes from its latest checkpoint and writes {run / 'final' / 'model'} when the run "
        "finishes")


def test_a_lora_runs_checkpoint_names_its_lora_file(tmp_path):
    run = tmp_path / "lora_run"
    ckpt = _checkpoint(run, 30, {"task": "dit_t2v", "lora": {"enabled": True, "rank": 4}})
    (run / "final").mkdir()
    save_file({"a.lora_A.weight": torch.zeros(4, 3)}, str(run / "final" / "lora.safetensors"))
    assert _raises(detect_layout, ckpt).endswith(
        f"render its base model with `--lora {run / 'final' / 'lora.safetensors'}` (the run's export)")


def test_an_fsdp_sharded_checkpoint_is_named_too(tmp_path, cli):
    """FSDP writes no model.safetensors: each rank's shards under shards/ (the layout of a
    two-process parallel=fsdp run)."""
    ckpt = tmp_path / "fsdp" / "checkpoints" / "step_0000002"
    (ckpt / "shards").mkdir(parents=True)
    for rank in (1, 2):
        save_file({"model.w": torch.zeros(2)}, str(ckpt / "shards" / f"shard-0000{rank}-model-00001-of-00001.safetensors"))
    save_file({"cpu": torch.zeros(4, dtype=torch.uint8)}, str(ckpt / "rng.safetensors"))
    (ckpt / "state.json").write_text(json.dumps({"step": 2, "format": "sharded", "config": {"task": "dit_t2v"}}))
    assert _raises(detect_layout, ckpt).startswith(
        f"{ckpt}: a training checkpoint (step 2, FSDP shards) of {tmp_path / 'fsdp'}, not a model: its run has not "
        "finished")
    p = cli("info", ckpt)
    assert p.returncode == 0 and "training_checkpoint" in p.stdout and "parameters" not in p.stdout, p.stderr


def test_a_video_or_image_file_is_named_and_video_info_refuses_it(tmp_path, cli, image):
    from video.media import write_video

    clip = write_video(np.zeros((3, 16, 16, 3), np.uint8), tmp_path / "renders" / "x.mp4")
    said = f"{clip}: a video file (MP4), not a model (`curate probe {clip}` describes it)"
    p = cli("info", clip)
    assert p.returncode == 2 and p.errors == [f"error: {said}"], p.stdout + p.stderr
    assert _raises(detect_layout, clip) == said and _raises(load_t2v, clip) == said
    assert detect_kind(image) == {"kind": "media", "detail": "an image file (PNG), not a model"}
    p = cli("info", image)
    assert p.returncode == 2 and p.errors == [f"error: {image}: an image file (PNG), not a model"], p.stderr


def test_video_models_lists_a_stray_video_without_an_error(tmp_path):
    """A render saved under the models folder with a weight file's name is listed for what it is."""
    from video.media import write_video

    models = tmp_path / "models"
    stray = models / "checkpoints" / "render.bin"
    stray.parent.mkdir(parents=True)
    write_video(np.zeros((3, 16, 16, 3), np.uint8), tmp_path / "r.mp4").rename(stray)
    (row,) = list_models(models)
    assert (row["kind"], row["detail"]) == ("media", f"a video file (MP4), not a model (`curate probe {stray}` "
                                                     "describes it)")
