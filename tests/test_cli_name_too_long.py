"""A name longer than the file system allows (a --model of 300 characters, a pasted prompt
given where a path goes) was an OSError traceback ("[Errno 36] File name too long") from the
first ``Path.exists()`` that met it; it is one line and exit 2, as other bad input."""

import pytest

from video.cli import main

LONG = "a" * 300


@pytest.mark.parametrize("argv", [["img2vid", "--model", LONG, "--output", "x.mp4"],
                                  ["txt2vid", "--model", LONG, "--output", "x.mp4"],
                                  ["info", LONG]])
def test_a_name_too_long_is_one_line(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {'a' * 60}...: a file name longer than the file system allows (300 characters)"], err
