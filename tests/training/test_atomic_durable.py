"""A folder atomic_folder renames into place has its files flushed to the disk first, and the
rename itself after (checkpoints and final/ survive a power cut whole)."""

from pathlib import Path

from video import atomic


def test_files_are_flushed_before_the_rename_and_the_parent_after(tmp_path, monkeypatch):
    events = []
    real_replace = atomic.os.replace
    monkeypatch.setattr(atomic, "_fsync_path", lambda p: events.append(("fsync", Path(p))))
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (events.append(("rename", Path(b))), real_replace(a, b)))
    with atomic.atomic_folder(tmp_path / "ckpt", replace="any") as tmp:
        (tmp / "sub").mkdir()
        (tmp / "model.safetensors").write_bytes(b"x")
        (tmp / "sub" / "state.json").write_text("{}")
    rename = events.index(("rename", tmp_path / "ckpt"))
    flushed = {p.relative_to(tmp) for kind, p in events[:rename] if kind == "fsync" and p != tmp}
    assert flushed == {Path("model.safetensors"), Path("sub/state.json"), Path("sub")}
    assert ("fsync", tmp) in events[:rename] and events[rename + 1:] == [("fsync", tmp_path)]
    assert (tmp_path / "ckpt" / "sub" / "state.json").read_text() == "{}"


def test_a_file_is_flushed_before_the_rename_and_the_parent_after(tmp_path, monkeypatch):
    events = []
    real_replace = atomic.os.replace
    monkeypatch.setattr(atomic, "_fsync_path", lambda p: events.append(("fsync", Path(p))))
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (events.append(("rename", Path(a), Path(b))),
                                                            real_replace(a, b)))
    with atomic.atomic_file(tmp_path / "clip.mp4") as tmp:
        tmp.write_bytes(b"video")
    assert events == [("fsync", tmp), ("rename", tmp, tmp_path / "clip.mp4"), ("fsync", tmp_path)]
    assert (tmp_path / "clip.mp4").read_bytes() == b"video"
