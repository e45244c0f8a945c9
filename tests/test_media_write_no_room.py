"""A PNG-folder or image output that runs out of room (a full disk, a file-size limit) is one
MediaError line, as an mp4's failure already was (PIL's close raised a bare OSError: a
traceback), and leaves no temporary behind. The room runs out portably: the process's
file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored), a write past which fails with EFBIG."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("resource")  # POSIX only

SNIPPET = """
import resource, signal, sys
import numpy as np
from video.media import MediaError, write_video
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
frames = (np.random.default_rng(0).random((3, 64, 64, 3)) * 255).astype(np.uint8)  # ~12 KB a PNG
resource.setrlimit(resource.RLIMIT_FSIZE, (4000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
for out, n in ((sys.argv[1], 3), (sys.argv[2], 1)):
    try:
        write_video(frames[:n], out)
    except MediaError as e:
        print(e)
"""


def test_png_frames_and_an_image_without_room_are_one_line(tmp_path):
    folder, image = tmp_path / "frames", tmp_path / "still.png"
    r = subprocess.run([sys.executable, "-c", SNIPPET, str(folder), str(image)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"cannot write {folder}: File too large", f"cannot write {image}: File too large"]
    assert os.listdir(tmp_path) == []  # no temporary left
