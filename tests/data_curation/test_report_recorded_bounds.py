"""The bounds ``curate run`` and ``curate filter`` compared are recorded in the manifest
(``curate.thresholds``), and ``curate report`` draws each of them: a rule that dropped no clip,
or whose clips an earlier rule dropped first, had no line (the report read the bounds back from
the drop reasons), and a line stood at the reason's 4-digit value. A manifest without the record
(written before it, or re-saved by pandas) still gets the lines its drop reasons give."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pyarrow.parquet as pq
import pytest
from test_report_details import SHOTS, _line_x, _plots, _texts

from data_curation.montage import build_montage

TINY = 0.05  # motion_mean: the still test card's is below it, a moving shot's well above
RECIPE_A = ("name: bounds_a\nscorers: [motion, black_frozen]\nmax_phash_distance: null\nrules:\n"
            "  - {column: frozen_fraction, max: 0.5}\n"  # drops the still test card
            "  - {column: motion_mean, min_quantile: 0.5}\n"
            f"  - {{column: motion_mean, min: {TINY}}}\n"  # only the still card fails it, dropped above first
            "  - {column: black_fraction, max: 0.9}\n")  # no clip is that black: drops nothing
RECIPE_B = "name: bounds_b\nscorers: [motion]\nrules:\n  - {column: motion_mean, max_quantile: 0.75}\n"


@pytest.fixture(scope="module")
def run_a(tmp_path_factory):
    """(OUT, manifest rows, report page) of a run under :data:`RECIPE_A`, and the recipes' folder."""
    from data_curation.engine import run
    from data_curation.report import write_report

    d = tmp_path_factory.mktemp("bounds")
    build_montage(SHOTS, d / "src" / "m.mp4", width=64, height=48, fps=8)
    (d / "a.yaml").write_text(RECIPE_A)
    (d / "b.yaml").write_text(RECIPE_B)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run([str(d / "src")], d / "out", str(d / "a.yaml"), [], workers=0, progress=False)
        page = write_report(d / "out").read_text(encoding="utf-8")
    return d, pq.read_table(d / "out" / "manifest.parquet").to_pylist(), page


def _scored(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["start_frame"] is not None and r["error"] is None]


def _recorded(manifest) -> list[dict]:
    return json.loads(pq.read_schema(manifest).metadata[b"curate.thresholds"])


def _labels(page: str) -> dict[str, list[str]]:
    return {col: sorted(t["text"].strip() for t in _texts(root) if t["text"].startswith(("min ", "max ")))
            for col, root in _plots(page).items() if col != "funnel (clips = kept + dropped)"}


def test_every_bound_is_recorded_and_drawn_a_rule_that_dropped_nothing_too(run_a):
    d, rows, page = run_a
    clips = _scored(rows)
    q = float(np.quantile([r["motion_mean"] for r in clips], 0.5))
    still = [r for r in clips if r["frozen_fraction"] > 0.5]
    assert len(still) == 1 and still[0]["motion_mean"] < TINY  # the min rule would drop it, had it come first
    assert max(r["black_fraction"] for r in clips) <= 0.9  # nothing for the black rule to drop
    assert {r["drop_reason"] for r in clips} == {None, "frozen_fraction>0.5", f"motion_mean<{q:.4g}"}
    # the exact floats compared, each with its rule as the recipe wrote it
    assert _recorded(d / "out" / "manifest.parquet") == [
        {"column": "frozen_fraction", "kind": "max", "value": 0.5, "rule": "max 0.5"},
        {"column": "motion_mean", "kind": "min", "value": q, "rule": "min_quantile 0.5"},
        {"column": "motion_mean", "kind": "min", "value": TINY, "rule": f"min {TINY}"},
        {"column": "black_fraction", "kind": "max", "value": 0.9, "rule": "max 0.9"}]
    # the kept clips are those within the recorded bounds (an independent reading of what was compared)
    assert [r["keep"] for r in clips] == [r["frozen_fraction"] <= 0.5 and r["motion_mean"] >= q for r in clips]

    assert _labels(page) == {"motion_mean": [f"min {TINY:.4g}", f"min {q:.4g} (min_quantile 0.5)"],
                             "motion_spread": [], "black_fraction": ["max 0.9"], "frozen_fraction": ["max 0.5"]}
    plots = _plots(page)
    (( _, x),) = _line_x(plots["black_fraction"])
    assert x == pytest.approx(0.9, abs=0.01)
    assert sorted(x for _, x in _line_x(plots["motion_mean"])) == pytest.approx(sorted([TINY, q]), abs=0.02)
    assert "every rule's, whether it dropped a clip or not" in page and "has no line" not in page


def test_a_refilter_records_its_own_recipes_bounds(run_a, tmp_path):
    from data_curation.manifest import recorded_bounds, refilter
    from data_curation.report import write_report

    d, _, _ = run_a
    out = tmp_path / "out"
    shutil.copytree(d / "out", out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refilter(out / "manifest.parquet", str(d / "b.yaml"))
        page = write_report(out).read_text(encoding="utf-8")
    clips = _scored(pq.read_table(out / "manifest.parquet").to_pylist())
    q = float(np.quantile([r["motion_mean"] for r in clips], 0.75))
    want = [{"column": "motion_mean", "kind": "max", "value": q, "rule": "max_quantile 0.75"}]
    assert _recorded(out / "manifest.parquet") == want == recorded_bounds(out / "manifest.parquet")
    assert _labels(page) == {"motion_mean": [f"max {q:.4g} (max_quantile 0.75)"], "motion_spread": [],
                             "black_fraction": [], "frozen_fraction": []}

    # a recipe without rules records none: the last recipe's lines are not drawn again
    (tmp_path / "none.yaml").write_text("name: none\nscorers: [motion]\nrules: []\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refilter(out / "manifest.parquet", str(tmp_path / "none.yaml"))
        page = write_report(out).read_text(encoding="utf-8")
    assert recorded_bounds(out / "manifest.parquet") == []
    assert all(not labels for labels in _labels(page).values())


def test_a_manifest_without_the_record_draws_the_drop_reasons_bounds(run_a, tmp_path):
    from data_curation.manifest import recorded_bounds
    from data_curation.report import write_report

    d, rows, _ = run_a
    out = tmp_path / "out"
    shutil.copytree(d / "out", out)
    t = pq.read_table(out / "manifest.parquet")
    meta = {k: v for k, v in t.schema.metadata.items() if k != b"curate.thresholds"}
    pq.write_table(t.replace_schema_metadata(meta), out / "manifest.parquet")
    assert recorded_bounds(out / "manifest.parquet") is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        page = write_report(out).read_text(encoding="utf-8")
    q = float(np.quantile([r["motion_mean"] for r in _scored(rows)], 0.5))
    # only the rules that dropped a clip, at their reasons' 4 digits
    assert _labels(page) == {"motion_mean": [f"min {q:.4g}"], "motion_spread": [], "black_fraction": [],
                             "frozen_fraction": ["max 0.5"]}
    assert "does not record its bounds" in page and "a rule that dropped no clip has no line" in page
