"""A missing file and a folder named like a video are said in the video commands' words: "file
not found", "is a folder, not a video file" (they were "not a readable video
(FileNotFoundError)" / "(IsADirectoryError)"), by ``curate cuts`` and ``curate probe`` alike.
curate's error rows still record the OS error under the words, so a rerun classes a missing
file as before: the machine's, tried again (data_curation/reruns.py)."""

from __future__ import annotations

import json

import pytest

from data_curation.cli import main
from data_curation.engine import error_text, retry_error
from video.media import MediaError, probe_video


@pytest.fixture
def paths(tmp_path):
    (tmp_path / "folder.mp4").mkdir()
    return tmp_path / "nosuch.mp4", tmp_path / "folder.mp4"


def test_the_reader_says_it_in_words_and_keeps_the_os_error_for_reruns(paths):
    missing, folder = paths
    for path, words, cls in ((missing, "file not found", "FileNotFoundError"),
                             (folder, "is a folder, not a video file", "IsADirectoryError")):
        with pytest.raises(MediaError) as e:
            probe_video(path)
        assert str(e.value) == f"{path}: {words}"
        row = error_text(e.value)  # what curate run records for the source
        assert row.startswith(f"{cls}: ") and retry_error(row), row


def test_curate_cuts_and_probe_say_it(paths, capsys):
    missing, folder = paths
    assert main(["cuts", str(missing)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"curate cuts: {missing}: file not found"]
    assert main(["cuts", str(folder)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"curate cuts: {folder}: is a folder, not a video file"]
    assert main(["probe", str(missing)]) == 1
    assert json.loads(capsys.readouterr().out) == {"path": str(missing), "error": f"{missing}: file not found"}


def test_rows_of_earlier_versions_keep_their_kind():
    """Rows written before (the class in brackets) are still the machine's."""
    assert retry_error("MediaError: /d/a.mp4: not a readable video (FileNotFoundError)")
    assert retry_error("MediaError: /d/a.mp4: not a readable video (IsADirectoryError)")
