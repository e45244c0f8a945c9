"""The notebooks run top to bottom on tiny data (nbclient, a real kernel), and are stored
without outputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute(name: str, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def outputs(nb, kind: str) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if kind in o.get("data", {})]


def text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("name", ["evaluate_model.ipynb", "explore_dataset.ipynb"])
def test_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])


def test_evaluate_model_notebook(tmp_path, generated, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("EVAL_GENERATED", str(generated / "gen"))
    monkeypatch.setenv("EVAL_REFERENCE", str(generated / "ref"))
    monkeypatch.setenv("EVAL_PROMPTS", str(generated / "prompts.txt"))
    monkeypatch.setenv("EVAL_OUT", str(out))
    nb = execute("evaluate_model.ipynb", tmp_path)
    m = json.loads((out / "metrics.json").read_text())
    assert m["videos"]["one"]["psnr"] is None and m["videos"]["two"]["psnr"] < 25  # identical / darkened
    assert (out / "report.html").is_file()
    assert len(outputs(nb, "image/png")) >= 4  # metric bars, curves, two frame strips
    assert "note: fvd_i3d skipped" in text(nb)


def test_explore_dataset_notebook(tmp_path, curated, monkeypatch):
    path, rows = curated
    monkeypatch.setenv("MANIFEST", str(path))
    nb = execute("explore_dataset.ipynb", tmp_path)
    t = text(nb)
    assert "5 clips from 3 sources; 3 kept; 1 errors" in t
    assert "score columns: motion_mean, sharpness, brightness, text_area, aesthetic" in t
    assert "4 clips match (no ranges)" in t
    assert len(outputs(nb, "image/png")) == 2  # histograms, contact sheet


ROOT = NOTEBOOKS.parent


@pytest.mark.parametrize("name,env,default,command", [
    ("explore_dataset.ipynb", "MANIFEST", "curated/manifest.parquet", "`curate run VIDEOS... --out curated`"),
    ("evaluate_model.ipynb", "EVAL_GENERATED", "runs/quickstart/dit_stage3_hq/samples", "`video quickstart`"),
])
def test_defaults_missing_say_what_makes_them(tmp_path, monkeypatch, name, env, default, command):
    """On a fresh checkout the default input is not there yet: one line says which command writes
    it (looked up in the kernel's folder, then in the repository root, where the command runs)."""
    from nbclient.exceptions import CellExecutionError

    if (ROOT / default).exists():
        pytest.skip(f"{default} exists in this checkout")
    monkeypatch.delenv(env, raising=False)
    with pytest.raises(CellExecutionError) as e:
        execute(name, tmp_path)
    assert e.value.ename == "EvalError"
    assert e.value.evalue.startswith(f"{default} not found (in {tmp_path} or {ROOT}): ") and command in e.value.evalue


def test_evaluate_model_notebook_without_curves(tmp_path, monkeypatch):
    """One-frame videos and no reference: no per-frame curve to plot, said so instead of a crash."""
    import numpy as np

    from video.media import write_video

    write_video(np.full((1, 48, 64, 3), 128, np.uint8), tmp_path / "gen" / "still.mp4", fps=7)
    monkeypatch.setenv("EVAL_GENERATED", str(tmp_path / "gen"))
    monkeypatch.delenv("EVAL_REFERENCE", raising=False)
    monkeypatch.setenv("EVAL_OUT", str(tmp_path / "out"))
    nb = execute("evaluate_model.ipynb", tmp_path)
    assert "no per-frame curves" in text(nb)
