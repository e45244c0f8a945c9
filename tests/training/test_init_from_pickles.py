"""``init_from`` naming a pickled file is refused in one line naming it, in ``--model``'s words,
before any line says it was taken, and nothing is unpickled. A pickle named ``.safetensors``
printed ``init_from: FILE`` and then "a .safetensors file is damaged or not safetensors (header
too large); --debug shows which"; a ``.pt`` was "no final/ export, checkpoint, model folder or
.safetensors found". Each pickle here would create a marker file if it were ever unpickled."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from pickle_marker import Marker  # tests/ is on sys.path (its conftest)
from safetensors.torch import save_file
from test_init_from_ema_checkpoint_and_lora_run import TINY  # tests/training is on sys.path

NAMED_SAFETENSORS = "a pickled (torch.save) file named .safetensors: not loaded; convert it"
PICKLED = "pickled checkpoints are not loaded; convert it to .safetensors"




def _pickle(path: Path, marker: Path, how: str) -> Path:
    """``path`` holding a pickle that would create ``marker``: pickle protocol 0, 2 or 4, or
    torch.save's zip (a ``data.pkl`` inside)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "torch.save":
        torch.save(Marker(marker), path)
    else:
        path.write_bytes(pickle.dumps(Marker(marker), protocol=int(how[-1])))
    return path


def _refused(cli, tmp_path: Path, source: Path, line: str, whole: bool = True) -> None:
    """The run and its dry run both end in ``line`` alone (or a line starting so: not ``whole``),
    with no ``init_from:`` line and no run folder."""
    for dry in ([], ["--dry-run"]):
        p = cli("train", "dit_stage2_video", *TINY, f"init_from={source}", f"out={tmp_path / 'next'}", *dry)
        assert p.returncode == 2 and len(p.errors) == 1, p.stderr
        assert p.errors[0] == f"error: {line}" if whole else p.errors[0].startswith(f"error: {line}"), p.stderr
        assert "init_from:" not in p.stdout + p.stderr.replace(f"init_from={source!r}", "")
        assert not (tmp_path / "next").exists()


@pytest.mark.parametrize("how", ["protocol 2", "protocol 4", "torch.save"])
def test_a_pickle_named_safetensors_is_named_and_never_announced(cli, tmp_path, how):
    marker = tmp_path / "MARKER"
    source = _pickle(tmp_path / "evil.safetensors", marker, how)
    _refused(cli, tmp_path, source, f"init_from={str(source)!r}: {NAMED_SAFETENSORS}")
    assert not marker.exists()


@pytest.mark.parametrize("name, how", [("evil.pt", "protocol 2"), ("evil.ckpt", "protocol 0"),
                                       ("evil.pth", "torch.save"), ("evil.bin", "protocol 4")])
def test_a_pickled_pt_file_says_pickled_not_nothing_found(cli, tmp_path, name, how):
    marker = tmp_path / "MARKER"
    source = _pickle(tmp_path / name, marker, how)
    _refused(cli, tmp_path, source, f"init_from={str(source)!r}: {PICKLED}")
    assert not marker.exists()


@pytest.mark.parametrize("inside", ["final/trainable.safetensors", "checkpoints/step_0000002/model.safetensors",
                                    "checkpoints/step_0000002/ema.safetensors", "final/model/transformer/model.safetensors"])
def test_a_pickle_inside_a_run_folder_is_named(cli, tmp_path, inside):
    """The run folder (or its export's model) whose weights file is a pickle: the line names that file."""
    marker, run = tmp_path / "MARKER", tmp_path / "run"
    if inside.endswith("ema.safetensors"):  # a checkpoint's raw weights are fine, its EMA is the pickle
        (run / inside).parent.mkdir(parents=True)
        save_file({"w": torch.zeros(1)}, str(run / inside.replace("ema", "model")))
    bad = _pickle(run / inside, marker, "protocol 2")
    source = run / "final" / "model" if "model/" in inside else run
    _refused(cli, tmp_path, source, f"init_from={str(source)!r}: {bad}: {NAMED_SAFETENSORS}")
    assert not marker.exists()


def test_a_cut_short_safetensors_file_is_named_before_the_line(cli, tmp_path):
    """Not a pickle: a download cut short, named in ``video info``'s words rather than "--debug shows which"."""
    source = tmp_path / "stage1.safetensors"
    save_file({"w": torch.zeros(64)}, str(source))
    source.write_bytes(source.read_bytes()[:12])
    _refused(cli, tmp_path, source, f"init_from={str(source)!r}: truncated or damaged safetensors file (",
             whole=False)  # then safetensors' own words
