"""Sources deleted since curation: the files are gone, so the warning says how many files are
missing and names a few (it said "run from the folder curate ran in, or store absolute
paths", which the other files, found, show is not the trouble), and their clips are left out
up front, counted, instead of each being replaced at every load by the next readable clip
(which then trained twice as often)."""

from __future__ import annotations

import numpy as np
import pytest

from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic
from video.media import write_video
from video.training.data import ManifestClips
from video.training.loading import ItemLoader


def row(source: str, start: int) -> dict:
    return {"source": source, "start_frame": start, "end_frame": start + 8, "fps": 8.0, "width": 32,
            "height": 32, "keep": True, "caption": f"{source} {start}"}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Seven sources, two clips each, relative paths; ``a.mp4`` and ``b.mp4`` stay, the rest
    are deleted after curation; training runs from another folder."""
    names = [f"{c}.mp4" for c in "abcdefg"]
    for k, name in enumerate(names[:2]):
        write_video(np.full((16, 32, 32, 3), 40 + 100 * k, np.uint8), tmp_path / "proj" / "src" / name, fps=8)
    rows = [row(f"src/{n}", s) for n in names for s in (0, 8)]
    path = tmp_path / "proj" / "out" / "manifest.parquet"
    write_atomic(to_table(rows, {}), path, {RUN_DIR_KEY: str(tmp_path / "proj")})
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return path


def test_missing_files_are_named_and_their_clips_left_out(project, capsys):
    clips = ManifestClips(project, frames=4, height=16, width=16)
    assert capsys.readouterr().out.splitlines() == [
        f"warning: {project}: 10 of 14 clips' media files are not found: 5 files are missing (src/c.mp4, src/d.mp4, "
        "src/e.mp4 and 2 more); those 10 clips are left out"]
    assert len(clips) == 4 and clips.missing == 10
    assert [clips._plan(i)["caption"] for i in range(4)] == ["src/a.mp4 0", "src/a.mp4 8", "src/b.mp4 0",
                                                            "src/b.mp4 8"]
    assert clips.describe() == "manifest 4 clips; 10 whose media file is not found left out"
    loader = ItemLoader(clips)
    assert [loader(i)["caption"] for i in range(4)] == ["src/a.mp4 0", "src/a.mp4 8", "src/b.mp4 0", "src/b.mp4 8"]
    assert "unreadable" not in capsys.readouterr().out  # nothing replaced: each found clip counts once


def test_a_reader_can_keep_them(project, capsys):
    clips = ManifestClips(project, frames=4, height=16, width=16, drop_missing=False)
    assert len(clips) == 14 and clips.missing == 0
    assert capsys.readouterr().out.endswith("src/e.mp4 and 2 more); reading them fails\n")


def test_all_gone_by_absolute_paths_says_so(tmp_path):
    path = tmp_path / "manifest.parquet"
    gone = [str(tmp_path / f"gone{k}.mp4") for k in range(2)]
    write_atomic(to_table([row(g, s) for g in gone for s in (0, 8)], {}), path, {})
    with pytest.raises(FileNotFoundError) as e:
        ManifestClips(path, frames=4, height=16, width=16)
    assert str(e.value) == (f"{path}: 4 of 4 clips' media files are not found: 2 files are missing "
                            f"({gone[0]}, {gone[1]})")
