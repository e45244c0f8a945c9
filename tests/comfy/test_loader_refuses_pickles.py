"""The ComfyUI loader refuses a pickled model file in ``--model``'s words, naming it, before
anything reads it: ``svd.ckpt`` and a pickle named ``svd_xt.safetensors`` were "detected as
pytorch (pytorch weights (not opened)). This node pack runs SVD / ...", which neither said
pickled nor what to do, after a ``torch.load(weights_only=True)`` of the file. Each pickle here
would create a marker file if it were ever unpickled."""

from __future__ import annotations

import pickle

import pytest
import torch
from pickle_marker import Marker  # tests/ is on sys.path (its conftest)

from video.comfy import functions as F
from video.models.svd import CheckpointError

NAMED_SAFETENSORS = "a pickled (torch.save) file named .safetensors: not loaded; convert it"
PICKLED = "pickled checkpoints are not loaded; convert it to .safetensors"




@pytest.fixture()
def loads(monkeypatch):
    """Every torch.load call, recorded (each still loads): the loader must make none."""
    seen, real = [], torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: seen.append(a) or real(*a, **k))
    return seen


@pytest.mark.parametrize("name, how, words", [
    ("svd.ckpt", "protocol 2", PICKLED), ("old/svd.ckpt", "protocol 0", PICKLED), ("svd.pth", "torch.save", PICKLED),
    ("svd_xt.safetensors", "protocol 4", NAMED_SAFETENSORS), ("svd_xt.sft", "torch.save", NAMED_SAFETENSORS)])
def test_a_pickled_model_is_refused_as_pickled_and_never_read(tmp_path, loads, name, how, words):
    marker, path = tmp_path / "MARKER", tmp_path / "checkpoints" / name
    path.parent.mkdir(parents=True)
    if how == "torch.save":
        torch.save(Marker(marker), path)
    else:
        path.write_bytes(pickle.dumps(Marker(marker), protocol=int(how[-1])))
    for given in (name, str(path)):  # by its name in checkpoints/ (an API prompt: the list leaves it out), or path
        with pytest.raises(CheckpointError) as e:
            F.load_video_model(given, tmp_path)
        assert str(e.value) == f"{path}: {words}"
    assert loads == [] and not marker.exists()


def test_a_real_state_dict_saved_by_torch_is_refused_as_pickled_too(tmp_path, loads):
    """Plain tensors in torch.save's format (an old SVD .ckpt), which the loader never reads either."""
    path = tmp_path / "checkpoints" / "svd.ckpt"
    path.parent.mkdir()
    torch.save({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(CheckpointError, match=r"svd\.ckpt: pickled checkpoints are not loaded; convert it to "
                                              r"\.safetensors$"):
        F.load_video_model("svd.ckpt", tmp_path)
    assert loads == []
