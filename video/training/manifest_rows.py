"""A curate manifest as a table of training clips: finding the file ``data.path`` names
(:func:`manifest_file`), the columns the loader reads (:func:`check_columns`), the kept rows
whose cells a clip can be read from (:func:`usable_rows`), ``data.where`` (:func:`query`), a
manifest whose every row failed in curation (:func:`check_not_all_failed`). ``video train
--dry-run`` builds the run's own loader on them (:mod:`video.training.data_checks`).
pyarrow and pandas (the curate extra) are imported where they are used: the trainer imports
without them.
"""

from __future__ import annotations

from pathlib import Path

MANIFEST_NAME = "manifest.parquet"  # what ``curate run OUT`` writes into OUT
# the columns ManifestClips reads from every row (a row with a clip_path reads num_frames too);
# curate writes them all, a hand-made manifest may not
REQUIRED_COLUMNS = ("source", "start_frame", "end_frame", "fps", "width", "height", "keep")


def manifest_file(path: str | Path) -> Path:
    """The manifest ``data.path`` names: the Parquet file itself, or a folder holding a
    ``manifest.parquet`` (``curate run``'s OUT folder, the path a user has just typed). An OUT
    folder with ``parts/`` but no manifest is a ``curate run`` that was stopped before its last
    step: said so, rather than "not found"."""
    path = Path(path)
    if path.is_dir():
        if (path / MANIFEST_NAME).is_file():
            return path / MANIFEST_NAME
        if (path / "parts").is_dir():
            raise FileNotFoundError(interrupted_note(path))
        raise FileNotFoundError(f"manifest not found: {path} is a folder without a {MANIFEST_NAME} "
                                "(data.path takes the manifest curate run wrote, or its OUT folder)")
    if not path.is_file():
        if path.name == MANIFEST_NAME and (path.parent / "parts").is_dir():
            raise FileNotFoundError(interrupted_note(path.parent))
        raise FileNotFoundError(f"manifest not found: {path}")
    return path


def interrupted_note(out: Path) -> str:
    """The line for an OUT folder whose ``curate run`` wrote parts but no manifest yet."""
    return (f"manifest not found: {out} has parts/ but no {MANIFEST_NAME}: a `curate run` into it was interrupted "
            f"before it wrote the manifest; rerun it (`curate run SRC --out {out}` resumes from the parts)")


def check_columns(table, manifest: Path) -> None:
    """A table missing a column the loader reads is a one-line ValueError listing them all (a
    Parquet file curate did not write, or an older one): not a KeyError at the first row.
    ``error`` is optional (absent: no row failed)."""
    need = [*REQUIRED_COLUMNS, *(["num_frames"] if "clip_path" in table else [])]
    missing = [c for c in need if c not in table]
    if missing:
        raise ValueError(f"{manifest} is not a curate manifest: it lacks the column(s) {', '.join(missing)} "
                         f"(a manifest needs {', '.join(need)}; it has {', '.join(map(str, table.columns)) or 'none'})")


def _numbers(table, column: str):
    """The column as floats, NaN where a cell is missing or not a number (a text, a list)."""
    import pandas as pd

    return pd.to_numeric(table[column], errors="coerce").astype(float)


def _is_path(value) -> bool:
    from data_curation.manifest import is_missing

    return isinstance(value, str) and not is_missing(value)


def _cell_problems(table) -> list[tuple[str, object]]:
    """(reason, rows it marks) for each rule a kept row's cells must meet for :meth:`ManifestClips._plan`
    and ``native_size`` to read it: a media path, a source fps, a span, a size (rotation and
    motion_mean, when given, numbers). Checked in this order; a row counts under its first."""
    import numpy as np

    from data_curation.manifest import is_missing

    def bad_number(column: str, positive: bool = True):
        x = _numbers(table, column)
        return ~np.isfinite(x) | ((x <= 0) if positive else False)

    clip = (table["clip_path"].map(_is_path) if "clip_path" in table else table["source"].map(lambda _: False))
    start, end = _numbers(table, "start_frame"), _numbers(table, "end_frame")
    problems = [("source missing or not a path", ~clip & ~table["source"].map(_is_path)),
                ("fps not a finite positive number", bad_number("fps"))]
    if "clip_path" in table:
        problems.append(("num_frames not a positive number", clip & bad_number("num_frames")))
    problems += [("start_frame missing or negative", ~clip & ~(np.isfinite(start) & (start >= 0))),
                 ("end_frame not after start_frame", ~clip & ~(end > start)),
                 ("width or height not a positive number", bad_number("width") | bad_number("height"))]
    for column in ("rotation", "motion_mean"):  # optional: a missing cell reads as none
        if column in table:
            given = ~table[column].map(is_missing)
            problems.append((f"{column} not a finite number", given & bad_number(column, positive=False)))
    return problems


def _rows_said(rows: list) -> str:
    shown = ", ".join(str(r) for r in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
    return f"row{'s' if len(rows) > 1 else ''} {shown}"


def usable_rows(table, manifest: Path) -> tuple[object, int]:
    """(the kept rows whose cells a clip can be read from, how many were left out). A bad cell
    (a NaN fps, an empty source, an end before the start: a hand-written manifest) stopped the
    run at the step that reached its row, and every resume at the same step; such rows are left
    out now, said in one line (the count, each reason and its first row numbers, counted from 0
    as pandas numbers the file's rows), and a manifest with none left is a one-line ValueError."""
    import pandas as pd

    reason = pd.Series(None, index=table.index, dtype=object)
    for why, bad in _cell_problems(table):
        reason[bad.astype(bool) & reason.isna()] = why
    left = reason.dropna()
    if left.empty:
        return table, 0
    said = "; ".join(f"{why} ({_rows_said(list(rows.index))})" for why, rows in left.groupby(left, sort=False))
    n = len(left)
    if n == len(table):
        raise ValueError(f"{manifest}: none of its {n} kept clips can be read: {said}")
    from video.training.buckets import _talks

    if _talks():
        print(f"warning: {manifest}: {n} row{'s' if n > 1 else ''} left out: {said}")
    return table[reason.isna()], n


def query(table, where: str, manifest: Path):
    """``table.query(where)``; an expression pandas cannot evaluate on the manifest (a typo,
    an unknown column, a comparison of the wrong types) is a one-line ValueError naming
    ``data.where`` and the columns there are."""
    try:
        return table.query(where)
    except (SyntaxError, NameError, KeyError, ValueError, TypeError, AttributeError) as e:  # pandas' words for a
        # bad expression: SyntaxError, UndefinedVariableError (a NameError), TypeError for str > int, ...
        why = " ".join(str(e).split()) or type(e).__name__
        raise ValueError(f"data.where={where!r} is not a query on {manifest} ({type(e).__name__}: {why}); "
                         f"{did_you_mean(why, table.columns)}its columns: {', '.join(map(str, table.columns))}") from None


def did_you_mean(why: str, columns) -> str:
    """``"did you mean 'clip_score'? "`` for pandas' "name 'clip_scor' is not defined" when a
    column is that close (as ``curate filter`` says for its rules), else ``""``."""
    import difflib
    import re

    m = re.search(r"name '([^']+)' is not defined", why)
    close = difflib.get_close_matches(m.group(1), [str(c) for c in columns], n=1) if m else []
    return f"did you mean {close[0]!r}? " if close else ""



def check_not_all_failed(table, manifest: Path) -> None:
    """A manifest in which every row has an ``error`` (every source failed in curation: a wrong
    recipe, a missing package) is a one-line ValueError saying so, with the first error: "no
    kept clips" sent one looking at filters."""
    from data_curation.manifest import is_missing

    if "error" not in table or table.empty:
        return
    failed = ~table["error"].map(is_missing)
    if failed.all():
        first = " ".join(str(table["error"][failed].iloc[0]).split())
        raise ValueError(f"{manifest}: all {len(table)} rows failed in curation (each has an error; the first: "
                         f"{first}): nothing to train on; fix that and rerun `curate run`")
