"""``split.extract`` switched after a run: it was in the scoring key, so "score, look at the
report, then extract" scored every source twice ("scored under another recipe"). Now a run that
extracts writes only the clip files a part lacks, no cut detection or scorer run again, and its
manifest is the one a run extracting from the start writes; a run without extract keeps the
files and their paths; parts keyed with ``split.extract`` in the key (earlier versions) stand."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq

from data_curation.engine import run
from data_curation.manifest import RECIPE_KEY
from data_curation.recipe import load_recipe, scoring_key

EXTRACT = ["split.extract=true"]


def _sources(tmp_path: Path, bikes: str, pan) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(bikes, src / "bikes.mp4")  # real footage, several clips
    pan(src / "pan.mp4")
    return src


def _manifest(out: Path) -> dict[str, list]:
    """The manifest's columns, clip paths as file names (each run has its own OUT)."""
    cols = pq.read_table(out / "manifest.parquet").to_pydict()
    cols["clip_path"] = [None if p is None else Path(p).name for p in cols["clip_path"]]
    return cols


def test_extract_after_scoring_writes_the_files_without_scoring_again(tmp_path, bikes, pan):
    src = _sources(tmp_path, bikes, pan)
    later, once = tmp_path / "later", tmp_path / "once"
    first = run(str(src), later, "quick", [], workers=0, progress=False)
    assert first["processed"] == 2 and not (later / "clips").exists()
    scored = {p.name: p.stat().st_mtime_ns for p in (later / "parts").iterdir()}

    s = run(str(src), later, "quick", EXTRACT, workers=0, progress=False)
    assert (s["processed"], s["extracted"], s["failed"], s["clips_failed"]) == (0, 2, 0, 0), s
    assert s["clips"] == first["clips"] >= 3

    ref = run(str(src), once, "quick", EXTRACT, workers=0, progress=False)
    assert ref["processed"] == 2
    got, want = _manifest(later), _manifest(once)
    assert set(got) == set(want)
    for col in want:
        assert got[col] == want[col], col
    names = sorted(p.name for p in (once / "clips").iterdir())
    assert sorted(p.name for p in (later / "clips").iterdir()) == names == sorted(filter(None, want["clip_path"]))
    for name in names:  # the same cut of the same packets (or the same re-encode)
        assert (later / "clips" / name).read_bytes() == (once / "clips" / name).read_bytes(), name
    # the parts now list their files: a third run has nothing to do
    assert all(p.stat().st_mtime_ns != scored[p.name] for p in (later / "parts").iterdir())
    again = run(str(src), later, "quick", EXTRACT, workers=0, progress=False)
    assert (again["processed"], again["extracted"]) == (0, 0)


def test_a_deleted_clip_file_is_extracted_again_alone(tmp_path, bikes, pan):
    src = _sources(tmp_path, bikes, pan)
    out = tmp_path / "out"
    run(str(src), out, "quick", EXTRACT, workers=0, progress=False)
    files = sorted((out / "clips").iterdir())
    kept = {p.name: p.stat().st_mtime_ns for p in files[1:]}
    files[0].unlink()
    s = run(str(src), out, "quick", EXTRACT, workers=0, progress=False)
    assert (s["processed"], s["extracted"]) == (0, 1)
    assert files[0].is_file()
    assert {p.name: p.stat().st_mtime_ns for p in files[1:]} == kept  # the others untouched


def test_extract_off_keeps_the_files_and_their_paths(tmp_path, bikes, pan):
    src = _sources(tmp_path, bikes, pan)
    out = tmp_path / "out"
    run(str(src), out, "quick", EXTRACT, workers=0, progress=False)
    before = _manifest(out)
    files = sorted(p.name for p in (out / "clips").iterdir())
    s = run(str(src), out, "quick", [], workers=0, progress=False)
    assert (s["processed"], s["extracted"], s["clips_removed"]) == (0, 0, 0)
    assert _manifest(out) == before and all(before["clip_path"][i] for i, f in enumerate(before["start_frame"]) if f is not None)
    assert sorted(p.name for p in (out / "clips").iterdir()) == files


def test_parts_keyed_with_extract_in_the_key_still_stand(tmp_path, pan):
    """Parts of earlier versions carry the key with ``split.extract`` in it, either value: an
    upgrade rescores nothing, and a run that extracts writes their files only."""
    src = tmp_path / "src"
    src.mkdir()
    pan(src / "pan.mp4")
    out = tmp_path / "out"
    run(str(src), out, "quick", [], workers=0, progress=False)
    recipe = load_recipe("quick")
    part = next((out / "parts").glob("*.parquet"))
    for old in (False, True):
        key = scoring_key(recipe, extract=old)
        assert key != scoring_key(recipe)
        table = pq.read_table(part)
        pq.write_table(table.replace_schema_metadata({**table.schema.metadata, RECIPE_KEY.encode(): key.encode()}),
                       part)
        assert run(str(src), out, "quick", [], workers=0, progress=False)["processed"] == 0
    s = run(str(src), out, "quick", EXTRACT, workers=0, progress=False)
    assert (s["processed"], s["extracted"]) == (0, 1) and len(list((out / "clips").iterdir())) == 1
