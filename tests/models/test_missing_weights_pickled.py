"""A weights file that is not there, where its part holds a pickled one in its place (our
text-to-video layout with ``transformer/model.bin`` for ``transformer/model.safetensors``): the
one line names the pickle and says it is not loaded, as a diffusers part without .safetensors
weights does (:func:`video.models.components.require_safetensors`). It said only
"transformer/model.safetensors is missing". Each pickle here would create a marker file if it
were ever unpickled: the check reads bytes, never unpickles."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from pickle_marker import Marker  # tests/ is on sys.path (its conftest)

from video.models.components import require_safetensors
from video.models.part_checks import missing_weights, pickle_refusal
from video.models.svd import CheckpointError

NOTE = "is there, pickled: not loaded; convert it to .safetensors"




def _pickle(path: Path, marker: Path, protocol: int | None = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if protocol is None:
        torch.save(Marker(marker), path)
    else:
        path.write_bytes(pickle.dumps(Marker(marker), protocol=protocol))
    return path


@pytest.mark.parametrize("protocol", [0, 2, 5, None], ids=["protocol0", "protocol2", "protocol5", "torch.save"])
def test_a_pickled_model_bin_in_place_of_the_safetensors_is_named(tmp_path, protocol):
    marker, folder = tmp_path / "MARKER", tmp_path / "t2v_bin"
    _pickle(folder / "transformer" / "model.bin", marker, protocol)
    e = missing_weights(folder, "transformer/model.safetensors")
    assert isinstance(e, CheckpointError)
    assert str(e) == f"{folder}: transformer/model.safetensors is missing; transformer/model.bin {NOTE}"
    with pytest.raises(CheckpointError, match=r"only model\.bin \(pickled"):  # the diffusers-part words agree
        require_safetensors(folder / "transformer")
    assert not marker.exists()


def test_the_pickle_named_is_the_one_in_place_of_the_file(tmp_path):
    """Two pickles: the one of the missing file's name first, whatever the order of names."""
    marker, folder = tmp_path / "MARKER", tmp_path / "t2v"
    _pickle(folder / "transformer" / "a_optimizer.pt", marker)
    _pickle(folder / "transformer" / "model.pth", marker, None)
    assert str(missing_weights(folder, "transformer/model.safetensors")).endswith(f"; transformer/model.pth {NOTE}")
    assert not marker.exists()


@pytest.mark.parametrize("held", [None, b"", b"version https://git-lfs.github.com/spec/v1\n", b"\x00\x01junk"],
                         ids=["no-part", "empty", "lfs-pointer", "junk"])
def test_no_pickle_there_is_missing_alone(tmp_path, held):
    """An empty ``model.bin``, a Git LFS pointer or bytes of no format are not pickles: not called one."""
    folder = tmp_path / "t2v"
    if held is not None:
        (folder / "transformer").mkdir(parents=True)
        (folder / "transformer" / "model.bin").write_bytes(held)
    assert str(missing_weights(folder, "transformer/model.safetensors")) == (
        f"{folder}: transformer/model.safetensors is missing")


def test_pickle_refusal_has_model_s_words(tmp_path):
    marker = tmp_path / "MARKER"
    pt, named = _pickle(tmp_path / "a.pt", marker), _pickle(tmp_path / "a.safetensors", marker, 4)
    assert pickle_refusal(pt) == f"{pt}: pickled checkpoints are not loaded; convert it to .safetensors"
    assert pickle_refusal(named) == f"{named}: a pickled (torch.save) file named .safetensors: not loaded; convert it"
    (tmp_path / "empty.ckpt").write_bytes(b"")
    assert pickle_refusal(tmp_path / "empty.ckpt") is None and pickle_refusal(tmp_path) is None
    assert not marker.exists()
