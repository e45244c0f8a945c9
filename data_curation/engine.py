"""``curate run``: every source through cut detection, clip planning, scoring and (optionally)
clip extraction, then one manifest.

The unit of work is a source path: Ray tasks receive paths and return row counts; frames are
decoded inside the task and never enter Ray's object store (FIELD-NOTES: decoded frames are
~10x the compressed size). Each task writes its source's part file itself, atomically, so a
crashed or interrupted run resumes by skipping sources whose part exists. A source that cannot
be read becomes one row with ``error``: the run goes on.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import replace
from pathlib import Path

from data_curation.clip_frames import read_clip
from data_curation.cuts import CutParams, detect_shots
from data_curation.filtering import apply_filters
from data_curation.manifest import (
    RECIPE_KEY,
    RUN_DIR_KEY,
    compact,
    parquet_metadata,
    part_path,
    scorer_versions,
    source_key,
    summarize,
    to_table,
    write_atomic,
)
from data_curation.probe import discover
from data_curation.recipe import Recipe, check_recipe, load_recipe, scoring_key
from data_curation.scorers import all_columns, build_scorers
from data_curation.split import extract_clip, keyframes, plan_clips
from video.media import MediaError, probe_video

_SCORERS: dict[int, list] = {}


def _scorers(recipe: Recipe) -> list:
    """Scorers built once per worker process (model loading is the slow part)."""
    key = hash(repr(recipe))
    if key not in _SCORERS:
        _SCORERS[key] = build_scorers(recipe)
    return _SCORERS[key]


def _one_line(e: BaseException) -> str:
    return f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]


def score_source(path: str, recipe: Recipe, out: str | Path) -> list[dict]:
    """All clip rows of one source (unfiltered). Never raises for a bad input: errors are rows."""
    base = {"source": str(path), "keep": False}
    try:
        info = probe_video(path)
        if not info["num_frames"]:
            raise MediaError(f"{path}: zero frames")
        c = recipe.cuts
        shots = detect_shots(path, CutParams(c.min_across, c.ratio, c.gradual_ratio, decode=c.decode,
                                                 threads=c.threads))
    except (MediaError, OSError, ValueError) as e:
        return [{**base, "clip_id": f"{source_key(path)}:error", "error": _one_line(e)}]
    fps = shots.fps
    if not 1.0 <= fps <= 1000.0:  # a damaged time base: every "shot" would be a frame or two
        return [{**base, "clip_id": f"{source_key(path)}:error",
                 "error": f"MediaError: {path}: implausible frame rate {fps:.4g} fps"}]
    base.update(fps=fps, width=info["width"], height=info["height"], rotation=info.get("rotation", 0),
                source_frames=shots.num_frames)
    clips = plan_clips(shots.shots, fps, recipe.split.min_s, recipe.split.max_s, recipe.split.trim_s)
    if not clips:
        return [{**base, "clip_id": f"{source_key(path)}:none", "error": None}]
    scorers = _scorers(recipe)
    versions = scorer_versions(scorers)
    kf = set(keyframes(path)) if recipe.split.extract else None
    rows = []
    for start, end in clips:
        row = {**base, "clip_id": f"{source_key(path)}_{start:06d}_{end:06d}", "start_frame": start,
               "end_frame": end, "start_s": start / fps, "end_s": end / fps, "num_frames": end - start,
               "scorers": versions, "error": None}
        try:
            frames = read_clip(path, start, end, fps, recipe.sample_fps, recipe.motion_short_side)
            for s in scorers:
                row.update(s.score(frames))
            if recipe.split.extract:
                dest, _ = extract_clip(path, start, end, fps, Path(out) / "clips" / f"{row['clip_id']}.mp4", kf,
                                       turn=base["rotation"])
                row["clip_path"] = str(dest)
        except Exception as e:  # one bad clip must not lose the source's other clips
            row["error"] = _one_line(e)
            if os.environ.get("CURATE_DEBUG"):
                traceback.print_exc()
        rows.append(row)
    return rows


def process_source(path: str, recipe: Recipe, out: str | Path) -> dict:
    """Score one source and write its part file; returns counts (what travels through Ray)."""
    rows = score_source(path, recipe, out)
    write_atomic(to_table(rows, all_columns(recipe)), part_path(out, path), {RECIPE_KEY: scoring_key(recipe)})
    failed = any(r.get("error") and r["clip_id"].endswith(":error") for r in rows)
    return {"path": path, "rows": len(rows), "failed": int(failed)}


# Ray's longest socket path below its temp dir: "/session_<date>_<time>_<usec>_<pid>/sockets/plasma_store"
# with a 7-digit pid; AF_UNIX paths hold at most 107 bytes on Linux.
_RAY_SOCKET_TAIL = len("/session_2026-01-01_00-00-00_000000_1234567/sockets/plasma_store")
_UNIX_PATH_MAX = 107


def ray_temp_dir(out: Path) -> str | None:
    """Where a local Ray we start keeps its session (logs, sockets, spilled objects): under OUT,
    so that a run writes nothing elsewhere. None, with one warning, when OUT's path is too long for
    Ray's Unix sockets; Ray then uses its default (``/tmp/ray``)."""
    d = str(Path(out).resolve() / ".ray")
    if len(d.encode()) + _RAY_SOCKET_TAIL > _UNIX_PATH_MAX:
        warnings.warn(f"OUT's path is too long for Ray's sockets ({len(d.encode())} > "
                      f"{_UNIX_PATH_MAX - _RAY_SOCKET_TAIL} bytes): Ray's session goes to its default temp dir",
                      stacklevel=2)
        return None
    return d


def _run_ray(todo: list[str], recipe: Recipe, out: Path, workers: int | None, address: str | None,
             progress: bool) -> list[dict]:
    import ray

    started = not ray.is_initialized()
    if started:
        if address:
            kw = {"address": address}
        else:
            kw = {"num_cpus": workers or os.cpu_count(), "include_dashboard": False}
            temp = ray_temp_dir(out)
            if temp:
                kw["_temp_dir"] = temp
        ray.init(log_to_driver=False, logging_level=logging.INFO if progress else logging.WARNING, **kw)
    if not recipe.cuts.threads and not address:  # sources decode side by side: share the cores out
        n = workers or os.cpu_count() or 1
        recipe = replace(recipe, cuts=replace(recipe.cuts, threads=max(1, n // len(todo))))
    try:
        ctx = ray.data.DataContext.get_current()  # imports ray.data, which sets up its loggers
        ctx.enable_progress_bars = progress
        if not progress:  # --quiet: nor Ray Data's plan and progress lines
            logging.getLogger("ray.data").setLevel(logging.ERROR)
        ds = ray.data.from_items([{"path": p} for p in todo], override_num_blocks=len(todo))
        out_s = str(out)
        ds = ds.map(lambda r: process_source(r["path"], recipe, out_s), num_cpus=1)
        return ds.take_all()
    finally:
        if started:  # the session lives under OUT: end it with the run
            ray.shutdown()


def clip_errors(rows: list[dict], top: int = 3) -> tuple[int, dict[str, int]]:
    """(clip rows with an error, the ``top`` most frequent of their errors with counts). A
    scorer that fails on every clip (a broken model) shows as one message counted N times."""
    errors = Counter(r["error"] for r in rows if r.get("error") and r.get("start_frame") is not None)
    return sum(errors.values()), dict(errors.most_common(top))


def run(src: list[str] | str, out: str | Path, recipe: str | Recipe = "quick", overrides: list[str] | None = None,
        workers: int | None = None, ray_address: str | None = None, progress: bool = True) -> dict:
    """Curate every video under ``src`` into ``out/manifest.parquet``; returns a summary:
    ``failed`` counts unreadable sources, ``clips_failed`` clips that are error rows (a scorer
    raised), ``errors`` their most frequent messages."""
    t0 = time.perf_counter()
    recipe = check_recipe(recipe) if isinstance(recipe, Recipe) else load_recipe(recipe, overrides)
    if "clip" in recipe.scorers:  # said here: a Ray worker's warning never reaches the terminal
        from data_curation.scorers.clip import warn_if_no_weights

        warn_if_no_weights(recipe)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sources, seen = [], set()
    for p in discover([src] if isinstance(src, (str, Path)) else src, exclude=out):
        if os.path.abspath(p) not in seen:  # the same file named twice (src/a.mp4, ./src/a.mp4) is one source
            seen.add(os.path.abspath(p))
            sources.append(str(p))
    key = scoring_key(recipe)
    todo = [p for p in sources if parquet_metadata(part_path(out, p), RECIPE_KEY) != key]
    stale = sum(part_path(out, p).is_file() for p in todo)
    if stale and progress:
        print(f"{stale} source(s) scored under another recipe (cuts, split, scorers or models changed): "
              "scoring them again", file=sys.stderr)
    if todo:
        if workers == 0:
            from tqdm import tqdm

            _scorers(recipe)  # models load before any source is read: a broken one stops the run here
            for p in tqdm(todo, desc="sources", disable=not progress, file=sys.stderr):
                process_source(p, recipe, out)
        else:
            _run_ray(todo, recipe, out, workers, ray_address, progress)
    table = compact(out, sources)
    rows = apply_filters(table.to_pylist(), recipe)
    write_atomic(to_table(rows, all_columns(recipe)), out / "manifest.parquet", {RUN_DIR_KEY: os.getcwd()})
    failed = sum(1 for r in rows if r.get("error") and r["clip_id"].endswith(":error"))
    clips_failed, errors = clip_errors(rows)
    return {"sources": len(sources), "processed": len(todo), "skipped": len(sources) - len(todo),
            "failed": failed, **summarize(rows), "clips_failed": clips_failed, "errors": errors,
            "seconds": round(time.perf_counter() - t0, 2), "manifest": str(out / "manifest.parquet")}
