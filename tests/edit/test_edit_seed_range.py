"""--seed on the editing commands: a seed torch refuses is one line before any model loads (it
was a traceback, "Overflow when unpacking long long", after the load), and -1 draws a random
seed that is printed, as img2vid and txt2vid do (video.flags.seed_for)."""

import re

import pytest

from video.cli import main
from video.media import write_video

HUGE = "99999999999999999999"


@pytest.fixture(scope="module")
def src(clip, tmp_path_factory):
    return write_video(clip[:3, :32, :32], tmp_path_factory.mktemp("seed") / "src.mp4", fps=8)


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["upscale", "{src}", "--model", "bicubic", "--refine", "tiny", "--steps", "1"],
    ["edit", "inpaint", "--model", "tiny", "--video", "{src}", "--box", "0,0,16,16", "--steps", "1"],
])
def test_a_seed_torch_refuses_is_one_line_before_the_load(argv, src, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    code, err = _run([a.format(src=src) for a in argv] + ["--seed", HUGE, "--output", out], capsys)
    assert code == 2, err
    assert "Traceback" not in err and "random weights" not in err  # refused before the model was built
    assert [ln for ln in err.splitlines() if ln.startswith("error:")][0].count("--seed") == 1, err
    assert not out.exists()


def test_seed_minus_one_is_random_and_printed(src, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    code, err = _run(["upscale", src, "--model", "bicubic", "--refine", "tiny", "--steps", "1", "--frames", "2",
                      "--seed", "-1", "--output", out], capsys)
    assert code == 0, err
    m = re.search(r"seed: (\d+) \(random", err)
    assert m and 0 <= int(m.group(1)) < 2**32, err
