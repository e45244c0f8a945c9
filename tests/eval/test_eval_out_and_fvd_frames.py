"""``video eval``'s summary line joins paths (``--out eval_out/`` printed ``eval_out//metrics.json``)
and says "1 video"; ``--fvd-frames`` below 1 is refused also when no FVD weights are given (it
was taken silently); ``--reference`` says it takes a file too (a single file always worked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from video.media import write_video


@pytest.fixture
def one_clip(tmp_path, bikes_frames) -> Path:
    return write_video(bikes_frames[:4], tmp_path / "gen.mp4", fps=7)


def test_out_with_a_trailing_slash_prints_clean_paths(tmp_path, one_clip, cli):
    p = cli("eval", "gen.mp4", "--reference", "gen.mp4", "--out", "eval_out/", "--device", "cpu", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    line = p.stdout.strip().splitlines()[-1]
    assert line.startswith("evaluated 1 video -> eval_out/metrics.json, eval_out/report.html"), line
    assert "//" not in line and (tmp_path / "eval_out" / "metrics.json").is_file()


@pytest.mark.parametrize("n", ["-5", "0"])
def test_fvd_frames_below_1_is_refused_without_fvd_weights(tmp_path, one_clip, cli, n):
    p = cli("eval", "gen.mp4", "--fvd-frames", n, "--out", "o", "--device", "cpu", cwd=tmp_path)
    assert p.returncode == 2 and p.errors == [f"error: --fvd-frames must be at least 1, got {n}"], p.stderr
    assert not (tmp_path / "o").exists()


def test_reference_help_says_file_or_folder():
    from eval.cli import EVAL_FLAGS

    assert EVAL_FLAGS["--reference"][1].startswith("a reference video file or a folder of them")
