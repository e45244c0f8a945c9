"""A full disk is one line: ffmpeg's own report of it ("No space left on device", said after
"Error muxing a packet" when the room runs out mid-stream) names the cause, and an OSError
ENOSPC reaching the ``video`` CLI (eval's report written to a full disk was a 23-line
traceback) is one error line with exit 2. The writes go to /dev/full, which fails every write
with ENOSPC."""

from __future__ import annotations

import subprocess

import pytest

from video.media import ffmpeg_exe
from video.media.ffmpeg_io import ffmpeg_error


@pytest.mark.parametrize("fmt", ["mp4", "gif"])
def test_ffmpegs_full_disk_is_said_so(fmt):
    r = subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=64x48:d=1",
                        "-f", fmt, "/dev/full"], capture_output=True, text=True)
    assert r.returncode != 0
    assert ffmpeg_error(r.stderr) == "No space left on device"


def test_a_mid_stream_full_disk_is_not_said_as_a_muxing_error():
    said = ("[out#0/mp4 @ 0x55] Error muxing a packet\n[out#0/mp4 @ 0x55] Task finished with error code: -28 "
            "(No space left on device)\n[out#0/mp4 @ 0x55] Error writing trailer: No space left on device\n")
    assert ffmpeg_error(said) == "No space left on device"


def test_eval_on_a_full_disk_is_one_line(cli, tmp_path, monkeypatch):
    import numpy as np

    import eval.runner as runner
    from video.media import write_video

    write_video(np.full((4, 32, 32, 3), 100, np.uint8), tmp_path / "gen" / "a.mp4", fps=8)

    def full(*_a, **_k):
        with open("/dev/full", "wb") as f:  # the real ENOSPC, from the kernel
            f.write(b"x" * 65536)
            f.flush()

    monkeypatch.setattr(runner, "write_outputs", full)
    r = cli("eval", tmp_path / "gen", "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    assert r.returncode == 2 and r.errors == ["error: cannot write the output: No space left on device"], r.stderr
