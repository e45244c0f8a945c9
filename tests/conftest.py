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
