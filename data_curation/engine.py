"""``curate run``: every source through cut detection, clip planning, scoring and (optionally)
clip extraction, then one manifest.

Each source is one unit of work (a Ray task, :mod:`data_curation.ray_runner`, or a loop here
with ``--workers 0``) that writes its source's part file itself, atomically, so a
crashed or interrupted run resumes by skipping sources whose part exists, was scored under the
same recipe and records the source's current size and mtime (a fixed or replaced file is
scored again). A source that cannot
be read becomes one row with ``error``, and so does a clip that fails: the run goes on. A rerun
tries such a source again when its file changed, when an error of the source or of a clip was
the machine's (a missing package, permission denied), or when it was a bug and the code has
changed since; never for its content (:func:`retry_error`, :mod:`data_curation.reruns`). A
source whose part stands but lacks clip files a recipe with ``split.extract`` wants (scored
without it) gets those files only (:func:`extract_missing`), not a second scoring.

The names of :mod:`data_curation.reruns` and :mod:`data_curation.ray_runner` stay importable
from here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

from data_curation.clip_frames import read_clip
from data_curation.cuts import CutParams, detect_shots
from data_curation.filtering import apply_rules
from data_curation.manifest import (
    CODE_KEY,
    ERRORS_KEY,
    MOTION_KEY,
    RECIPE_KEY,
    SOURCE_STAT_KEY,
    TEMP_NAME,
    compact,
    filter_notes,
    part_path,
    read_parquet,
    recipe_motion,
    rename_source,
    run_dir_metadata,
    scorer_versions,
    source_key,
    source_stat,
    summarize,
    thresholds_metadata,
    to_table,
    write_atomic,
)
from data_curation.probe import (  # noqa: F401  (decoded_short, TRUNCATION_*: re-exported)
    TRUNCATION_FRAMES,
    TRUNCATION_SHARE,
    clip_size,
    decoded_short,
    discover,
    empty_error,
    image_error,
    name_error,
    readable_path,
    truncated_error,
)
from data_curation.progress import FramesBar
from data_curation.ray_runner import (  # noqa: F401  (all of them re-exported: the CLI and tests import them from here)
    _H2_PREFACE,
    _H2_SETTINGS,
    _HOST_PORT,
    _RAY_SOCKET_TAIL,
    _UNIX_PATH_MAX,
    RAY_AUTH_LOGGER,
    RAY_AUTH_NOTICE,
    RAY_CONNECT_TIMEOUT_S,
    RAY_WAIT_S,
    ConnectInterrupted,
    RayNotInstalled,
    _DropAuthNotice,
    _gather,
    _ray_init,
    _run_ray,
    check_ray_address,
    check_workers,
    quiet_token_auth,
    ray_host_port,
    ray_temp_dir,
    require_ray,
    resolve_ray_address,
    sigterm_interrupts,
    speaks_http2,
)
from data_curation.recipe import (
    RECIPE_FILE,
    Recipe,
    check_recipe,
    load_recipe,
    save_recipe,
    scoring_key,
    scoring_keys,
)
from data_curation.reruns import (  # noqa: F401  (all of them re-exported: tests import them from here)
    _DEVICE_FAILURE,
    _MACHINE_TYPES,
    _WRAPPED_MACHINE_ERROR,
    CODE_DISTRIBUTION,
    CODE_LIBRARIES,
    CONTENT_ERRORS,
    ERROR_KINDS,
    MACHINE_ERRORS,
    ROW_ERROR_KIND,
    _footer,
    _no_errors,
    _one_line,
    _recorded,
    _version,
    code_version,
    error_kind,
    error_text,
    exception_kind,
    part_kind,
    plan_work,
    retry_error,
    retry_kind,
    rows_kind,
)
from data_curation.scorers import all_columns, build_scorers
from data_curation.split import display, extract_clip, keyframes, plan_clips
from video.media import MediaError, probe_video

_SCORERS: dict[int, list] = {}


def _scorers(recipe: Recipe) -> list:
    """Scorers built once per worker process (model loading is the slow part)."""
    key = hash(repr(recipe))
    if key not in _SCORERS:
        _SCORERS[key] = build_scorers(recipe)
    return _SCORERS[key]


def source_error(path: str, info: dict, shots) -> str | None:
    """Why a source that probed and decoded is still no usable video, or None (``curate run``'s
    error row; ``curate cuts`` warns with it). A name the manifest cannot hold (:func:`name_error`)
    is one too: ``curate run`` says so before decoding anything."""
    if (named := name_error(path)) is not None:
        return f"MediaError: {named}"
    if (image := image_error(path, info)) is not None:
        return f"MediaError: {image}"
    if not 1.0 <= shots.fps <= 1000.0:  # a damaged time base: every "shot" would be a frame or two
        return f"MediaError: {path}: implausible frame rate {shots.fps:.4g} fps"
    # shots end where a full decode stops on a file cut short or damaged, in every decode mode
    # (cut_features.frame_features): what a clip can hold. A count the probe did not take
    # (WebM, Matroska: probe_video's count=False) is the detector's own: nothing to check
    if info["num_frames"] is None:
        return None
    short = truncated_error(path, info["num_frames"], shots.num_frames)
    return f"MediaError: {short}" if short is not None else None


def score_source(path: str, recipe: Recipe, out: str | Path) -> list[dict]:
    """All clip rows of one source (unfiltered). Never raises for a bad input: errors are rows
    (anything raised before the clips are scored is the source's error row: a run never stops
    for one source). An error row also holds its error's kind (:data:`ROW_ERROR_KIND`), which
    no column keeps: :func:`process_source` records the part's. A source whose name is no UTF-8
    text is not read: its error row names it :func:`readable_path` (the manifest holds UTF-8)."""
    base = {"source": readable_path(path), "keep": False}
    kind = None  # the error's, when it was raised (source_error's are the content's)
    try:
        if (named := name_error(path)) is not None:  # a rename (or a UTF-8 locale) fixes it: content
            raise MediaError(named)
        if (empty := empty_error(path)) is not None:  # FFmpeg calls it invalid data
            raise MediaError(empty)
        # no count taken where the container stores none: detect_shots decodes every frame anyway
        # (a WebM or MKV was decoded twice, the probe's decode only to count)
        info = probe_video(path, count=False)
        if info["num_frames"] == 0:
            raise MediaError(f"{path}: zero frames")
        c = recipe.cuts
        shots = detect_shots(path, CutParams(c.min_across, c.ratio, c.gradual_ratio, decode=c.decode,
                                                 threads=c.threads))
        error = source_error(path, info, shots)
        fps = shots.fps
        clips = [] if error else plan_clips(shots.shots, fps, recipe.split.min_s, recipe.split.max_s,
                                            recipe.split.trim_s)
    except Exception as e:
        if os.environ.get("CURATE_DEBUG"):
            traceback.print_exc()
        error, kind = error_text(e), exception_kind(e)
    if error:
        return [{**base, "clip_id": f"{source_key(path)}:error", "error": error,
                 ROW_ERROR_KIND: kind or error_kind(error)}]
    base.update(fps=fps, width=info["width"], height=info["height"], rotation=info.get("rotation", 0),
                source_frames=shots.num_frames)
    if not clips:
        return [{**base, "clip_id": f"{source_key(path)}:none", "error": None}]
    scorers = _scorers(recipe)
    versions = scorer_versions(scorers)
    kf = set(keyframes(path)) if recipe.split.extract else None
    turn = display(path) if recipe.split.extract else ()  # read once, for every clip of the source
    rows = []
    for start, end in clips:
        row = {**base, "clip_id": f"{source_key(path)}_{start:06d}_{end:06d}", "start_frame": start,
               "end_frame": end, "start_s": start / fps, "end_s": end / fps, "num_frames": end - start,
               "scorers": versions, "error": None}
        try:
            frames = read_clip(path, start, end, fps, recipe.sample_fps, recipe.motion_short_side,
                               recipe.cuts.threads)
            # the clip's own frames' size: a stream can change size between shots (header: the first's)
            row["width"], row["height"] = clip_size(path, start, fps, frames.keys[0].shape, info, recipe.cuts.threads)
            for s in scorers:
                row.update(s.score(frames))
            if recipe.split.extract:
                dest, _ = extract_clip(path, start, end, fps, Path(out) / "clips" / f"{row['clip_id']}.mp4", kf,
                                       turn=turn)
                row["clip_path"] = str(dest)
        except Exception as e:  # one bad clip must not lose the source's other clips
            row["error"], row[ROW_ERROR_KIND] = error_text(e), exception_kind(e)
            if os.environ.get("CURATE_DEBUG"):
                traceback.print_exc()
        rows.append(row)
    return rows


def process_source(path: str, recipe: Recipe, out: str | Path, extract_only: bool = False) -> dict:
    """Score one source and write its part file, stamped with the recipe key, the source's
    stat as it was before scoring (a file changed meanwhile is scored again on the next run),
    the kind of its worst error row and the code's version (:func:`plan_work` decides a retry
    from these, without reading the rows); returns counts (what travels through Ray).
    ``extract_only``: its part stands, only its missing clip files are written
    (:func:`extract_missing`)."""
    if extract_only:
        return extract_missing(path, recipe, out)
    stat = source_stat(path)
    rows = score_source(path, recipe, out)
    _write_part(path, recipe, out, rows, stat)
    failed = any(r.get("error") and r["clip_id"].endswith(":error") for r in rows)
    return {"path": path, "rows": len(rows), "failed": int(failed)}


def _write_part(path: str, recipe: Recipe, out: str | Path, rows: list[dict], stat) -> None:
    write_atomic(to_table(rows, all_columns(recipe)), part_path(out, path),
                 {RECIPE_KEY: scoring_key(recipe), SOURCE_STAT_KEY: stat, ERRORS_KEY: rows_kind(rows),
                  CODE_KEY: code_version()})


def _clip_file(out: str | Path, row: dict) -> Path:
    """Where a clip row's file goes (or went): ``OUT/clips/<clip_id>.mp4``, as :func:`score_source`
    names it."""
    return Path(out) / "clips" / f"{row['clip_id']}.mp4"


def _lacks_file(out: str | Path, row: dict) -> bool:
    """Whether ``row`` is a clip scored without error whose file is not in ``OUT/clips``."""
    return row.get("start_frame") is not None and not row.get("error") and not _clip_file(out, row).is_file()


def lacks_clip_files(path: str, out: str | Path) -> bool:
    """Whether the part of ``path`` lists a clip scored without error whose file is not in
    ``OUT/clips``: scored by a recipe without ``split.extract`` (or its file deleted since)."""
    try:
        rows = read_parquet(part_path(out, path), columns=["clip_id", "start_frame", "error"]).to_pylist()
    except (OSError, KeyError, ValueError):
        return False  # unreadable: plan_work's to judge, not extraction's
    return any(_lacks_file(out, r) for r in rows)


def extract_missing(path: str, recipe: Recipe, out: str | Path) -> dict:
    """The clip files a source's part lacks, extracted as :func:`score_source` extracts them
    (same names, same cut), without detecting cuts or scoring again: turning ``split.extract``
    on after a run (score, look at the report, then extract) paid the whole scoring twice. The
    part is rewritten with their ``clip_path``; a clip whose extraction fails becomes an error
    row, as in a scoring run. Returns :func:`process_source`'s counts."""
    part = part_path(out, path)
    footer, meta = _footer(part)
    kind = part_kind(part, footer, meta)
    rows = read_parquet(part).to_pylist()
    kf: set[int] | None = None
    turn: tuple[str, ...] = ()
    new_errors = []
    for row in rows:
        if not _lacks_file(out, row):
            continue
        try:
            if kf is None:  # read once, for every clip of the source
                kf, turn = set(keyframes(path)), display(path)
            dest, _ = extract_clip(path, row["start_frame"], row["end_frame"], row["fps"], _clip_file(out, row),
                                   kf, turn=turn)
            row["clip_path"] = str(dest)
        except Exception as e:  # one clip that fails must not lose the source's other clips
            row["error"], row[ROW_ERROR_KIND] = error_text(e), exception_kind(e)
            new_errors.append(row)
            if os.environ.get("CURATE_DEBUG"):
                traceback.print_exc()
    kinds = [k for k in (kind, rows_kind(new_errors)) if k in ERROR_KINDS]
    meta[ERRORS_KEY] = max(kinds, key=ERROR_KINDS.index, default="none")
    write_atomic(to_table(rows, all_columns(recipe)), part, meta)
    return {"path": path, "rows": len(rows), "failed": 0, "extracted": 1}


def record_lost_source(path: str, recipe: Recipe, out: str | Path, error: BaseException) -> dict:
    """The part of a source whose task never returned (its Ray worker died under it: a decoder
    that crashed on the file, the OOM killer; or the task raised, e.g. its part could not be
    written): the source's error row, so that the run goes on with the other sources and keeps
    their results, and a rerun tries it again when the error is the machine's. Written by the
    driver; a failure to write it (the disk is full) stops the run as before."""
    cause = getattr(error, "cause", None)  # a RayTaskError: the task's own exception
    e = cause if isinstance(cause, BaseException) else error
    row = {"source": readable_path(path), "keep": False, "clip_id": f"{source_key(path)}:error", "error": error_text(e),
           ROW_ERROR_KIND: exception_kind(e)}
    _write_part(path, recipe, out, [row], source_stat(path))
    return {"path": path, "rows": 1, "failed": 1}


def _error_kind(row: dict) -> str:
    """A row's error without its source's path, so that the same failure of many files counts
    as one: ``MediaError: empty file (0 bytes), not a video``. The path is taken out where the
    messages put it (``PATH: ...``, an OS error's ``'PATH'``), nowhere else: a short name must
    not eat into the message."""
    return rename_source(row["error"], str(row.get("source") or ""), None)


def error_counts(rows: list[dict], top: int = 3) -> tuple[int, dict[str, int]]:
    """(clip rows with an error, the ``top`` most frequent errors of all error rows, sources
    that failed and clips whose scoring raised, with counts, paths left out: :func:`_error_kind`).
    A scorer that fails on every clip (a broken model), or a package missing for every source,
    shows as one message counted N times."""
    errors = Counter(_error_kind(r) for r in rows if r.get("error"))
    clips_failed = sum(1 for r in rows if r.get("error") and r.get("start_frame") is not None)
    return clips_failed, dict(errors.most_common(top))


OUTPUT_DIRS = ("clips", "parts", ".ray")  # what a run writes under OUT, never curated itself

# The clip files extract_clip writes for a source, ``<source key>_<start>_<end>.mp4``, and the
# temporary name of one being written (left behind when a worker was killed)
_CLIP_FILE = re.compile(r"(?P<key>.+-[0-9a-f]{10})_\d{6,}_\d{6,}\.mp4")
# (``.NAME.PID.partial.mp4`` since the PID went in: data_curation.split.CLIP_TEMP; the old PID-less
# form is still matched, from runs before it)
_CLIP_TEMP = re.compile(r"\.(?P<key>.+-[0-9a-f]{10})_\d{6,}_\d{6,}(?:\.(?P<pid>\d+))?\.partial\.mp4")


def stale_clips(clips: Path, sources: list[str], listed: set[str]) -> list[Path]:
    """Files in ``clips`` (``OUT/clips``) that this tool wrote for one of ``sources`` (named
    ``<source key>_<start>_<end>.mp4``, or that name's temporary form) and that ``listed``, the
    file names the manifest's rows give, does not name: clips of an earlier recipe (another
    split) or of a failed extraction. Files of sources not in
    ``sources`` stay (their parts still list them: a run over part of SRC loses nothing), and so
    does any file not named as this tool names clips."""
    if not clips.is_dir():
        return []
    keys = {source_key(s) for s in sources}
    found = []
    for f in clips.iterdir():
        m = _CLIP_FILE.fullmatch(f.name) or _CLIP_TEMP.fullmatch(f.name)
        if m is None or m["key"] not in keys or f.name in listed or not f.is_file() or f.is_symlink():
            continue
        if m.groupdict().get("pid") and _runs_here(int(m["pid"])):
            continue  # a running writer's (a killed Ray run's task still going): it renames or deletes its own
        found.append(f)
    return sorted(found)


def _runs_here(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (another user's counts). Where signal 0 cannot
    ask (Windows: os.kill ends the process), every pid counts as running."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # EPERM: another user's process
        return True
    return True


def stale_temporaries(out: Path, sources: list[str]) -> list[Path]:
    """Temporaries of Parquet writes (:data:`data_curation.manifest.TEMP_NAME`) that a killed
    process left behind: the manifest's in ``out`` and the part files' of ``sources`` in
    ``out/parts``, whose writer's process no longer runs on this host. Asked once this run's
    own writers are done, as :func:`stale_clips` is: a temporary of a process still running
    (another run writing into OUT now) stays, and so do those of sources not in ``sources``."""
    found = []
    for folder, wanted in ((out, {"manifest.parquet"}), (out / "parts", {part_path(out, s).name for s in sources})):
        if not folder.is_dir():
            continue
        for f in folder.iterdir():
            m = TEMP_NAME.fullmatch(f.name)
            if (m and m["name"] in wanted and not _runs_here(int(m["pid"])) and f.is_file()
                    and not f.is_symlink()):
                found.append(f)
    return sorted(found)


def _remove_if_empty(folder: Path) -> None:
    """``folder`` (an OUT this run made) removed when nothing went into it but the session of a
    local Ray that never ran a task (a Ctrl-C, a failure while Ray started) and the run's
    ``run_recipe.yaml``: ``OUT/.ray`` alone was left behind. Anything else in it keeps it."""
    try:
        if {p.name for p in folder.iterdir()} <= {".ray", RECIPE_FILE}:
            shutil.rmtree(folder / ".ray", ignore_errors=True)
            (folder / RECIPE_FILE).unlink(missing_ok=True)
        folder.rmdir()  # only an empty folder goes
    except OSError:
        pass


def _check_scorers(recipe: Recipe, workers: int | None) -> None:
    """The recipe's scorers loaded before any source is read, so that a broken model stops the
    run in one line (exit 2) with nothing written. ``--workers 0`` keeps them for the run; under
    Ray they are dropped here, each worker loads its own (before, every source was a failed row
    of the code's kind, which a rerun after the model was fixed skipped as done)."""
    if workers == 0:
        _scorers(recipe)
    else:
        build_scorers(recipe)


def run(src: list[str] | str, out: str | Path, recipe: str | Recipe = "quick", overrides: list[str] | None = None,
        workers: int | None = None, ray_address: str | None = None, progress: bool = True) -> dict:
    """Curate every video under ``src`` into ``out/manifest.parquet``; returns a summary:
    ``failed`` counts unreadable sources, ``clips_failed`` clips that are error rows (a scorer
    raised), ``errors`` the most frequent messages of both (:func:`error_counts`), ``changed``
    sources scored again because the file changed since its part was written, ``retried``
    sources of an unchanged file tried again because an error of the source or of some of its
    clips was not about its content (:func:`retry_error`: the machine's, or the code's when
    the code changed since). A SRC that does not exist, or an OUT that is a
    file, is an error before any work, and so are ``workers`` < 0 and an explicit ``ray_address``
    where nothing answers (:func:`check_ray_address`); no video under SRC writes nothing (not
    even OUT) and returns ``sources`` 0 and ``manifest`` None. ``clips_removed`` counts clip
    files of this run's sources that the manifest no longer lists (:func:`stale_clips`),
    removed once the new manifest is written; the Parquet temporaries a killed run left of the
    manifest and of these sources' parts go then too (:func:`stale_temporaries`).
    ``parts_missing`` counts sources whose Ray task wrote its part where this machine does not
    see it (a cluster's node without OUT): failed rows here, tried again by a rerun. The recipe,
    overrides applied, goes to ``OUT/run_recipe.yaml`` first (:func:`save_recipe`: ``--recipe`` takes
    it back); a rule the filters could not apply (its column null in every clip) is a warning, as
    ``curate filter`` says it (:func:`filter_notes`).

    SIGTERM (a timeout, Slurm, docker stop) is a KeyboardInterrupt, as Ctrl-C, anywhere in the
    run (:func:`sigterm_interrupts`): from discovery through Ray's start and the manifest's
    write, not only while sources are scored (it killed the process silently, no manifest)."""
    with sigterm_interrupts():
        return _run(src, out, recipe, overrides, workers, ray_address, progress)


def _run(src: list[str] | str, out: str | Path, recipe: str | Recipe, overrides: list[str] | None,
         workers: int | None, ray_address: str | None, progress: bool) -> dict:
    t0 = time.perf_counter()
    check_workers(workers)
    recipe = check_recipe(recipe) if isinstance(recipe, Recipe) else load_recipe(recipe, overrides)
    said: frozenset[str] = frozenset()  # columns whose nulls are said here: not again after the filters
    if "clip" in recipe.scorers:  # said here: a Ray worker's warning never reaches the terminal
        from data_curation.scorers.clip import Scorer as ClipScorer
        from data_curation.scorers.clip import warn_if_no_weights

        if warn_if_no_weights(recipe, always=True):
            said = frozenset(ClipScorer.columns)
    out = Path(out)
    given = [src] if isinstance(src, (str, Path)) else list(src)
    missing = next((s for s in given if not os.path.exists(s)), None)
    if missing is not None:  # a misspelled SRC: refused before any work, not an error row
        raise FileNotFoundError(f"SRC {missing} not found")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; OUT is the folder the manifest, parts and clips go to")
    label = None
    sources, seen = [], set()
    for p in discover(given, exclude=[out / d for d in OUTPUT_DIRS]):
        if os.path.abspath(p) not in seen:  # the same file named twice (src/a.mp4, ./src/a.mp4) is one source
            seen.add(os.path.abspath(p))
            sources.append(str(p))
    if not sources:  # a wrong SRC, most likely: write nothing (an empty manifest would replace a real one)
        return {"sources": 0, "processed": 0, "skipped": 0, "extracted": 0, "changed": 0, "retried": 0, "failed": 0, **summarize([]),
                "clips_failed": 0, "errors": {}, "clips_removed": 0, "parts_missing": 0, "seconds": round(time.perf_counter() - t0, 2), "manifest": None}
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    save_recipe(recipe, out)  # first: an interrupted run's OUT says how to resume it, overrides included
    todo, stale, changed, retried = plan_work(sources, out, scoring_keys(recipe))
    scoring = set(todo)
    extract = [p for p in sources if p not in scoring and lacks_clip_files(p, out)] if recipe.split.extract else []
    if stale and progress:
        print(f"{stale} source(s) scored under another recipe (cuts, split, scorers or models changed): "
              "scoring them again", file=sys.stderr)
    if extract and progress:
        print(f"{len(extract)} source(s) scored already lack the clip files split.extract=true writes: extracting "
              "them (not scoring again)", file=sys.stderr)
    if changed and progress:
        print(f"{changed} source(s) changed since they were scored (size or modification time): "
              "scoring them again", file=sys.stderr)
    if retried and progress:
        print(f"{retried} source(s) failed last time, whole or in some of their clips, for a reason other than their "
              "content (the machine's: a missing package, permission denied, ...; or a bug, and curate or its "
              "libraries changed since): trying them again", file=sys.stderr)
    missing = 0
    work = todo + extract
    if work:
        try:
            if workers != 0:  # only when there is work: a rerun with nothing to do needs no Ray; an OUT
                require_ray()  # this run made is removed below if no Ray or a wrong address stops it
                ray_address, label = resolve_ray_address(ray_address)  # $RAY_ADDRESS too
                check_ray_address(ray_address, label=label)
                if ray_address and workers:  # said once the address answers: a wrong one stays one line
                    warnings.warn(f"--workers {workers} is ignored with {label}: a cluster joined runs a task on "
                                  "each CPU it has", stacklevel=2)
            _check_scorers(recipe, workers)  # models load before any source is read (and before Ray starts)
            if workers == 0:
                with FramesBar(work, progress) as bar:
                    for p in work:
                        process_source(p, recipe, out, p not in scoring)
                        bar.done(p)
            else:
                results = _run_ray(work, recipe, out, workers, ray_address, progress, process_source,
                                   record_lost_source, label, extract_only=extract)
                missing = sum(r.get("missing", 0) for r in results)
        except BaseException:
            if created:  # an OUT this run made and nothing went into (no task ran; .ray aside): not left behind
                _remove_if_empty(out)
            raise
    table = compact(out, sources)
    rows = table.to_pylist()
    bounds = apply_rules(rows, recipe)  # recorded in the manifest: curate report draws each one
    for note in filter_notes(None, rows, recipe, said):  # as curate filter says them: a rule not applied
        warnings.warn(note, stacklevel=3)
    write_atomic(to_table(rows, all_columns(recipe)), out / "manifest.parquet",
                 {**run_dir_metadata(out), MOTION_KEY: json.dumps(recipe_motion(recipe)),
                  **thresholds_metadata(bounds)})
    # after the manifest: until it is replaced, the old one lists the old clips. Only sources this
    # run scored again without any error row, with a recipe that extracts: a source that failed
    # (a drive unmounted, a file caught mid-copy) or a rerun without split.extract keeps its files
    listed = {Path(r["clip_path"]).name for r in rows if r.get("clip_path")}
    failed_sources = {r["source"] for r in rows if r.get("error")}
    rescored = [p for p in work if readable_path(p) not in failed_sources] if recipe.split.extract else []
    removed = stale_clips(out / "clips", rescored, listed)
    for f in [*removed, *stale_temporaries(out, sources)]:
        f.unlink(missing_ok=True)
    failed = sum(1 for r in rows if r.get("error") and r["clip_id"].endswith(":error"))
    clips_failed, errors = error_counts(rows)
    return {"sources": len(sources), "processed": len(todo), "skipped": len(sources) - len(todo),
            "extracted": len(extract),
            "changed": changed, "retried": retried, "failed": failed, **summarize(rows), "clips_failed": clips_failed, "errors": errors,
            "clips_removed": len(removed), "parts_missing": missing, "seconds": round(time.perf_counter() - t0, 2), "manifest": str(out / "manifest.parquet")}
