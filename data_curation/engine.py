"""``curate run``: every source through cut detection, clip planning, scoring and (optionally)
clip extraction, then one manifest.

The unit of work is a source path: Ray tasks receive paths and return row counts; frames are
decoded inside the task and never enter Ray's object store (FIELD-NOTES: decoded frames are
~10x the compressed size). Each task writes its source's part file itself, atomically, so a
crashed or interrupted run resumes by skipping sources whose part exists, was scored under the
same recipe and records the source's current size and mtime (a fixed or replaced file is
scored again). A source that cannot
be read becomes one row with ``error``, and so does a clip that fails: the run goes on. A rerun
tries such a source again when its file changed, when an error of the source or of a clip was
the machine's (a missing package, permission denied), or when it was a bug and the code has
changed since; never for its content (:func:`retry_error`).
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import importlib.metadata
import logging
import os
import re
import socket
import sys
import time
import traceback
import warnings
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_curation.clip_frames import read_clip
from data_curation.cuts import CutParams, detect_shots
from data_curation.filtering import apply_filters
from data_curation.manifest import (
    CODE_KEY,
    ERRORS_KEY,
    RECIPE_KEY,
    RUN_DIR_KEY,
    SOURCE_STAT_KEY,
    compact,
    part_path,
    scorer_versions,
    source_key,
    source_stat,
    summarize,
    to_table,
    write_atomic,
)
from data_curation.probe import (  # noqa: F401  (decoded_short, TRUNCATION_*: re-exported)
    TRUNCATION_FRAMES,
    TRUNCATION_SHARE,
    decoded_short,
    discover,
    empty_error,
    image_error,
    truncated_error,
)
from data_curation.recipe import Recipe, check_recipe, load_recipe, scoring_key
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


def _one_line(e: BaseException) -> str:
    return f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]


def _recorded(e: BaseException) -> BaseException:
    """The exception an error row names: a MediaError raised for an OS-level failure of FFmpeg
    (the readers wrap any FFmpeg error as "not a readable video") is that failure."""
    inner = e.__context__
    return inner if isinstance(e, MediaError) and isinstance(inner, (OSError, MemoryError)) else e


def error_text(e: BaseException) -> str:
    """An error row's ``error``: ``"Class: first line"``. A MediaError raised for an OS-level
    failure of FFmpeg (permission denied, an I/O error, out of memory: the readers wrap any
    FFmpeg error as "not a readable video") is recorded as that failure, so that a rerun tells
    it from a file whose content is bad and tries the source again (:func:`retry_error`)."""
    return _one_line(_recorded(e))


# An error row is of one of three kinds (:func:`error_kind`), which decide whether a rerun tries
# its source again though the file and the recipe are unchanged (:func:`retry_error`):
# - "content": the file's content is bad (empty, not a video, truncated, undecodable). The same
#   file fails the same way: never tried again (a new file is: its size or mtime changes).
# - "machine": the machine failed, not the file (a package missing, permission denied, a disk
#   full, out of memory, a GPU or Ray worker lost). Fixed outside curate, with no trace curate
#   can see: always tried again (the retry costs one decode; leaving it failed costs the source).
# - "code": anything else (a ValueError, IndexError, ZeroDivisionError of our code or of a
#   library on an odd file): a bug, as deterministic as the content for that file and that
#   code. Retrying it on every run re-decodes the source to fail the same way, so it is tried
#   again only when the code changed since its part was written (:func:`code_version`: this
#   package's version and sources, the versions of the libraries that decode and score; a part
#   written before parts recorded it is tried once, and records it then).
CONTENT_ERRORS = frozenset({"MediaError", "InvalidDataError"})
ERROR_KINDS = ("content", "code", "machine")  # from the least to the most reason to try again
_MACHINE_TYPES = (OSError, MemoryError, ImportError)  # and subclasses: ModuleNotFoundError, TimeoutError, ...
# The machine's errors by the class name a row records: the builtin ones, and classes of other
# libraries that do not derive from those (a row of an earlier version, or an error raised in a
# Ray worker, is known by its name only)
MACHINE_ERRORS = frozenset(
    {n for n, c in vars(builtins).items() if isinstance(c, type) and issubclass(c, _MACHINE_TYPES)}
    | {"OutOfMemoryError",  # torch.cuda's (a RuntimeError) and Ray's
       "DecoderNotFoundError", "EncoderNotFoundError",  # an FFmpeg built without the codec
       "RaySystemError", "WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "ObjectLostError",
       "ObjectStoreFullError", "ObjectFetchTimedOutError", "OwnerDiedError", "OutOfDiskError",
       "ActorDiedError", "ActorUnavailableError", "RayActorError", "TaskUnschedulableError", "GetTimeoutError",
       "RuntimeEnvSetupError"})
# A RuntimeError of the device, not the code: torch's CUDA out of memory before it had a class of its own
_DEVICE_FAILURE = re.compile(r"out of memory|\bCUDA error\b|\bcuDNN error\b|CUBLAS_STATUS|\bNCCL error\b")

# Rows written before error_text recorded the cause: a reader's failure for a machine reason,
# wrapped as "MediaError: PATH: not a readable video (PermissionError)"
_WRAPPED_MACHINE_ERROR = re.compile(
    r"\((PermissionError|IsADirectoryError|NotADirectoryError|FileNotFoundError|TimeoutError|BlockingIOError|"
    r"InterruptedError|ConnectionError|BrokenPipeError|OSError|IOError|MemoryError)\)\s*$")


def error_kind(error: str) -> str:
    """The kind of an error row's ``error`` (``"Class: message"``, :func:`error_text`):
    ``content``, ``machine`` or ``code`` (see :data:`ERROR_KINDS`), by the class it names. A
    content class wrapping a machine error (rows of earlier versions recorded a
    permission-denied read as ``MediaError: ... (PermissionError)``) is the machine's."""
    kind = error.split(":", 1)[0].strip()
    if kind in CONTENT_ERRORS:
        return "machine" if _WRAPPED_MACHINE_ERROR.search(error) else "content"
    if kind in MACHINE_ERRORS or (kind == "RuntimeError" and _DEVICE_FAILURE.search(error)):
        return "machine"
    return "code"


def exception_kind(e: BaseException) -> str:
    """:func:`error_kind` of ``e``'s row, also knowing its type: a library's own subclass of
    OSError, MemoryError or ImportError (a download's SSLError, a hub's missing file) is the
    machine's though its name is not builtin."""
    kind = error_kind(error_text(e))
    return "machine" if kind == "code" and isinstance(_recorded(e), _MACHINE_TYPES) else kind


def retry_error(error: str, code_changed: bool = False) -> bool:
    """Whether a row's ``error`` makes a rerun try its source again though the file and the
    recipe are unchanged: a machine error always, a code error when ``code_changed`` (since the
    part was written), a content error never (see :data:`ERROR_KINDS`)."""
    return retry_kind(error_kind(error), code_changed)


def retry_kind(kind: str, code_changed: bool) -> bool:
    """:func:`retry_error` for an error's kind (:func:`error_kind`)."""
    return kind == "machine" or (kind == "code" and code_changed)


CODE_DISTRIBUTION = "video-pipeline"  # this package, as pyproject.toml names it
# The libraries a source's decoding and scoring run through: a new version may fix a code error
CODE_LIBRARIES = ("av", "numpy", "opencv-python-headless", "opencv-python", "pillow", "imagehash", "torch",
                  "transformers", "rapidocr-onnxruntime")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """What a code error of a source depends on besides the file (``"<version>+<hash>"``,
    stamped in each part: :data:`CODE_KEY`): this package's version, a hash of the sources of
    ``data_curation`` and ``video.media`` (a fix in a checkout or an editable install keeps the
    version number) and of the versions of :data:`CODE_LIBRARIES`. Once per process."""
    version = _version(CODE_DISTRIBUTION)
    if version == "-":  # run from a checkout that is not installed
        from video import __version__ as version
    h = hashlib.sha1(";".join(f"{d}={_version(d)}" for d in CODE_LIBRARIES).encode())
    for root in (Path(__file__).parent, Path(sys.modules["video.media"].__file__).parent):
        for f in sorted(root.rglob("*.py")):
            h.update(f"{root.name}/{f.relative_to(root).as_posix()}".encode() + b"\0" + f.read_bytes())
    return f"{version}+{h.hexdigest()[:12]}"


def source_error(path: str, info: dict, shots) -> str | None:
    """Why a source that probed and decoded is still no usable video, or None (``curate run``'s
    error row; ``curate cuts`` warns with it)."""
    if (image := image_error(path, info)) is not None:
        return f"MediaError: {image}"
    if not 1.0 <= shots.fps <= 1000.0:  # a damaged time base: every "shot" would be a frame or two
        return f"MediaError: {path}: implausible frame rate {shots.fps:.4g} fps"
    # shots end where a full decode stops on a file cut short or damaged, in every decode mode
    # (cut_features.frame_features): what a clip can hold
    short = truncated_error(path, info["num_frames"], shots.num_frames)
    return f"MediaError: {short}" if short is not None else None


# A row's key, not a column: the kind of its error, known from the exception (exception_kind)
ROW_ERROR_KIND = "_error_kind"


def score_source(path: str, recipe: Recipe, out: str | Path) -> list[dict]:
    """All clip rows of one source (unfiltered). Never raises for a bad input: errors are rows
    (anything raised before the clips are scored is the source's error row: a run never stops
    for one source). An error row also holds its error's kind (:data:`ROW_ERROR_KIND`), which
    no column keeps: :func:`process_source` records the part's."""
    base = {"source": str(path), "keep": False}
    kind = None  # the error's, when it was raised (source_error's are the content's)
    try:
        if (empty := empty_error(path)) is not None:  # FFmpeg calls it invalid data
            raise MediaError(empty)
        info = probe_video(path)
        if not info["num_frames"]:
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
            frames = read_clip(path, start, end, fps, recipe.sample_fps, recipe.motion_short_side)
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


def rows_kind(rows: list[dict]) -> str:
    """The kind of the worst error of ``rows`` (the latest of :data:`ERROR_KINDS` among them:
    one machine error makes the source worth a retry), ``none`` without any."""
    kinds = {r.get(ROW_ERROR_KIND) or error_kind(r["error"]) for r in rows if r.get("error")}
    return max(kinds, key=ERROR_KINDS.index, default="none")


def process_source(path: str, recipe: Recipe, out: str | Path) -> dict:
    """Score one source and write its part file, stamped with the recipe key, the source's
    stat as it was before scoring (a file changed meanwhile is scored again on the next run),
    the kind of its worst error row and the code's version (:func:`plan_work` decides a retry
    from these, without reading the rows); returns counts (what travels through Ray)."""
    stat = source_stat(path)
    rows = score_source(path, recipe, out)
    write_atomic(to_table(rows, all_columns(recipe)), part_path(out, path),
                 {RECIPE_KEY: scoring_key(recipe), SOURCE_STAT_KEY: stat, ERRORS_KEY: rows_kind(rows),
                  CODE_KEY: code_version()})
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


def check_workers(workers: int | None) -> None:
    """``workers`` is None (all cores), 0 (no Ray: this process scores) or a number of Ray CPUs;
    anything else is a ValueError before any work (Ray took ``-1``, made ``OUT/.ray`` and failed
    with its own internal error)."""
    if workers is None:
        return
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"--workers must be 0 (no Ray: score in this process) or a number of Ray CPUs, "
                         f"1 or more; got {workers}")


RAY_CONNECT_TIMEOUT_S = 3.0  # a reachable head answers a TCP connect in milliseconds, even across a network
# An explicit Ray address: HOST:PORT (the GCS) or ray://HOST:PORT (Ray Client); [v6 address]:PORT too
_HOST_PORT = re.compile(r"(?:ray://)?(?P<host>\[[0-9A-Fa-f:.%\w]+\]|[^\s:/\[\]]+):(?P<port>\d+)/?")


def ray_host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of an explicit Ray address (``HOST:PORT``, ``ray://HOST:PORT``); None for what
    Ray resolves itself (``auto``: the cluster started on this machine, ``local``: a new one)."""
    m = _HOST_PORT.fullmatch(address.strip())
    return (m["host"].strip("[]"), int(m["port"])) if m else None


def check_ray_address(address: str | None, timeout: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """A ConnectionError (one line) when nothing accepts a TCP connection at an explicit Ray
    address within ``timeout`` seconds: ``ray.init`` itself retries a wrong address for many
    minutes, printing "Failed to connect to GCS" lines. ``auto`` and ``local`` are left to Ray
    (``auto`` fails fast by itself)."""
    hp = ray_host_port(address) if address else None
    if hp is None:
        return
    host, port = hp
    if not 0 < port < 65536:
        raise ValueError(f"--ray-address {address}: port {port} is not a TCP port (1 to 65535)")
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            speaks = os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true") or speaks_http2(conn, timeout)
    except OSError as e:
        why = f"no answer in {timeout:g} s" if isinstance(e, TimeoutError) else (e.strerror or type(e).__name__)
        raise ConnectionError(f"--ray-address {address}: cannot connect to {host}:{port} ({why}); is a Ray "
                              "cluster running there? (`ray start --head` prints the address to give)") from None
    if not speaks:
        raise ConnectionError(f"--ray-address {address}: something answers at {host}:{port}, but not a Ray head "
                              "(it does not speak gRPC, Ray's protocol); check the port (`ray start --head` prints "
                              "the address to give; the dashboard's 8265 is not it)")


# A client opens HTTP/2 with this preface and a SETTINGS frame; a server answers with its own
# SETTINGS frame (RFC 9113, section 3.4). Ray's GCS and its Client server are gRPC, HTTP/2 servers.
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_H2_SETTINGS = 4  # the frame type byte, after the 3-byte length


def speaks_http2(conn: socket.socket, timeout: float) -> bool:
    """Whether the server on a connected socket answers an HTTP/2 client preface with a SETTINGS
    frame, as a gRPC server does: a port that accepts TCP but is no Ray head (a web server, the
    dashboard, ssh) made ``ray.init`` wait for minutes."""
    conn.settimeout(timeout)
    try:
        conn.sendall(_H2_PREFACE)
        head = b""
        while len(head) < 4:
            chunk = conn.recv(4 - len(head))
            if not chunk:
                return False
            head += chunk
    except OSError:  # no answer in time, or the peer closed
        return False
    return head[3] == _H2_SETTINGS


class ConnectInterrupted(KeyboardInterrupt):
    """Ctrl-C while ``ray.init`` waits for the cluster at ``--ray-address`` (the port answers,
    but maybe not a Ray head): nothing was scored, and rerunning the same command would wait
    again, so the CLI says so instead of "rerun to resume"."""


def _ray_init(address: str | None, **kw) -> None:
    import ray

    try:
        ray.init(**({"address": address} if address else {}), **kw)
    except KeyboardInterrupt:
        if not address:
            raise
        raise ConnectInterrupted(f"interrupted while connecting to Ray at {address}: nothing was scored; check "
                                 f"that a Ray head runs there (`ray status --address {address}`)") from None


# Ray (2.5x) turns token authentication on for every new local cluster and, unless
# $RAY_AUTH_MODE was set, logs on every ``ray.init`` that it did, from this logger:
RAY_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
RAY_AUTH_NOTICE = "Token authentication is enabled for this Ray cluster"


class _DropAuthNotice(logging.Filter):
    """Drops Ray's notice that token authentication is on (the safe default, nothing to act
    on) and lets every other record of its logger through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(RAY_AUTH_NOTICE)


@contextmanager
def quiet_token_auth():
    """While a local Ray session we start comes up: without Ray's "Token authentication is
    enabled ... Set RAY_AUTH_MODE=disabled to opt out" line, printed on every run. Setting
    $RAY_AUTH_MODE ourselves does not work: Ray reads it once, when imported (set later, the
    driver and the GCS disagree and the GCS refuses the driver), and ``disabled`` would open
    the cluster to anyone on the network. Only that record goes; any other of that logger,
    and all of Ray's others, still show."""
    log, drop = logging.getLogger(RAY_AUTH_LOGGER), _DropAuthNotice()
    log.addFilter(drop)
    try:
        yield
    finally:
        log.removeFilter(drop)


def _run_ray(todo: list[str], recipe: Recipe, out: Path, workers: int | None, address: str | None,
             progress: bool) -> list[dict]:
    import ray

    started = not ray.is_initialized()
    if started:
        kw = {}
        if not address:
            kw = {"num_cpus": workers or os.cpu_count(), "include_dashboard": False}
            temp = ray_temp_dir(out)
            if temp:
                kw["_temp_dir"] = temp
        with quiet_token_auth() if not address else nullcontext():  # a cluster we join says nothing of it
            _ray_init(address, log_to_driver=False, logging_level=logging.INFO if progress else logging.WARNING, **kw)
    if not recipe.cuts.threads and not address:  # sources decode side by side: share the cores out
        n = workers or os.cpu_count() or 1
        recipe = replace(recipe, cuts=replace(recipe.cuts, threads=max(1, n // len(todo))))
    try:
        return _gather(todo, recipe, str(out), progress)
    finally:
        if started:  # the session lives under OUT: end it with the run
            ray.shutdown()


RAY_WAIT_S = 0.5  # how often the bar is brought up to date while Ray tasks run


def _gather(todo: list[str], recipe: Recipe, out: str, progress: bool) -> list[dict]:
    """:func:`process_source` of every source as one Ray task each (one CPU), their results
    counted on a ``sources: n/N`` bar as they come back, as ``--workers 0`` counts them. Plain
    tasks, not Ray Data: a map over one block per source gained nothing, and its own progress
    lines (``Map(<lambda>): 0/1``, repeated every 10 s off a terminal, and a hint to switch to
    a "new progress UI" nobody running ``curate`` can act on) hid the count."""
    import ray
    from tqdm import tqdm

    task = ray.remote(num_cpus=1)(process_source)
    shared = ray.put(recipe)  # stored once, not once per source
    pending = [task.remote(p, shared, out) for p in todo]
    results: list[dict] = []
    with tqdm(total=len(todo), desc="sources", disable=not progress, file=sys.stderr) as bar:
        while pending:
            done, pending = ray.wait(pending, num_returns=len(pending), timeout=RAY_WAIT_S)
            if done:  # off a terminal each redraw is a line of the log: only when the count moves
                results += ray.get(done)
                bar.update(len(done))
    return results


def _error_kind(row: dict) -> str:
    """A row's error without its source's path, so that the same failure of many files counts
    as one: ``MediaError: empty file (0 bytes), not a video``. The path is taken out where the
    messages put it (``PATH: ...``, an OS error's ``'PATH'``), nowhere else: a short name must
    not eat into the message."""
    src = str(row.get("source") or "")
    return row["error"].replace(f"{src}: ", "").replace(f"'{src}'", "'<source>'") if src else row["error"]


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
_CLIP_TEMP = re.compile(r"\.(?P<key>.+-[0-9a-f]{10})_\d{6,}_\d{6,}\.partial\.mp4")


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
        if m and m["key"] in keys and f.name not in listed and f.is_file() and not f.is_symlink():
            found.append(f)
    return sorted(found)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only an empty folder goes
    except OSError:
        pass


def _footer(part: Path) -> tuple[pq.FileMetaData | None, dict[str, str]]:
    """A part's Parquet footer and its key-value metadata (``{}`` for an unreadable part): one
    small read, whatever the part holds."""
    try:
        footer = pq.read_metadata(part)
    except (OSError, pa.ArrowInvalid):
        return None, {}
    return footer, {k.decode(): v.decode() for k, v in (footer.metadata or {}).items() if k != b"ARROW:schema"}


def _no_errors(footer: pq.FileMetaData) -> bool:
    """Whether the footer's statistics show the ``error`` column all null (or absent)."""
    for g in range(footer.num_row_groups):
        rg = footer.row_group(g)
        col = next((rg.column(j) for j in range(rg.num_columns) if rg.column(j).path_in_schema == "error"), None)
        st = col.statistics if col is not None else None
        if col is not None and (st is None or not st.has_null_count or st.null_count != rg.num_rows):
            return False
    return True


def part_kind(part: Path, footer: pq.FileMetaData | None, meta: dict[str, str]) -> str:
    """The kind of a part's worst error row (:func:`rows_kind`): as its metadata records it
    (:data:`ERRORS_KEY`); a part written before that is read, its ``error`` column only, and
    not even that when the footer's statistics show the column all null (most parts)."""
    if (kind := meta.get(ERRORS_KEY)) is not None:
        return kind
    if footer is None or _no_errors(footer):
        return "none"
    try:
        errors = pq.read_table(part, columns=["error"]).column("error").to_pylist()
    except (OSError, pa.ArrowInvalid, KeyError):
        return "none"
    return rows_kind([{"error": e} for e in errors])


def plan_work(sources: list[str], out: Path, keys: set[str]) -> tuple[list[str], int, int, int]:
    """(sources to score, how many of them have a part of another recipe (one whose key is not
    in ``keys``), how many a part of this recipe but of a source whose size or mtime changed
    since, how many an error row, of the source or of one of its clips, that is worth a retry
    though the file is unchanged (:func:`retry_error`: the machine's, a package missing or
    permission denied, always; the code's when the code changed since, :func:`code_version`;
    the source would otherwise stay failed after the cause is fixed)). The rest are skipped:
    their part stands, a content error too (the file would fail the same way), and a file
    still missing (its stat changes when it is back). A part from before sources' stats were
    recorded is trusted, not counted as changed (it would be reported as a changed file).
    Each part's footer is read, its rows only for a part with errors from before parts
    recorded their kind (:func:`part_kind`)."""
    todo, stale, changed, retried = [], 0, 0, 0
    for p in sources:
        part = part_path(out, p)
        if not part.is_file():
            todo.append(p)
            continue
        footer, meta = _footer(part)
        if meta.get(RECIPE_KEY) not in keys:
            todo.append(p)
            stale += 1
        elif (stat := meta.get(SOURCE_STAT_KEY)) is not None and stat != source_stat(p):
            todo.append(p)
            changed += 1
        elif (retry_kind(part_kind(part, footer, meta), meta.get(CODE_KEY) != code_version())
              and os.path.exists(p)):
            todo.append(p)
            retried += 1
    return todo, stale, changed, retried


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
    removed once the new manifest is written."""
    t0 = time.perf_counter()
    check_workers(workers)
    recipe = check_recipe(recipe) if isinstance(recipe, Recipe) else load_recipe(recipe, overrides)
    if "clip" in recipe.scorers:  # said here: a Ray worker's warning never reaches the terminal
        from data_curation.scorers.clip import warn_if_no_weights

        warn_if_no_weights(recipe)
    out = Path(out)
    given = [src] if isinstance(src, (str, Path)) else list(src)
    missing = next((s for s in given if not os.path.exists(s)), None)
    if missing is not None:  # a misspelled SRC: refused before any work, not an error row
        raise FileNotFoundError(f"SRC {missing} not found")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; OUT is the folder the manifest, parts and clips go to")
    if workers != 0:  # before OUT is made: a wrong address leaves nothing behind
        # ray.init reads RAY_ADDRESS when given no address: taken here so it is checked too, and so
        # the local-session options (num_cpus, the temp dir under OUT) are not passed to a cluster
        ray_address = ray_address or os.environ.get("RAY_ADDRESS") or None
        if ray_address == "local":  # Ray's word for "start a new one here": as no address
            ray_address = None
        check_ray_address(ray_address)
    sources, seen = [], set()
    for p in discover(given, exclude=[out / d for d in OUTPUT_DIRS]):
        if os.path.abspath(p) not in seen:  # the same file named twice (src/a.mp4, ./src/a.mp4) is one source
            seen.add(os.path.abspath(p))
            sources.append(str(p))
    if not sources:  # a wrong SRC, most likely: write nothing (an empty manifest would replace a real one)
        return {"sources": 0, "processed": 0, "skipped": 0, "changed": 0, "retried": 0, "failed": 0, **summarize([]),
                "clips_failed": 0, "errors": {}, "clips_removed": 0, "seconds": round(time.perf_counter() - t0, 2), "manifest": None}
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    todo, stale, changed, retried = plan_work(sources, out, {scoring_key(recipe), scoring_key(recipe, ordered=True)})
    if stale and progress:
        print(f"{stale} source(s) scored under another recipe (cuts, split, scorers or models changed): "
              "scoring them again", file=sys.stderr)
    if changed and progress:
        print(f"{changed} source(s) changed since they were scored (size or modification time): "
              "scoring them again", file=sys.stderr)
    if retried and progress:
        print(f"{retried} source(s) failed last time, whole or in some of their clips, for a reason other than their "
              "content (the machine's: a missing package, permission denied, ...; or a bug, and curate or its "
              "libraries changed since): trying them again", file=sys.stderr)
    if todo:
        try:
            if workers == 0:
                from tqdm import tqdm

                _scorers(recipe)  # models load before any source is read: a broken one stops the run here
                for p in tqdm(todo, desc="sources", disable=not progress, file=sys.stderr):
                    process_source(p, recipe, out)
            else:
                _run_ray(todo, recipe, out, workers, ray_address, progress)
        except BaseException:
            if created:  # an OUT this run made and nothing went into (Ray did not start): not left behind
                _remove_if_empty(out)
            raise
    table = compact(out, sources)
    rows = apply_filters(table.to_pylist(), recipe)
    write_atomic(to_table(rows, all_columns(recipe)), out / "manifest.parquet", {RUN_DIR_KEY: os.getcwd()})
    # after the manifest: until it is replaced, the old one lists the old clips. Only sources this
    # run scored again without any error row, with a recipe that extracts: a source that failed
    # (a drive unmounted, a file caught mid-copy) or a rerun without split.extract keeps its files
    listed = {Path(r["clip_path"]).name for r in rows if r.get("clip_path")}
    failed_sources = {r["source"] for r in rows if r.get("error")}
    rescored = [p for p in todo if p not in failed_sources] if recipe.split.extract else []
    removed = stale_clips(out / "clips", rescored, listed)
    for f in removed:
        f.unlink(missing_ok=True)
    failed = sum(1 for r in rows if r.get("error") and r["clip_id"].endswith(":error"))
    clips_failed, errors = error_counts(rows)
    return {"sources": len(sources), "processed": len(todo), "skipped": len(sources) - len(todo),
            "changed": changed, "retried": retried, "failed": failed, **summarize(rows), "clips_failed": clips_failed, "errors": errors,
            "clips_removed": len(removed), "seconds": round(time.perf_counter() - t0, 2), "manifest": str(out / "manifest.parquet")}
