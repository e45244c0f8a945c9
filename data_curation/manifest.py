"""The manifest: one Parquet row per clip (``OUT/manifest.parquet``), readable by DuckDB,
pandas and polars. Each finished source is first written to its own part file
(``OUT/parts/<source key>.parquet``, temp name then rename, stamped with the recipe key and the
source's size and mtime): a rerun skips sources whose part exists and still matches, and
compaction rebuilds the manifest from the parts, so no row is lost or doubled."""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from video.atomic import fsync_path

BASE_COLUMNS = {
    "source": pa.string(), "clip_id": pa.string(), "start_frame": pa.int64(), "end_frame": pa.int64(),
    "start_s": pa.float64(), "end_s": pa.float64(), "fps": pa.float64(), "width": pa.int64(),
    "height": pa.int64(), "rotation": pa.int64(), "num_frames": pa.int64(), "source_frames": pa.int64(),
}  # width/height: the coded size of the clip's frames (data_curation.probe.clip_size; a source row: the
# header's); rotation: degrees counterclockwise a player turns it (clip files come upright)
TAIL_COLUMNS = {
    "caption": pa.string(), "clip_path": pa.string(), "keep": pa.bool_(), "drop_reason": pa.string(),
    "error": pa.string(), "scorers": pa.string(),
}
RECIPE_KEY = "curate.scoring_key"  # in each part file's metadata: the recipe it was scored under
RUN_DIR_KEY = "curate.run_dir"  # in the manifest's metadata: relative source paths are relative to it
# in the manifest's metadata: that folder relative to OUT ("..": OUT was a subfolder of it), so the
# paths still resolve after the project moved with OUT inside it (:func:`media_bases`)
RUN_DIR_FROM_OUT_KEY = "curate.run_dir_from_out"
# in the manifest's metadata: {"short_side": px, "sample_fps": fps} the motion scorer ran at
# (:func:`motion_settings`): its motion_mean is in px of such a frame per sample step
MOTION_KEY = "curate.motion"
# in the manifest's metadata: the bounds its last filter compared, JSON of [{"column", "kind": "min"|"max",
# "value", "rule"}] (:func:`data_curation.filtering.bound_records`, read back by :func:`recorded_bounds`)
THRESHOLDS_KEY = "curate.thresholds"
SOURCE_STAT_KEY = "curate.source_stat"  # in each part file's metadata: the source's size and mtime when scored
ERRORS_KEY = "curate.errors"  # in each part file's metadata: the kind of its worst error row (reruns.part_kind)
CODE_KEY = "curate.code"  # in each part file's metadata: the code it was scored with (reruns.code_version)


def source_stat(path: str | Path) -> str:
    """``"<size>:<mtime_ns>"`` of the file ``path`` names (a symlink: its target), ``"missing"``
    when there is none: a part file records it, and a source whose stat differs since (fixed,
    replaced, re-encoded) is scored again on a rerun."""
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def source_key(path: str | Path) -> str:
    """A file-name-safe, stable key per source: its stem and a hash of its absolute path. Not
    resolved: a symlink is its own source (resolving gave a link and its target one part file,
    and one of them lost its rows). A name that is no UTF-8 text hashes its bytes on disk
    (:func:`data_curation.probe.path_bytes`; ``str.encode`` raised and crashed the run), every
    other the UTF-8 bytes it always hashed, so parts of earlier runs are still found."""
    from data_curation.probe import path_bytes  # here: probe loads video.media, which this module need not

    p = Path(os.path.abspath(path))
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in p.stem)[:40]
    return f"{stem}-{hashlib.sha1(path_bytes(p)).hexdigest()[:10]}"


def schema(score_columns: dict[str, str]) -> pa.Schema:
    cols = dict(BASE_COLUMNS)
    cols.update({k: pa.type_for_alias(v) for k, v in score_columns.items() if k not in TAIL_COLUMNS})
    cols.update(TAIL_COLUMNS)
    return pa.schema(list(cols.items()))


def to_table(rows: list[dict], score_columns: dict[str, str]) -> pa.Table:
    sch = schema(score_columns)
    return pa.Table.from_pylist([{k: r.get(k) for k in sch.names} for r in rows], schema=sch)


def local_path(path: str | Path) -> str:
    """``path`` as pyarrow must be given a local file: absolute. pyarrow takes ``NAME:rest`` for
    a URI of scheme NAME when no such file is there yet, or it names a folder (a write, a
    dataset; a timestamped OUT ``curated-2024-06-01T12:00``): "Unrecognized filesystem type in
    URI"; its LocalFileSystem refuses the relative name too ("got a URI"). An absolute path is
    always a file, as for FFmpeg (:func:`video.media.media_path`; not imported here: it loads
    torch). Every path this project hands pyarrow goes through here, with :func:`local_fs`."""
    return str(Path(path).absolute())


def local_fs():
    """The local filesystem, given to pyarrow with :func:`local_path`: no path is ever read as a
    URI (``%20`` stays three characters)."""
    from pyarrow import fs

    return fs.LocalFileSystem()


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """The Parquet file ``path`` (``columns`` of it), a local file whatever its name (:func:`local_path`)."""
    return pq.read_table(local_path(path), columns=columns, filesystem=local_fs())


def parquet_schema(path: str | Path) -> pa.Schema:
    """The schema of the Parquet file ``path`` (its footer only), named as :func:`read_parquet` names it."""
    return pq.read_schema(local_path(path), filesystem=local_fs())


def parquet_footer(path: str | Path) -> pq.FileMetaData:
    """The footer of the Parquet file ``path`` (row groups, statistics, key-value metadata)."""
    return pq.read_metadata(local_path(path), filesystem=local_fs())


# The temporary name write_atomic gives ``NAME``: ``.NAME.PID.partial``, PID the writer's process
# id (a killed writer leaves it behind: :func:`data_curation.engine.stale_temporaries`)
TEMP_NAME = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.partial")


def write_atomic(table: pa.Table, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """``table`` to ``path`` by way of a temporary name (:data:`TEMP_NAME`); ``metadata`` goes
    into the file's schema. A symlink at ``path`` stays one: its target is written (the link was
    replaced by a file). The file is flushed to the disk before it takes the name, and the name
    after, as :mod:`video.atomic` does for every other output: else a power cut soon after could
    leave the name on an empty file."""
    given = Path(path)
    path = given.resolve() if given.is_symlink() else given
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               **{k.encode(): v.encode() for k, v in metadata.items()}})
    try:
        pq.write_table(table, local_path(tmp), filesystem=local_fs())
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return given


def part_path(out: str | Path, source: str | Path) -> Path:
    return Path(out) / "parts" / f"{source_key(source)}.parquet"


def parquet_metadata(path: str | Path, key: str) -> str | None:
    """One entry of a Parquet file's schema metadata (a part file's recipe key, the manifest's
    run folder); None if the file or the entry is missing, or the file is not Parquet. The path
    is read as a local file (:func:`parquet_schema`): a relative ``cur-1:2/manifest.parquet``
    was a URI pyarrow refused, and the run folder was silently lost (relative sources then
    resolved against the working folder alone)."""
    try:
        meta = parquet_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    value = meta.get(key.encode())
    return value.decode() if value is not None else None


def is_missing(value) -> bool:
    """None, NaN / ``pd.NA`` or a blank string. pandas reads a missing manifest value as NaN
    (pandas 3 also in string columns), which is truthy and not a string: ``row.get("clip_path")
    or row["source"]`` gave NaN, and a caption read "nan"."""
    import pandas as pd

    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # an array cell is a value
        return False


def manifest_cell(row, key: str):
    """The cell ``key`` of a manifest row, or None when the column is absent or the cell missing."""
    value = row.get(key)
    return None if is_missing(value) else value


def resolve_media(path: str, run_dir: str | None, fallbacks: tuple[Path, ...] = (),
                  bases: list[Path] | None = None) -> Path:
    """A media path of a ``curate`` manifest as curate meant it, the way ``curate report`` reads
    sources: an absolute path as it is; a relative one against ``bases`` (None: the folder
    ``curate run`` ran in, which the manifest records, :data:`RUN_DIR_KEY`, then the current
    folder; :func:`media_bases` gives a manifest's full list, the manifest's own project
    first), then ``fallbacks`` (where the file would be if the output folder moved). Not found
    anywhere: as joined to the first base."""
    p = Path(path)
    if p.is_absolute():
        return p
    if bases is None:
        bases = ([Path(run_dir)] if run_dir else []) + [Path(".")]
    for cand in [b / p for b in bases] + list(fallbacks):
        if cand.exists():
            return cand
    return bases[0] / p if bases else p


def media_bases(manifest: str | Path) -> list[Path]:
    """The folders a relative media path of ``manifest`` is looked for in, in order: the folder
    ``curate run`` ran in found from the manifest's own (:data:`RUN_DIR_FROM_OUT_KEY`, absolute),
    the folder it ran in as recorded (:data:`RUN_DIR_KEY`), the current folder, and the
    manifest's folder. The manifest's own project comes first: a project copied with OUT inside
    it (the original left in place) reads the copy's files, not the original's; a project
    moved finds them either way. A manifest re-saved by pandas has lost the first two (pandas
    drops a Parquet file's metadata): running from the folder curate ran in still finds its files."""
    manifest = Path(manifest)
    run_dir = parquet_metadata(manifest, RUN_DIR_KEY)
    up = parquet_metadata(manifest, RUN_DIR_FROM_OUT_KEY)
    found = ([Path(os.path.abspath(manifest.parent / up))] if up else []) + ([Path(run_dir)] if run_dir else [])
    out: list[Path] = []
    for base in [*found, Path("."), manifest.parent]:
        if base not in out:
            out.append(base)
    return out


def run_dir_metadata(out: str | Path) -> dict[str, str]:
    """The manifest metadata that places its relative paths: the folder this run runs in
    (:data:`RUN_DIR_KEY`) and that folder relative to OUT (:data:`RUN_DIR_FROM_OUT_KEY`)."""
    here = os.getcwd()
    meta = {RUN_DIR_KEY: here}
    try:
        meta[RUN_DIR_FROM_OUT_KEY] = os.path.relpath(here, os.path.abspath(out))
    except ValueError:  # another drive (Windows): no relative path between them
        pass
    return meta


def recipe_motion(recipe=None) -> dict:
    """``{"short_side": px, "sample_fps": fps}`` the motion scorer runs at under ``recipe`` (None:
    the defaults, which the quick recipe keeps): what :data:`MOTION_KEY` records."""
    if recipe is None:
        from data_curation.recipe import Recipe

        recipe = Recipe()
    return {"short_side": int(recipe.motion_short_side), "sample_fps": float(recipe.sample_fps)}


def motion_settings(manifest: str | Path) -> dict | None:
    """``{"short_side": px, "sample_fps": fps}`` the manifest's motion scores were measured at
    (:data:`MOTION_KEY`), None when it does not say (curated before it was recorded, or re-saved
    by pandas, which drops the metadata)."""
    value = parquet_metadata(manifest, MOTION_KEY)
    if not value:
        return None
    try:
        got = json.loads(value)
        return {"short_side": int(got["short_side"]), "sample_fps": float(got["sample_fps"])}
    except (ValueError, TypeError, KeyError):  # damaged: as if not recorded
        return None


def rename_source(text: str, old: str, new: str | None) -> str:
    """``text``, an error message, with the source path ``old`` named ``new`` where the messages
    put a source's path: ``OLD: ...`` (curate's and MediaError's) and an OS error's ``'OLD'``,
    each after a space, a bracket or the start; nowhere else, so a short name never eats into
    the message. ``new`` None takes the path out: ``OLD: `` goes, ``'OLD'`` reads ``'<source>'``."""
    if not old:
        return text
    at = r"(?<![^\s(\[])"  # the path starts the text or follows a space or a bracket
    # the absolute form too: readers open sources by it (video.media.media_path), so an OS error
    # (PermissionError) names ``'/abs/src/x.mp4'`` for the source given as ``src/x.mp4``
    for name in dict.fromkeys((old, os.path.abspath(old))):
        text = re.sub(at + re.escape(f"{name}: "), lambda _: "" if new is None else f"{new}: ", text)
        text = re.sub(at + re.escape(f"'{name}'"), lambda _: "'<source>'" if new is None else f"'{new}'", text)
    return text


def rebase(table: pa.Table, source: str, out: str | Path) -> pa.Table:
    """A part's rows with paths as this run names them: ``source`` as given to this run, also
    inside each ``error`` (:func:`rename_source`), and each ``clip_path`` under this run's
    ``out``. A part written by an earlier run from another folder (or naming OUT otherwise)
    held paths relative to that run's folder, while the manifest's paths are relative to this
    run's (:data:`RUN_DIR_KEY`); an error naming the old spelling read "a.mp4: ..." beside the
    source "in/a.mp4", and the summary counted the same error apart per spelling. A clip file
    always lies in ``OUT/clips`` under its own name. ``source`` is written as the manifest can
    hold it (:func:`data_curation.probe.readable_path`: a name that is not UTF-8, an error row)."""
    from data_curation.probe import readable_path

    source = readable_path(source)
    if "error" in table.column_names:
        errors = [None if e is None else rename_source(e, old or "", str(source))
                  for old, e in zip(table.column("source").to_pylist(), table.column("error").to_pylist(),
                                    strict=True)]
        table = table.set_column(table.schema.get_field_index("error"), "error", pa.array(errors, pa.string()))
    table = table.set_column(table.schema.get_field_index("source"), "source",
                             pa.array([str(source)] * table.num_rows, pa.string()))
    if "clip_path" in table.column_names:
        paths = [None if v is None else str(Path(out) / "clips" / Path(v).name)
                 for v in table.column("clip_path").to_pylist()]
        table = table.set_column(table.schema.get_field_index("clip_path"), "clip_path", pa.array(paths, pa.string()))
    return table


def compact(out: str | Path, sources: list[str] | None = None) -> pa.Table:
    """The part files of ``sources`` (None: every part under ``out``, paths as written) as one
    table, sorted by source and start frame, their paths as this run names them
    (:func:`rebase`). Parts of sources not in this run (moved, deleted, or from an earlier run
    on other folders) stay on disk but out of the manifest."""
    if sources is None:
        tables = [read_parquet(q) for q in sorted((Path(out) / "parts").glob("*.parquet"))]
    else:
        tables = [rebase(read_parquet(q), p, out) for p, q in ((p, part_path(out, p)) for p in sources)
                  if q.is_file()]
    if not tables:
        return to_table([], {})
    t = pa.concat_tables(tables, promote_options="permissive")
    return t.sort_by([("source", "ascending"), ("start_frame", "ascending")])


def read_rows(manifest: str | Path) -> list[dict]:
    return read_parquet(manifest).to_pylist()


def refilter(manifest: str | Path, recipe_name: str, overrides: list[str] | None = None) -> dict:
    """Re-apply a recipe's filters to an existing manifest (no decoding, no scoring). The
    recipe's rules are checked against the manifest's columns, not its own scorers: a rule on
    ``text_area`` filters a manifest that has the column whatever ``scorers`` the recipe lists."""
    from data_curation.filtering import apply_rules
    from data_curation.recipe import load_recipe

    manifest = Path(manifest)
    if not manifest.is_file():
        raise FileNotFoundError(f"manifest {manifest} not found")
    t = read_parquet(manifest)
    numeric = frozenset(f.name for f in t.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
    recipe = load_recipe(recipe_name, overrides, scoring=False, columns=numeric)
    rows = t.to_pylist()
    for note in filter_notes(manifest, rows, recipe):
        warnings.warn(note, stacklevel=2)
    bounds = apply_rules(rows, recipe)  # this recipe's bounds replace those the manifest recorded
    write_atomic(pa.Table.from_pylist(rows, schema=t.schema), manifest, thresholds_metadata(bounds))
    return summarize(rows)


def thresholds_metadata(bounds: list[dict]) -> dict[str, str]:
    """The manifest metadata recording the bounds its filter compared (:data:`THRESHOLDS_KEY`),
    written even when there is none: a re-filter without rules must not leave the last recipe's."""
    return {THRESHOLDS_KEY: json.dumps(bounds)}


def recorded_bounds(manifest: str | Path) -> list[dict] | None:
    """The bounds the manifest's last filter compared (:data:`THRESHOLDS_KEY`), each
    ``{"column", "kind", "value", "rule"}``; None when the manifest does not record them (filtered
    before they were recorded, re-saved by pandas, which drops the metadata, or damaged)."""
    value = parquet_metadata(manifest, THRESHOLDS_KEY)
    if value is None:
        return None
    try:
        got = json.loads(value)
        return [{"column": str(b["column"]), "kind": b["kind"], "value": float(b["value"]), "rule": str(b["rule"])}
                for b in got if b["kind"] in ("min", "max")]
    except (ValueError, TypeError, KeyError):  # damaged: as if not recorded
        return None


MOTION_COLUMNS = ("motion_mean", "motion_spread")  # in px per sample step at the recipe's short side


def filter_notes(manifest: str | Path | None, rows: list[dict], recipe, said: frozenset[str] = frozenset()
                 ) -> list[str]:
    """What ``curate filter`` must say before applying ``recipe`` to ``manifest``, one line each;
    ``curate run`` says them too, on the manifest it writes (``manifest`` None: scored under
    ``recipe`` itself, so no motion unit to mismatch; ``said``: columns whose nulls the run said
    already, the clip scorer's without weights).
    A rule on a column null in every clip is not applied (:func:`~data_curation.filtering.unmeasured_columns`),
    which ``curate run`` said as missing weights but a later filter did not. An absolute bound
    on a motion column is in px of the recipe's short side per sample step: applied to motion
    scored at other settings it compares another unit (a 0.04 px/frame drift is 0.14 at
    quick's 64 px, 0.04 at svd_lvd's 16 px, and quick's ``min: 0.05`` dropped it silently).
    Quantile bounds are relative and unaffected; a manifest that does not record its settings
    (:func:`motion_settings`) cannot be checked."""
    from data_curation.filtering import unmeasured_columns

    notes = [f"recipe rule on column {c!r} not applied: every value is null (its scorer did not run, or had "
             "no model weights)" for c in unmeasured_columns(rows, recipe) if c not in said]
    if manifest is None:
        return notes
    absolute = sorted({r.column for r in recipe.rules
                       if r.column in MOTION_COLUMNS and (r.min is not None or r.max is not None)})
    got, want = motion_settings(manifest), recipe_motion(recipe)
    if absolute and got is not None and got != want:
        notes.append(f"recipe {recipe.name!r} bounds {', '.join(absolute)} in px per sample step at a "
                     f"{want['short_side']} px short side and {want['sample_fps']:g} fps, but this manifest was "
                     f"scored at {got['short_side']} px and {got['sample_fps']:g} fps: the same motion measures "
                     "otherwise there (rescore with this recipe, or use a quantile rule)")
    return notes


def summarize(rows: list[dict]) -> dict:
    """The funnel. Clip rows and source rows (a source that failed, or gave no clip) are
    counted apart, so that ``kept`` plus the ``dropped`` counts is ``clips``."""
    reasons: dict[str, int] = {}
    clips = [r for r in rows if r.get("start_frame") is not None]
    for r in clips:
        if not r["keep"]:
            key = (r["drop_reason"] or "").split("<")[0].split(">")[0]
            reasons[key] = reasons.get(key, 0) + 1
    sources = [r for r in rows if r.get("start_frame") is None]
    return {"clips": len(clips), "kept": sum(bool(r["keep"]) for r in clips), "dropped": reasons,
            "sources_failed": sum(r.get("error") is not None for r in sources),
            "sources_without_clips": sum(r.get("error") is None for r in sources)}


def scorer_versions(scorers: list) -> str:
    return json.dumps({s.name: s.version for s in scorers}, sort_keys=True)
