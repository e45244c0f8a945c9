"""A write of a run folder that fails for want of room (a full disk, a quota, a file too large
for the filesystem or the process's file-size limit), said in one line that names what was
being written and the checkpoint a rerun resumes from. safetensors wraps the OS error of a
save in a SafetensorError, which ``video train``'s last-resort handler read as "a .safetensors
file is damaged", and a user might then delete good checkpoints; the lock file's write was a
traceback."""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# errno: (what happened, what to do before the rerun)
REASONS = {
    errno.ENOSPC: ("no space left", "free space"),
    getattr(errno, "EDQUOT", errno.ENOSPC): ("disk quota exceeded", "free space"),  # no EDQUOT on Windows
    errno.EFBIG: ("a file too large for the filesystem or the file-size limit",
                  "make room for it (another filesystem: FAT32 holds 4 GB a file; or a higher limit)"),
}
_OS_ERROR = re.compile(r"\(os error (\d+)\)")  # how safetensors (Rust) names the OS error of a failed save


class NoRoom(ValueError):
    """A run folder's write failed for want of room (a ValueError: ``video train`` and ``video
    quickstart`` say it in one line and exit 2)."""


def room_errno(e: BaseException) -> int | None:
    """The errno of ``e`` when it is a lack of room (:data:`REASONS`), an OSError or a
    SafetensorError that carries one; None otherwise."""
    if isinstance(e, OSError):
        return e.errno if e.errno in REASONS else None
    from safetensors import SafetensorError

    if isinstance(e, SafetensorError) and (m := _OS_ERROR.search(str(e))) and int(m.group(1)) in REASONS:
        return int(m.group(1))
    return None


def resume_hint(run: Path, skip: Path | None = None) -> str:
    """How a rerun of ``run`` goes on: from its newest whole checkpoint (not ``skip``, the one
    whose write failed), or from step 0 when there is none."""
    from video.training.state import checkpoints

    kept = [c for c in checkpoints(run) if c != skip]
    return f"to resume from {kept[-1].name}" if kept else f"({run} has no checkpoint yet: it starts from step 0)"


def no_room_note(code: int, target: Path | None, run: Path, skip: Path | None = None) -> str:
    """``no space left writing RUN/checkpoints/step_N; free space and rerun to resume from step_M``."""
    reason, remedy = REASONS[code]
    where = f"writing {target}" if target is not None else f"writing in {run}"
    return f"{reason} {where}; {remedy} and rerun {resume_hint(run, skip)}"


@contextmanager
def room_errors(run: Path, target: Path | None = None) -> Iterator[None]:
    """Turn a lack of room while writing ``target`` of run folder ``run`` (None: whichever file
    the OS error names, else the run folder) into :class:`NoRoom`; other errors pass as they are.
    The temporary of an atomic write is gone by then (:mod:`video.atomic`)."""
    try:
        yield
    except Exception as e:
        code = room_errno(e)
        if code is None:
            raise
        named = Path(e.filename) if isinstance(e, OSError) and e.filename else None
        raise NoRoom(no_room_note(code, target or named, run, skip=target)) from None
