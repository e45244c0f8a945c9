"""Paths a notebook user sets that are not plain files in the kernel's folder: weights paths
relative to the repository root (``EVAL_LPIPS=weights/lpips.pt``), and the folder ``curate run
--out curated`` writes given as the manifest (``MANIFEST=curated``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient

from eval.dataset import find_manifest, load_manifest, select_clips
from eval.inputs import EvalError, find_weights

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


class TinyLPIPS(torch.nn.Module):
    """LPIPS's call signature: (N, 3, H, W) pairs in [-1, 1] -> one distance each."""

    def forward(self, x, y):
        return ((x - y) ** 2).mean(dim=(1, 2, 3))


def run_notebook(name: str, cwd: Path) -> str:
    """Execute a notebook in ``cwd`` (a real kernel); its printed text."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.fixture
def checkout(tmp_path, monkeypatch) -> Path:
    """A repository root with nothing in it; the kernel runs in a notebooks/ beside it."""
    import matplotlib

    root = tmp_path / "checkout"
    (root / "weights").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.setenv("VIDEO_REPO_ROOT", str(root))
    monkeypatch.setenv("MPLCONFIGDIR", matplotlib.get_cachedir())
    for env in ("MANIFEST", "EVAL_GENERATED", "EVAL_REFERENCE", "EVAL_PROMPTS", "EVAL_OUT", "EVAL_I3D",
                "EVAL_CLIP", "EVAL_VIDEOMAE", "EVAL_LPIPS"):
        monkeypatch.delenv(env, raising=False)
    return root


def test_weights_under_the_repository_root_are_found(checkout, generated, monkeypatch, tmp_path):
    """EVAL_LPIPS=weights/lpips.pt with the file in the repository root, not in notebooks/: used,
    as the README says relative paths are (it was ``--lpips weights/lpips.pt: not found``)."""
    torch.jit.script(TinyLPIPS()).save(str(checkout / "weights" / "lpips.pt"))
    monkeypatch.setenv("EVAL_GENERATED", str(generated / "gen"))
    monkeypatch.setenv("EVAL_REFERENCE", str(generated / "ref"))
    monkeypatch.setenv("EVAL_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("EVAL_LPIPS", "weights/lpips.pt")
    text = run_notebook("evaluate_model.ipynb", tmp_path / "notebooks")
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["videos"]["one"]["lpips"] == 0 and m["videos"]["two"]["lpips"] > 0  # identical / darkened
    assert "lpips skipped" not in text


def test_missing_weights_name_the_variable_to_set(checkout, tmp_path):
    with pytest.raises(EvalError) as e:
        find_weights({"clip": "weights/clip", "i3d": None})
    assert str(e.value) == (f"weights/clip not found (in {tmp_path / 'notebooks'} or {checkout}): "
                            "set EVAL_CLIP to a CLIP transformers folder")
    (checkout / "weights" / "clip").mkdir()
    assert find_weights({"clip": "weights/clip", "i3d": None}) == {"clip": checkout / "weights" / "clip", "i3d": None}


def test_the_curated_folder_is_a_manifest(checkout, curated, tmp_path, monkeypatch):
    """MANIFEST=curated, the folder `curate run --out curated` writes: its manifest.parquet is
    read by every cell (it was ``manifest .../curated not found``)."""
    path, _ = curated
    shutil.copytree(path.parent, checkout / "curated")
    monkeypatch.setenv("MANIFEST", "curated")
    text = run_notebook("explore_dataset.ipynb", tmp_path / "notebooks")
    assert "4 clips (+1 row of a failed source) from 3 sources; 3 kept; 1 error;" in text and "4 clips match (no ranges)" in text


def test_manifest_folder_helpers(checkout, curated, tmp_path):
    path, rows = curated
    assert find_manifest(path.parent) == path
    assert len(load_manifest(path.parent)) == len(rows)
    assert len(select_clips(path.parent, keep=True)) == 3
    (checkout / "empty").mkdir()
    with pytest.raises(EvalError) as e:
        find_manifest("empty")
    assert str(e.value) == (f"manifest {checkout / 'empty'} is a folder with no manifest.parquet; give the "
                            "manifest.parquet that `curate run --out FOLDER` writes")
