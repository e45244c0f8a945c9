"""Outputs appear whole or not at all: write into a temporary sibling, then rename.

A rename within one folder is atomic on POSIX filesystems, so a crash or Ctrl-C leaves either
the old output or the new one, never half a model, checkpoint or video. The temporary names
come from ``tempfile`` (private modes); the finished output gets the modes the user's umask
gives any new file. A folder output replaces an existing folder only if this tool wrote it
(a marker file says so) or it is empty: ``--output ~/Pictures`` must never delete a folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MARKER = ".written-by-video"  # in every user-facing folder atomic_folder writes


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def check_replaceable(path: Path, replace: str = "ours") -> None:
    """FileExistsError unless :func:`atomic_folder` may replace ``path`` (see there)."""
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(f"{path} exists and is a file, not a folder: remove it or choose another name")
    if replace == "ours" and not (path / MARKER).is_file() and any(path.iterdir()):
        raise FileExistsError(f"refusing to replace {path}: it holds files this tool did not write; "
                              "remove it or choose another name")


@contextmanager
def atomic_folder(path: str | Path, replace: str = "ours") -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path``. ``replace``:
    ``ours`` (an existing folder must be empty or written by this tool, else FileExistsError,
    checked before any work) or ``any`` (folders inside a run this tool owns, like checkpoints)."""
    path = Path(path)
    if path.name in ("", ".", ".."):
        path = path.resolve()
    check_replaceable(path, replace)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield tmp
        if replace == "ours":  # what a later write may replace (``any`` folders need no proof)
            (tmp / MARKER).touch()
        os.chmod(tmp, 0o777 & ~_UMASK)
        check_replaceable(path, replace)  # it may have appeared while we worked
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary file name beside ``path`` (same suffix, so tools that infer the format
    from it still work); on success it replaces ``path``."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder: name a file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
