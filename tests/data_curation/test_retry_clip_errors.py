"""Which error rows a ``curate run`` rerun tries again, the file and recipe unchanged: a clip's
machine error (a scorer's missing package, a clip file that could not be written) as a
source's; a bug's error (neither the content's nor the machine's) only once the code changed,
not on every run; parts written before parts recorded the kind of their errors alike."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import cv2
import pandas as pd
import pyarrow.parquet as pq

from data_curation import engine, reruns
from data_curation.engine import error_kind, exception_kind, retry_error, run
from data_curation.manifest import CODE_KEY, ERRORS_KEY, part_path


def _source(tmp_path: Path, pan) -> tuple[Path, Path]:
    src = tmp_path / "src"
    src.mkdir()
    pan(src / "pan.mp4")
    return src, tmp_path / "out"


def _strip_new_keys(part: Path) -> None:
    """``part`` as a version before this one wrote it: without the kind of its errors and the code."""
    t = pq.read_table(part)
    meta = {k: v for k, v in t.schema.metadata.items() if k not in (ERRORS_KEY.encode(), CODE_KEY.encode())}
    pq.write_table(t.replace_schema_metadata(meta), part)


def test_a_clip_failed_by_a_missing_package_is_tried_again(tmp_path, monkeypatch, pan):
    """phash imports imagehash per clip: without it the clip is an error row and the source's
    part stands. Before, a rerun skipped the source for good, the clip failed forever."""
    src, out = _source(tmp_path, pan)
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "imagehash", None)  # Python's own way of saying "not installed"
        first = run([str(src)], out, "quick", workers=0, progress=False)
    assert (first["failed"], first["clips"], first["clips_failed"]) == (0, 1, 1)
    assert pq.read_schema(part_path(out, src / "pan.mp4")).metadata[ERRORS_KEY.encode()] == b"machine"
    again = run([str(src)], out, "quick", workers=0, progress=False)
    assert (again["processed"], again["retried"], again["changed"], again["clips_failed"]) == (1, 1, 0, 0)
    df = pd.read_parquet(out / "manifest.parquet")
    assert df.error.isna().all() and df.phash.str.fullmatch("[0-9a-f]{16}").all()
    third = run([str(src)], out, "quick", workers=0, progress=False)
    assert (third["processed"], third["retried"]) == (0, 0)


def test_a_clip_file_that_could_not_be_written_is_tried_again(tmp_path, pan, capsys):
    """A file named ``clips`` in OUT (a real, fixable cause that root cannot override as it can
    a permission): extraction fails for each clip. Removed, a rerun extracts the clip."""
    src, out = _source(tmp_path, pan)
    out.mkdir()
    (out / "clips").write_text("in the way")
    first = run([str(src)], out, "quick", ["split.extract=true"], workers=0, progress=False)
    assert (first["failed"], first["clips_failed"]) == (0, 1)
    assert next(iter(first["errors"])).startswith(("FileExistsError", "NotADirectoryError"))
    (out / "clips").unlink()
    again = run([str(src)], out, "quick", ["split.extract=true"], workers=0, progress=True)
    assert (again["retried"], again["clips_failed"]) == (1, 0)
    assert "1 source(s) failed last time, whole or in some of their clips" in capsys.readouterr().err
    (clip,) = pd.read_parquet(out / "manifest.parquet").clip_path
    assert Path(clip).is_file()


def test_a_bug_is_tried_again_only_when_the_code_changed(tmp_path, monkeypatch, pan):
    """A ValueError from a library on this file (cut detection's histogram here) is no content
    and no machine error: the same code fails the same way. Before, every rerun decoded the
    source again to fail again; now only a new version (of curate or its libraries) does."""
    src, out = _source(tmp_path, pan)

    def bug(*args, **kwargs):
        raise ValueError("bins out of range")

    with monkeypatch.context() as m:
        m.setattr(cv2, "calcHist", bug)
        first = run([str(src)], out, "quick", workers=0, progress=False)
        assert (first["failed"], first["errors"]) == (1, {"ValueError: bins out of range": 1})
        again = run([str(src)], out, "quick", workers=0, progress=False)
        assert (again["processed"], again["retried"], again["failed"]) == (0, 0, 1)
    for where in (reruns, engine):  # the fixed version installed: plan_work compares it, process_source stamps it
        monkeypatch.setattr(where, "code_version", lambda: "9.9.9+fixed")
    fixed = run([str(src)], out, "quick", workers=0, progress=False)
    assert (fixed["processed"], fixed["retried"], fixed["failed"], fixed["clips"]) == (1, 1, 0, 1)
    assert run([str(src)], out, "quick", workers=0, progress=False)["processed"] == 0


def test_parts_written_before_are_read_for_their_errors(tmp_path, monkeypatch, pan):
    """A part without the kind of its errors in its metadata: its rows decide. A clip's
    machine error is tried again; a bug's error once (the code it was written with is unknown),
    then the part records it; a part without errors is skipped."""
    src, out = _source(tmp_path, pan)
    part = part_path(out, src / "pan.mp4")
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "imagehash", None)
        run([str(src)], out, "quick", workers=0, progress=False)
    _strip_new_keys(part)
    assert run([str(src)], out, "quick", workers=0, progress=False)["retried"] == 1
    _strip_new_keys(part)  # now without errors
    assert run([str(src)], out, "quick", workers=0, progress=False)["processed"] == 0
    with monkeypatch.context() as m:
        m.setattr(cv2, "calcHist", lambda *a, **k: 1 / 0)
        (src / "pan.mp4").touch()  # changed: scored again, and fails
        assert run([str(src)], out, "quick", workers=0, progress=False)["errors"] == {
            "ZeroDivisionError: division by zero": 1}
        _strip_new_keys(part)
        once = run([str(src)], out, "quick", workers=0, progress=False)
        assert (once["retried"], once["failed"]) == (1, 1)
        assert run([str(src)], out, "quick", workers=0, progress=False)["processed"] == 0


def test_error_kinds():
    assert [error_kind(e) for e in ("MediaError: a.mp4: empty file (0 bytes), not a video",
                                    "InvalidDataError: [Errno 1094995529] Invalid data found",
                                    "MediaError: /d/a.mp4: not a readable video (PermissionError)",
                                    "ModuleNotFoundError: No module named 'cv2'", "PermissionError: [Errno 13]",
                                    "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
                                    "RuntimeError: CUDA error: an illegal memory access was encountered",
                                    "ValueError: bins out of range", "IndexError: list index out of range",
                                    "ZeroDivisionError: float division by zero", "RuntimeError: shape mismatch",
                                    "SSLError: certificate verify failed")] == (
        ["content"] * 2 + ["machine"] * 5 + ["code"] * 5)
    # its type tells what its name does not: a library's own OSError is the machine's
    assert exception_kind(ssl.SSLError("certificate verify failed")) == "machine"
    assert exception_kind(ValueError("x")) == "code"
    assert not retry_error("ValueError: x") and retry_error("ValueError: x", code_changed=True)
    assert retry_error("OSError: [Errno 28] No space left on device")
    assert not retry_error("MediaError: a.mp4: zero frames", code_changed=True)
