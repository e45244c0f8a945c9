"""Which sources a ``curate run`` scores again, beyond a missing part, another recipe or a
changed file: an error row's text and kind (:func:`error_text`, :func:`error_kind`), whether the
kind is worth a retry (:func:`retry_error`), the code a part was scored with (:func:`code_version`)
and the plan of a run over parts already written (:func:`plan_work`).

A rerun tries a source again when an error of the source or of a clip was the machine's (a
missing package, permission denied), or when it was a bug and the code has changed since; never
for its content. Each part records the kind of its worst error and the code's version in its
metadata, so that the plan reads footers, not rows.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import importlib.metadata
import os
import re
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_curation.manifest import (
    CODE_KEY,
    ERRORS_KEY,
    RECIPE_KEY,
    SOURCE_STAT_KEY,
    parquet_footer,
    part_path,
    read_parquet,
    source_stat,
)
from video.media import MediaError


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


# A row's key, not a column: the kind of its error, known from the exception (exception_kind)
ROW_ERROR_KIND = "_error_kind"


def rows_kind(rows: list[dict]) -> str:
    """The kind of the worst error of ``rows`` (the latest of :data:`ERROR_KINDS` among them:
    one machine error makes the source worth a retry), ``none`` without any."""
    kinds = {r.get(ROW_ERROR_KIND) or error_kind(r["error"]) for r in rows if r.get("error")}
    return max(kinds, key=ERROR_KINDS.index, default="none")


def _footer(part: Path) -> tuple[pq.FileMetaData | None, dict[str, str]]:
    """A part's Parquet footer and its key-value metadata (``{}`` for an unreadable part): one
    small read, whatever the part holds."""
    try:
        footer = parquet_footer(part)
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
        errors = read_parquet(part, columns=["error"]).column("error").to_pylist()
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
