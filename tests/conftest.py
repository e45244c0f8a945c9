"""Shared fixtures: tiny real components (diffusers' ``get_dummy_components`` idea), built and
saved by the tests themselves; nothing is downloaded."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def tiny_models():
    from video.config import load_model_config
    from video.models.svd import build_random

    return build_random(load_model_config("tiny"), seed=0)


@pytest.fixture(scope="session")
def tiny_diffusers_dir(tmp_path_factory, tiny_models):
    from video.models.svd import save_diffusers_folder

    return save_diffusers_folder(tiny_models, tmp_path_factory.mktemp("models") / "tiny-svd")


@pytest.fixture(scope="session")
def photo():
    """A real photograph (scikit-image's astronaut), 128x192 like the tiny defaults."""
    import skimage.data
    from PIL import Image

    from video.media import resize_center_crop

    return resize_center_crop(Image.fromarray(skimage.data.astronaut()), 128, 192)


@pytest.fixture
def cli(capsys, monkeypatch):
    """``video ARGV`` run in this process, as tests/test_cli.py runs the console script but
    without a Python start-up and imports per call (about 2.5 s each on two cores): returns
    ``run(*argv, cwd=None)`` giving ``.returncode``, ``.stdout``, ``.stderr`` and ``.errors``
    (stderr's ``error:`` lines). argparse's exit is a return code, and ``main()``'s
    replacement of ``warnings.showwarning`` is undone after the test."""
    import types
    import warnings

    from video.cli import main

    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)

    def run(*argv, cwd=None):
        capsys.readouterr()  # what came before this call is not its output
        here = os.getcwd()
        try:
            if cwd is not None:
                os.chdir(cwd)
            code = main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code
        finally:
            os.chdir(here)
        out = capsys.readouterr()
        errors = [ln for ln in out.err.splitlines() if ln.startswith("error:")]
        return types.SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err, errors=errors)

    return run


@pytest.fixture
def bin_only_clip(tmp_path):
    """A tiny CLIP folder holding only a pickled ``pytorch_model.bin``, as old exports do: every
    loader must refuse it (loading a pickle can run code)."""
    from safetensors.torch import load_file
    from transformers import CLIPConfig, CLIPModel

    cfg = CLIPConfig(
        text_config=dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(image_size=16, patch_size=8, hidden_size=16, intermediate_size=32,
                           num_hidden_layers=1, num_attention_heads=2),
        projection_dim=8)
    folder = tmp_path / "clip"
    CLIPModel(cfg).save_pretrained(folder)
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    return folder
