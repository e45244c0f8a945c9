"""Shared fixtures: tiny real components (diffusers' ``get_dummy_components`` idea), built and
saved by the tests themselves; nothing is downloaded."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
# under pytest-xdist (-n N, as the README's test command runs) the cores this process may use are
# shared out among the workers, here and in the commands the tests start (OMP_NUM_THREADS)
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_THREADS = max(1, min(4, _CORES // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
torch.set_num_threads(_THREADS)
os.environ.setdefault("OMP_NUM_THREADS", str(_THREADS))


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
def curate(capsys):
    """``curate ARGV`` (``data_curation.cli.main``) run in this process, as ``cli`` runs ``video``:
    a subprocess paid a Python start-up and curate's imports (about 2.5 s each on two cores).
    Returns ``run(*argv)`` giving ``.returncode``, ``.stdout`` and ``.stderr``; argparse's exit is
    a return code (``main`` puts its warning display back itself)."""
    import types

    from data_curation.cli import main

    def run(*argv):
        capsys.readouterr()  # what came before this call is not its output
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:
            code = e.code
        out = capsys.readouterr()
        return types.SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


@pytest.fixture
def run_script(capsys, monkeypatch):
    """``python SCRIPT ARGV`` (a bench script) run in this process, as ``cli`` runs ``video``: a
    subprocess paid a Python start-up and about 8 s of imports (torch, diffusers) per run on two
    cores. Returns ``run(script, *argv, cwd, quiet=False)`` giving ``.returncode`` and ``.stdout``;
    ``quiet`` ignores warnings (``PYTHONWARNINGS=ignore``). What a fresh process would not have
    handed on is undone after the run: ``sys.argv``, ``sys.path``, the working folder, the
    warning filters and the torch, NumPy and ``random`` generators (the script builds random
    models, which draws from them)."""
    import random
    import runpy
    import sys
    import types
    import warnings

    import numpy as np

    def run(script, *argv, cwd, quiet=False):
        capsys.readouterr()  # what came before this call is not its output
        monkeypatch.setattr(sys, "argv", [str(script), *map(str, argv)])
        monkeypatch.setattr(sys, "path", list(sys.path))
        monkeypatch.chdir(cwd)
        states = random.getstate(), np.random.get_state()
        try:
            with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
                if quiet:
                    warnings.simplefilter("ignore")
                runpy.run_path(str(script), run_name="__main__")
            code = 0
        except SystemExit as e:  # as a process's exit status: None is 0, a message is 1
            code = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
        return types.SimpleNamespace(returncode=code, stdout=capsys.readouterr().out)

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


@pytest.fixture
def pipeline_loads(monkeypatch) -> list[str]:
    """The pipelines loaded from disk from now on, by class (``TextToVideo``, ``ImageToVideo``):
    the real ``from_pretrained``, recorded, so a test can show a refusal came before any load."""
    from video.runtime.img2vid import ImageToVideo
    from video.runtime.txt2vid import TextToVideo

    calls: list[str] = []
    for cls in (TextToVideo, ImageToVideo):
        real = cls.from_pretrained.__func__

        def recorded(c, *args, _real=real, **kw):
            calls.append(c.__name__)
            return _real(c, *args, **kw)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(recorded))
    return calls
