"""video.atomic under kills: a replaced folder is never half deleted under its name, the
temporaries killed writes leave are deleted by the next write of the same path (only dead
ones, only that path's), files that belong together are renamed back to back, and a
numbered output never takes a name another writer already has.

A kill is a child process that ends with ``os._exit`` at a chosen step: no ``finally`` runs and
the kernel drops its locks, as after SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from video import atomic

ROOT = Path(__file__).resolve().parent.parent


def killed_at(code: str, cwd: Path) -> int:
    """Run ``code`` in a fresh Python (repository importable); its exit status."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, timeout=120).returncode


def age(p: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(p, (t, t), follow_symlinks=False)


def test_replace_killed_while_deleting_the_old_folder_keeps_the_new_one_whole(tmp_path):
    """Deleting a large old folder takes long (20,000 PNGs: 38 s); a kill half way through it
    left half the old folder under the real name and the new one hidden."""
    out = tmp_path / "frames"
    with atomic.atomic_folder(out) as tmp:
        for i in range(40):
            (tmp / f"{i:05d}.png").write_bytes(b"old")
    rc = killed_at(f"""
        import os, shutil
        from video import atomic

        real = shutil.rmtree
        def rmtree_then_killed(p, *a, **k):  # deletes half of what it was given, then the process dies
            for name in sorted(os.listdir(p))[:20]:
                os.unlink(os.path.join(p, name))
            os._exit(9)
        atomic.shutil.rmtree = rmtree_then_killed
        with atomic.atomic_folder({str(out)!r}) as tmp:
            for i in range(2):
                (tmp / f"{{i:05d}}.png").write_bytes(b"new")
        """, tmp_path)
    assert rc == 9
    assert sorted(p.name for p in out.iterdir()) == [".written-by-video", "00000.png", "00001.png"]
    assert {p.read_bytes() for p in out.glob("*.png")} == {b"new"}
    (left,) = [p for p in tmp_path.iterdir() if p.name != "frames"]  # the old folder, renamed aside
    assert atomic.temp_name_pattern(out).fullmatch(left.name) and left.name.endswith(".old.partial")

    age(left, 2 * atomic.STALE_UNLOCKED_S)  # its writer is dead (no lock), and it is untouched a while
    assert killed_at(f"""
        from video import atomic
        with atomic.atomic_folder({str(out)!r}) as tmp:
            (tmp / "00000.png").write_bytes(b"third")
        """, tmp_path) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]
    assert sorted(p.name for p in out.iterdir()) == [".written-by-video", "00000.png"]


def test_replacing_a_folder_keeps_the_guarantees(tmp_path):
    """Only a folder this tool wrote (or an empty one) is replaced; the old one is gone after."""
    out = tmp_path / "frames"
    out.mkdir()
    (out / "mine.txt").write_text("user's")
    with pytest.raises(FileExistsError, match="refusing to replace"):
        with atomic.atomic_folder(out):
            pass
    assert (out / "mine.txt").read_text() == "user's" and sorted(tmp_path.iterdir()) == [out]
    with atomic.atomic_folder(tmp_path / "run", replace="any") as tmp:
        (tmp / "a").write_text("1")
    with atomic.atomic_folder(tmp_path / "run", replace="any") as tmp:
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "run"]


def test_a_failed_rename_gives_the_old_folder_its_name_back(tmp_path, monkeypatch):
    out = tmp_path / "ckpt"
    with atomic.atomic_folder(out, replace="any") as tmp:
        (tmp / "old").write_text("old")
    real = os.replace
    calls = []

    def second_fails(a, b):
        calls.append(Path(b))
        if len(calls) == 2:
            raise OSError("disk gone")
        return real(a, b)

    monkeypatch.setattr(atomic.os, "replace", second_fails)
    with pytest.raises(OSError, match="disk gone"):
        with atomic.atomic_folder(out, replace="any") as tmp:
            (tmp / "new").write_text("new")
    monkeypatch.setattr(atomic.os, "replace", real)
    assert calls[1] == out and (out / "old").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_a_killed_file_write_is_cleaned_by_the_next_write_of_that_path_only(tmp_path):
    out = tmp_path / "clip.mp4"
    rc = killed_at(f"""
        import os
        from video import atomic
        with atomic.atomic_file({str(out)!r}) as tmp:
            tmp.write_bytes(b"half a vid")
            os._exit(9)
        """, tmp_path)
    assert rc == 9 and not out.exists()
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(".clip.") and left.name.endswith(".partial.mp4")
    others = [tmp_path / ".clip.partial.mp4",  # another tool's temporary (curate's split)
              tmp_path / ".clip.b.abcdefgh.partial.mp4",  # a temporary of clip.b.mp4
              tmp_path / ".clip.abcdefgh.partial.webm",  # of clip.webm
              tmp_path / "clip.abcdefgh.partial.mp4"]  # not hidden: not ours
    for p in others:
        p.write_bytes(b"x")
    for p in [left, *others]:
        age(p, 2 * atomic.STALE_S)
    with atomic.atomic_file(out) as tmp:
        tmp.write_bytes(b"whole")
    assert out.read_bytes() == b"whole" and not left.exists()
    assert all(p.exists() for p in others)


def test_a_recent_dead_temporary_waits_a_minute(tmp_path):
    """Between creating a temporary and locking it, a live writer's temporary is unlocked: a
    temporary is only taken for dead once untouched for STALE_UNLOCKED_S."""
    left = tmp_path / ".out.abcdefgh.partial.json"
    left.write_bytes(b"{")
    with atomic.atomic_file(tmp_path / "out.json") as tmp:
        tmp.write_text("{}")
    assert left.exists()
    age(left, 2 * atomic.STALE_UNLOCKED_S)
    assert atomic.remove_stale_temporaries(tmp_path / "out.json") == [left] and not left.exists()


def test_a_live_writers_temporary_is_never_deleted(tmp_path):
    """A concurrent writer of the same path holds its temporary's lock: another process writing
    that path meanwhile leaves it alone however old it looks, and both writes complete."""
    out = tmp_path / "report.html"
    with atomic.atomic_file(out) as mine:
        mine.write_text("first writer")
        age(mine, 2 * atomic.STALE_S)
        rc = killed_at(f"""
            from video import atomic
            with atomic.atomic_file({str(out)!r}) as tmp:
                tmp.write_text("second writer")
            """, tmp_path)
        assert rc == 0 and out.read_text() == "second writer"
        assert mine.read_text() == "first writer"
    assert out.read_text() == "first writer" and sorted(tmp_path.iterdir()) == [out]


def test_without_locks_only_a_day_old_temporary_is_dead(tmp_path, monkeypatch):
    """Windows (no flock) or a filesystem refusing locks: age alone decides, a day."""
    monkeypatch.setattr(atomic, "fcntl", None)
    hour, days = tmp_path / ".v.abcdefgh.partial", tmp_path / ".v.ijklmnop.partial"
    for p, s in ((hour, 3600), (days, 2 * atomic.STALE_S)):
        p.mkdir()
        (p / "00000.png").write_bytes(b"x")
        age(p, s)
    with atomic.atomic_folder(tmp_path / "v") as tmp:
        (tmp / "00000.png").write_bytes(b"y")
    assert hour.exists() and not days.exists()


@pytest.mark.parametrize(("age_s", "lock", "stale"), [
    (0, True, False), (atomic.STALE_UNLOCKED_S, True, True), (10 * atomic.STALE_S, False, False),
    (atomic.STALE_S - 1, None, False), (atomic.STALE_S, None, True)])
def test_is_stale(age_s, lock, stale):
    assert atomic.is_stale(age_s, lock) is stale


def test_two_files_are_renamed_back_to_back_after_both_are_written(tmp_path, monkeypatch):
    events = []
    real = os.replace
    monkeypatch.setattr(atomic, "_fsync_path", lambda p: events.append(("fsync", Path(p).name)))
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (events.append(("rename", Path(b).name)), real(a, b)))
    with atomic.atomic_files(tmp_path / "metrics.json", tmp_path / "report.html") as (m, r):
        m.write_text("{}")
        r.write_text("<html>")
    renames = [i for i, e in enumerate(events) if e[0] == "rename"]
    assert [events[i][1] for i in renames] == ["metrics.json", "report.html"] and renames[1] == renames[0] + 1
    assert events[renames[1] + 1:] == [("fsync", tmp_path.name)]
    assert (tmp_path / "report.html").read_text() == "<html>" and len(list(tmp_path.iterdir())) == 2
    with pytest.raises(RuntimeError):
        with atomic.atomic_files(tmp_path / "metrics.json", tmp_path / "report.html") as (m, r):
            m.write_text("new")
            raise RuntimeError("killed while rendering the report")
    assert (tmp_path / "metrics.json").read_text() == "{}" and len(list(tmp_path.iterdir())) == 2


def numbered(folder: Path, first: int = 1):
    i = first
    while True:
        yield folder / f"v_{i:05}_.mp4"
        i += 1


def test_a_new_file_never_takes_a_name_another_writer_took(tmp_path):
    """Both writers listed the folder and chose counter 1; the one finishing second gets 2."""
    with atomic.atomic_new_file(numbered(tmp_path), like=tmp_path / "v.mp4") as new:
        new.tmp.write_bytes(b"second")
        (tmp_path / "v_00001_.mp4").write_bytes(b"first")  # the other writer finished meanwhile
    assert new.path == tmp_path / "v_00002_.mp4" and new.path.read_bytes() == b"second"
    assert (tmp_path / "v_00001_.mp4").read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v_00001_.mp4", "v_00002_.mp4"]
    assert new.path.stat().st_mode & 0o777 == 0o666 & ~atomic._UMASK


def test_without_hard_links_the_name_is_claimed_exclusively(tmp_path, monkeypatch):
    """FAT or a network share: no os.link; an exclusive create claims the name, and when the
    rename over it fails the empty claim is removed again."""
    def no_links(a, b):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomic.os, "link", no_links)
    (tmp_path / "v_00001_.mp4").write_bytes(b"first")
    with atomic.atomic_new_file(numbered(tmp_path), like=tmp_path / "v.mp4") as new:
        new.tmp.write_bytes(b"second")
    assert new.path.name == "v_00002_.mp4" and new.path.read_bytes() == b"second"

    def replace_fails(a, b):
        raise OSError("disk gone")

    monkeypatch.setattr(atomic.os, "replace", replace_fails)
    with pytest.raises(OSError, match="disk gone"):
        with atomic.atomic_new_file(numbered(tmp_path), like=tmp_path / "v.mp4") as new:
            new.tmp.write_bytes(b"third")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v_00001_.mp4", "v_00002_.mp4"]


def test_a_killed_new_file_write_is_cleaned_by_the_next_one_like_it(tmp_path):
    rc = killed_at(f"""
        import os
        from pathlib import Path
        from video import atomic
        d = Path({str(tmp_path)!r})
        with atomic.atomic_new_file([d / "v_00001_.mp4"], like=d / "v.mp4") as new:
            new.tmp.write_bytes(b"half")
            os._exit(9)
        """, tmp_path)
    assert rc == 9
    (left,) = tmp_path.iterdir()
    age(left, 2 * atomic.STALE_UNLOCKED_S)
    with atomic.atomic_new_file(numbered(tmp_path), like=tmp_path / "v.mp4") as new:
        new.tmp.write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v_00001_.mp4"]


def test_atomic_imports_nothing_heavy():
    """The bench scripts write their JSON through it on machines without PyAV or imageio-ffmpeg."""
    code = ("import sys, video.atomic; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'torch', 'av', 'imageio_ffmpeg', 'PIL')))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
