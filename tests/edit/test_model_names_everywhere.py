"""A name in the models folder works for every command that takes a model, as it does for
img2vid / txt2vid (one lookup, :func:`video.models.folder.resolve_model_arg`): ``video edit
--model``, ``video upscale --refine`` and ``video animate --model`` used to take only paths and
their built-in names, and said "not found" for a name ``video models`` lists. The built-in
names still win (``--refine tiny`` is covered in test_upscale_refine_flags.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A models folder in ComfyUI's layout with two folder models under diffusion_models/:
    ``qs_dit`` with our DiT's config but none of its parts, and ``tiny-animate`` whose index
    names another pipeline. Each loads no weights and fails at once, with an error that names
    the folder the name resolved to (before: "model 'qs_dit' not found", or the name taken as a
    path in the working folder)."""
    root = tmp_path_factory.mktemp("names") / "models"
    dit = root / "diffusion_models" / "qs_dit"
    dit.mkdir(parents=True)
    (dit / "video_pipeline.yaml").write_text("{}\n")
    animate = root / "diffusion_models" / "tiny-animate"
    animate.mkdir(parents=True)
    (animate / "model_index.json").write_text(json.dumps({"_class_name": "WanVACEPipeline"}))
    return root


@pytest.fixture
def here(tmp_path, models, monkeypatch):
    """A working folder with a small real photo (a crop of scikit-image's astronaut), the models
    folder found through $VIDEO_MODELS."""
    import skimage.data

    monkeypatch.setenv("VIDEO_MODELS", str(models))
    Image.fromarray(np.ascontiguousarray(skimage.data.astronaut()[100:124, 200:232])).save(tmp_path / "photo.png")
    return tmp_path


def _names_the_resolved_folder(p, folder) -> None:
    assert p.returncode == 2 and len(p.errors) == 1, p.stderr
    assert f"error: {folder}: our text-to-video layout needs transformer/" in p.errors[0], p.errors


def test_upscale_refine_takes_a_models_folder_name(here, models, cli):
    p = cli("upscale", "photo.png", "--model", "bicubic", "--refine", "qs_dit", "-o", "up.mp4", cwd=here)
    _names_the_resolved_folder(p, models / "diffusion_models" / "qs_dit")


def test_edit_model_takes_a_models_folder_name(here, models, cli):
    p = cli("edit", "restyle", "--model", "qs_dit", "--video", "photo.png", "--output", "e.mp4", cwd=here)
    _names_the_resolved_folder(p, models / "diffusion_models" / "qs_dit")


def test_animate_model_takes_a_models_folder_name(here, models, cli):
    frames = here / "pose"
    frames.mkdir()
    for i in range(5):
        Image.open(here / "photo.png").save(frames / f"{i}.png")
    p = cli("animate", "--model", "tiny-animate", "--image", "photo.png", "--pose", "pose", "--face", "pose",
            "-o", "a.mp4", cwd=here)
    assert p.returncode == 2 and len(p.errors) == 1, p.stderr
    assert f"{models / 'diffusion_models' / 'tiny-animate'}: a WanVACEPipeline folder" in p.errors[0], p.errors


def test_unknown_name_lists_both_folders_and_suggests(here, cli):
    p = cli("edit", "restyle", "--model", "qs", "--video", "photo.png", "--output", "e.mp4", cwd=here)
    assert p.returncode == 2 and len(p.errors) == 1, p.stderr
    assert "diffusion_models: qs_dit" in p.errors[0] and "did you mean qs_dit" in p.errors[0], p.errors
