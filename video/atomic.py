"""Outputs appear whole or not at all: write into a temporary sibling, then rename.

A rename within one folder is atomic on POSIX filesystems, so a crash or Ctrl-C leaves either
the old output or the new one, never half a model, checkpoint or video. The temporary names
come from ``tempfile`` (private modes); the finished output gets the modes the user's umask
gives any new file. A file's or folder's contents are flushed to the disk (fsync) before the rename, so a
folder that has its name also survives a power cut whole. A folder output replaces an existing
folder only if it is empty or holds only what this tool wrote there: ``--output ~/Pictures``
must never delete a folder, nor a re-render the ``clip.mp4`` or note a user put beside the
frames. The marker file (``.written-by-video``) lists every name written (see
:func:`check_replaceable`).

A folder cannot be renamed over a folder that has files, so replacing one takes three steps:
the old folder is renamed aside (a hidden ``.NAME.R.old.partial``), the new one renamed in, and
only then is the old one deleted. Deleting 20,000 PNGs takes tens of seconds; deleting first
left a kill in that time with half the old folder under the real name and the new one hidden.
Now only the instant between the two renames has neither under the name.

A killed write leaves its hidden temporary behind: ``.STEM.R.partial.SUFFIX`` (a file),
``.NAME.R.partial`` (a folder) or ``.NAME.R.old.partial`` (a replaced folder not yet deleted),
R being 8 random characters. The next write of the same path deletes those of that path, and
only those that are clearly dead, so that a concurrent writer of the same path keeps its own:
each writer holds an advisory lock (``flock``) on its temporary while it works, and the kernel
drops it when the process dies. A temporary is deleted when its lock is free and it has not
been modified for a minute (the minute covers the instant between creating a temporary and
locking it); where there are no such locks (Windows, a filesystem that refuses them) only when
it has not been modified for a day. A process lists a folder for this at most once a minute (a
training cache writes thousands of shards into one folder); a temporary is not dead sooner anyway.
flock is per machine on some network filesystems (NFS with ``local_lock``, Lustre
``localflock``): there a writer of the same path on another node is protected by the minute
alone, so two nodes must not write one output path at once."""

from __future__ import annotations

import errno
import itertools
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock (and an open file could not be renamed anyway)
    fcntl = None

MARKER = ".written-by-video"  # in every user-facing folder atomic_folder writes: what it wrote there
_MARKER_FORMAT = 1  # {"format": 1, "written": [relative "/"-separated names]}; earlier versions: an empty file
_OLD_MARKER_OURS = re.compile(r"\d{5,}\.png")  # what an old, empty marker vouches for: the PNG frames written
_MODEL_FILES = ("model_index.json", "video_pipeline.yaml")  # an exported model folder's (see _ours)
OS_CACHES = frozenset({".DS_Store", "Thumbs.db"})  # a file browser's view caches, rebuilt at will: not the user's
STALE_UNLOCKED_S = 60.0  # a temporary whose lock is free is dead once untouched this long
STALE_S = 24 * 3600.0  # where no lock can tell, once untouched this long
_RANDOM = "abcdefghijklmnopqrstuvwxyz0123456789_"  # tempfile's alphabet; its names are 8 long
_SCANNED: dict[str, tuple[float, set[str]]] = {}  # folder -> (when listed, its hidden .partial names)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def written_names(folder: Path) -> set[str] | None:
    """The names the marker in ``folder`` lists, or None for an old marker (an empty file, from
    before markers listed names) or one that cannot be read as a list."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    names = data.get("written") if isinstance(data, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return set(names)


def _ours(folder: Path) -> Callable[[str], bool]:
    """Whether a relative name under ``folder`` is one this tool wrote: listed by the marker; for
    an old marker (which said nothing of what was there) only the frame names every version
    wrote (``00000.png``), except in a model folder an earlier version exported (a
    ``model_index.json`` or ``video_pipeline.yaml`` beside it): that is taken whole, else every
    rerun of an export into it (``video quickstart``'s VAE, a training export) was refused;
    without a marker nothing is."""
    if not (folder / MARKER).is_file():
        return lambda rel: False
    names = written_names(folder)
    if names is None and any((folder / f).is_file() for f in _MODEL_FILES):
        return lambda rel: True  # an old export (a model folder): replaced whole, as it always was
    if names is None:
        return lambda rel: _OLD_MARKER_OURS.fullmatch(rel) is not None
    return names.__contains__


def _foreign_entries(folder: Path) -> list[str]:
    """The entries under ``folder`` that this tool did not write (:func:`_ours`), depth first in
    name order; a foreign folder is one entry (its contents are not listed), a folder of ours is
    searched (a note put inside a saved model's ``unet/`` is foreign too). Symlinks are entries,
    never followed."""
    ours, found = _ours(folder), []

    def walk(d: Path, prefix: str) -> None:
        with os.scandir(d) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            rel = prefix + e.name
            if rel == MARKER or e.name in OS_CACHES or (e.name.startswith("._") and ours(prefix + e.name[2:])):
                # macOS's AppleDouble "._NAME" beside a file of ours (on exFAT / network drives) is its metadata
                continue
            is_dir = e.is_dir(follow_symlinks=False)
            if not ours(rel):
                found.append(rel + "/" if is_dir else rel)
            elif is_dir:
                walk(Path(e.path), rel + "/")

    walk(folder, "")
    return found


def _written_list(folder: Path, only: Iterable[str] | None = None) -> list[str]:
    """Every name under ``folder`` (relative, "/"-separated, the marker aside), for its marker;
    with ``only``, just those top-level entries and what lies under them."""
    keep = None if only is None else set(only)
    names = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder).as_posix()
        prefix = "" if rel == "." else rel + "/"
        names += [prefix + n for n in dirs + files]
    return sorted(n for n in names if n != MARKER and (keep is None or n.split("/", 1)[0] in keep))


def write_marker(folder: Path, only: Iterable[str] | None = None) -> None:
    """Mark ``folder`` as written by this tool: its marker lists every name in it, or with
    ``only`` just those top-level entries and their contents (an older export vouched for by
    its own files, :func:`video.training.run_folder.adopt_old_export`), so the rest stays foreign."""
    (folder / MARKER).write_text(json.dumps({"format": _MARKER_FORMAT, "written": _written_list(folder, only)})
                                 + "\n", encoding="utf-8")


def check_replaceable(path: Path, replace: str = "ours") -> None:
    """FileExistsError unless :func:`atomic_folder` may replace ``path``: with ``replace="ours"``
    it must be empty or hold only names its marker lists (an old marker: only PNG frame names),
    so a file put there since, or a folder never written by this tool, is never deleted. The
    error is one line naming the first such entry and how many there are."""
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(f"{path} exists and is a file, not a folder: remove it or choose another name")
    if replace != "ours":
        return
    foreign = _foreign_entries(path)
    if foreign:
        first, more = foreign[0], len(foreign) - 1
        held = (f"{first}, which this tool did not write; move it out" if not more else
                f"{first} and {more} more {'entry' if more == 1 else 'entries'} this tool did not write; "
                "move them out")
        raise FileExistsError(f"refusing to replace {path}: it holds {held}, remove the folder, "
                              "or choose another name")


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


def fsync_path(path: str | Path) -> None:
    """:func:`_fsync_path` for other modules (the manifest writer flushes its own temporary file
    and folder the same way)."""
    _fsync_path(Path(path))


def fsync_tree(folder: Path) -> None:
    """Flush every file under ``folder``, then the folders themselves (deepest first): a rename
    only makes the new name durable, and after a power cut a renamed folder could hold empty or
    short files. The data was just written, so this waits for the disk, it does not reread."""
    for root, _dirs, files in os.walk(folder, topdown=False):
        for name in files:
            _fsync_path(Path(root) / name)
        _fsync_path(Path(root))


def _umask_modes(folder: Path) -> None:
    """Give the private files under ``folder`` the modes the user's umask gives new files.
    safetensors' ``save_file`` creates its files 0600, so checkpoints and LoRAs were unreadable
    to another user (a ComfyUI server) while our JSON and MP4 beside them were 0644."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            f = Path(root) / name
            mode = f.lstat().st_mode
            if stat.S_ISREG(mode) and not mode & 0o077:
                os.chmod(f, (0o777 if mode & 0o100 else 0o666) & ~_UMASK)


def temp_name_pattern(path: Path) -> re.Pattern[str]:
    """The hidden names this module gives temporaries of ``path`` (see the module docstring);
    match with ``fullmatch``. R is exactly 8 of tempfile's characters, so another path's or
    another tool's temporary (``.clip.partial.mp4``) does not match."""
    r = r"\.[a-z0-9_]{8}"
    stem, suffix, name = (re.escape(s) for s in (path.stem, path.suffix, path.name))
    return re.compile(rf"\.(?:{stem}{r}\.partial{suffix}|{name}{r}(?:\.old)?\.partial)")


def try_lock(fd: int) -> bool | None:
    """Lock ``fd`` (flock, exclusive, without waiting): True taken, False held through another
    open file (a live writer's; EAGAIN / EACCES where a system says so instead), None where this
    system or filesystem has no such locks (Windows, ENOLCK / EOPNOTSUPP on some NFS)."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as e:
        return False if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES) else None
    return True


def _keep_locked(fd: int) -> int | None:
    """``fd`` if it now holds its file's lock (kept until :func:`_release`), else None, ``fd``
    closed: Windows could not rename a file that is open. Waits for the lock: only a stale check
    holds a writer's own new temporary, and that briefly; taking it without waiting could leave
    the writer unlocked for its whole write, and so deletable after a minute untouched."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return fd
        except OSError:  # a filesystem without such locks
            pass
    os.close(fd)
    return None


def _hold(path: Path) -> int | None:
    """An open, locked descriptor of ``path`` (a file or a folder) or None where none can be held."""
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    return _keep_locked(fd)


def _release(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # drops the lock


def _hidden_partials(folder: Path) -> set[str]:
    """The hidden ``.partial`` names of ``folder``, as listed within the last STALE_UNLOCKED_S."""
    key, now = os.path.abspath(folder), time.monotonic()
    listed = _SCANNED.get(key)
    if listed is None or now - listed[0] >= STALE_UNLOCKED_S:
        try:
            with os.scandir(folder) as it:
                names = {e.name for e in it if e.name.startswith(".") and ".partial" in e.name}
        except OSError:
            names = set()
        listed = _SCANNED[key] = (now, names)
    return listed[1]


def is_stale(age_s: float, lock: bool | None) -> bool:
    """Whether a temporary untouched for ``age_s`` seconds is a dead write's: ``lock`` True when
    its lock could be taken (no live writer holds it), False when a writer holds it, None where
    locks cannot tell (see the module docstring)."""
    if lock is False:
        return False
    return age_s >= (STALE_UNLOCKED_S if lock else STALE_S)


def _remove_if_stale(p: Path, now: float) -> bool:
    """Delete ``p`` if :func:`is_stale`, holding its lock meanwhile; whether this deleted it."""
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return False
    fd = None
    if fcntl is not None and not stat.S_ISLNK(st.st_mode):  # Windows: an open file cannot be deleted
        try:
            fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            pass
    try:
        if not is_stale(now - st.st_mtime, try_lock(fd) if fd is not None else None):
            return False
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(p, ignore_errors=True)
        else:
            try:
                os.unlink(p)
            except OSError:  # gone already, or (Windows) still open in a live writer: kept
                pass
        return not os.path.lexists(p)
    finally:
        _release(fd)


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete the temporaries of ``path`` that earlier, killed writes left beside it (only the
    names :func:`temp_name_pattern` gives, only when :func:`is_stale`); returns those deleted."""
    path = Path(path)
    names = _hidden_partials(path.parent)
    pattern, now, removed = temp_name_pattern(path), time.time(), []
    for name in sorted(n for n in list(names) if pattern.fullmatch(n)):  # a copy: threads share the set
        p = path.parent / name
        if _remove_if_stale(p, now):
            removed.append(p)
        if not os.path.lexists(p):
            names.discard(name)
    return removed


def _delete(p: Path) -> None:
    if p.is_symlink():
        p.unlink()
    else:
        shutil.rmtree(p, ignore_errors=True)


def _swap_in(tmp: Path, path: Path) -> tuple[Path, int | None] | None:
    """Rename the folder ``tmp`` to ``path``. An existing ``path`` is first renamed aside to a
    hidden backup (locked, so that a concurrent write of the same path does not take it for a
    dead one), returned for the caller to delete once the new name is durable; if ``tmp`` cannot
    take the name, the old folder gets it back."""
    if os.path.lexists(path):
        backup = path.parent / f".{path.name}.{''.join(secrets.choice(_RANDOM) for _ in range(8))}.old.partial"
        lock = _hold(path)
        try:
            os.replace(path, backup)
        except FileNotFoundError:  # another writer took it away meanwhile
            _release(lock)
        except BaseException:  # a mount point, no permission: the lock goes with the error
            _release(lock)
            raise
        else:
            try:
                os.replace(tmp, path)
            except BaseException:
                if not os.path.lexists(path):
                    os.replace(backup, path)
                _release(lock)
                raise
            return backup, lock
    os.replace(tmp, path)
    return None


@contextmanager
def atomic_folder(path: str | Path, replace: str = "ours") -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path``. ``replace``:
    ``ours`` (an existing folder must be empty or hold only what this tool wrote there, else
    FileExistsError, checked before any work and again before the swap; the new folder gets a
    marker listing its names) or ``any`` (folders inside a run this tool owns, like checkpoints)."""
    path = Path(path)
    if path.name in ("", ".", ".."):
        path = path.resolve()
    check_replaceable(path, replace)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    lock = _hold(tmp)
    try:
        yield tmp
        if replace == "ours":  # what a later write may replace (``any`` folders need no proof)
            write_marker(tmp)
        os.chmod(tmp, 0o777 & ~_UMASK)
        _umask_modes(tmp)
        fsync_tree(tmp)  # the contents are on disk before the name says the folder is whole
        check_replaceable(path, replace)  # it may have appeared while we worked
        old = _swap_in(tmp, path)
        _fsync_path(path.parent)  # and the rename itself, before the old folder goes
        if old is not None:
            try:
                _delete(old[0])
            finally:
                _release(old[1])
    finally:
        _release(lock)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_files(*paths: str | Path) -> Iterator[list[Path]]:
    """Yield a temporary file name beside each of ``paths`` (same suffix, so tools that infer the
    format from it still work); on success they replace ``paths``, renamed one right after the
    other once all are flushed, so files that belong together (metrics and their report) are
    never of two different runs for longer than those renames take."""
    paths = [Path(p) for p in paths]
    if len({os.path.abspath(p) for p in paths}) < len(paths):
        raise ValueError(f"atomic_files: a path is given twice: {', '.join(map(str, paths))}")
    for path in paths:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder: name a file to write")
    temps: list[Path] = []
    locks: list[int | None] = []
    try:
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(path)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
            temps.append(Path(tmp))
            locks.append(_keep_locked(fd))
        yield list(temps)
        for tmp in temps:
            os.chmod(tmp, 0o666 & ~_UMASK)
            _fsync_path(tmp)  # as for folders: the bytes are on disk before the name is
        for tmp, path in zip(temps, paths, strict=True):
            os.replace(tmp, path)
        for parent in dict.fromkeys(p.parent for p in paths):
            _fsync_path(parent)
    finally:
        for lock in locks:
            _release(lock)
        for tmp in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary file name beside ``path`` (same suffix, so tools that infer the format
    from it still work); on success it replaces ``path``."""
    with atomic_files(path) as (tmp,):
        yield tmp


@dataclass
class NewFile:
    """What :func:`atomic_new_file` yields: write ``tmp``; after the block ``path`` is the name
    the file took."""

    tmp: Path
    path: Path | None = None


def _claim(tmp: Path, names: Iterable[Path]) -> Path:
    """Give the finished file ``tmp`` the first of ``names`` that no file has, never replacing
    one: a hard link fails on an existing name where a rename would silently replace it. Where
    the filesystem has no hard links (FAT, some network shares) an empty file created exclusively
    claims the name an instant before ``tmp`` is renamed over it (deleted again if that fails)."""
    for name in names:
        try:
            os.link(tmp, name)
            return name
        except FileExistsError:
            continue
        except OSError:
            pass
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        try:
            os.replace(tmp, name)
        except BaseException:
            os.unlink(name)
            raise
        return name
    raise FileExistsError(f"every name offered for {tmp.name} is taken")


@contextmanager
def atomic_new_file(names: Iterable[str | Path], like: str | Path) -> Iterator[NewFile]:
    """Write a file that takes the first of ``names`` no file has yet, never replacing one: two
    writers that chose a counter by listing the folder at the same moment end with two files (a
    rename would put one over the other). ``names`` (on the filesystem of ``like``; may be
    endless) are tried in order once the file is whole, so no empty placeholder ever waits under
    a name. ``tmp`` is named as the first name, in a hidden folder named after ``like`` (beside
    it), so that the next write like it deletes what a killed one left (:func:`atomic_folder`'s
    rules)."""
    names = (Path(n) for n in names)
    first = next(names)
    like = Path(like)
    like.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(like)
    folder = Path(tempfile.mkdtemp(prefix=f".{like.name}.", suffix=".partial", dir=like.parent))
    lock = _hold(folder)
    new = NewFile(folder / first.name)
    try:
        yield new
        if not new.tmp.is_file():
            raise FileNotFoundError(f"nothing was written for {first.name}")
        os.chmod(new.tmp, 0o666 & ~_UMASK)
        _fsync_path(new.tmp)
        new.path = _claim(new.tmp, itertools.chain([first], names))
        _fsync_path(new.path.parent)
    finally:
        _release(lock)
        shutil.rmtree(folder, ignore_errors=True)
