"""Outputs appear whole or not at all: write into a temporary sibling, then rename.

A rename within one folder is atomic on POSIX filesystems, so a crash or Ctrl-C leaves either
the old output or the new one, never half a model, checkpoint or video. The temporary names
come from ``tempfile`` (private modes); the finished output gets the modes the user's umask
gives any new file. A file's or folder's contents are flushed to the disk (fsync) before the rename, so a
folder that has its name also survives a power cut whole. A folder output replaces an existing
folder only if this tool wrote it (a marker file says so) or it is empty: ``--output
~/Pictures`` must never delete a folder."""

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


def _fsync_path(path: Path) -> None:
    """Flush ``path`` (a file, or a folder's entries) to the disk; a no-op where folders cannot be
    opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on folders; the files themselves were flushed
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file under ``folder``, then the folders themselves (deepest first): a rename
    only makes the new name durable, and after a power cut a renamed folder could hold empty or
    short files. The data was just written, so this waits for the disk, it does not reread."""
    for root, _dirs, files in os.walk(folder, topdown=False):
        for name in files:
            _fsync_path(Path(root) / name)
        _fsync_path(Path(root))


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
        fsync_tree(tmp)  # the contents are on disk before the name says the folder is whole
        check_replaceable(path, replace)  # it may have appeared while we worked
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
        _fsync_path(path.parent)  # and the rename itself
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
        _fsync_path(Path(tmp))  # as for folders: the bytes are on disk before the name is
        os.replace(tmp, path)
        _fsync_path(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
