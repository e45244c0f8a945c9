"""What a new user meets first in ``curate``: every argument explained in ``--help``, ``--set``
that leaves SRC alone, ``filter`` taking the run folder as ``report`` does, warnings as one
line, and a SRC without videos that writes nothing. ``main()`` runs in process (fast)."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from data_curation.cli import main, parser, split_set_words
from data_curation.engine import run


@pytest.fixture
def done(src, tmp_path) -> Path:
    """A finished quick run: OUT with its manifest."""
    out = tmp_path / "out"
    assert run([str(src)], out, "quick", workers=0, progress=False)["clips"] == 1
    return out


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_subcommand_and_argument_is_explained():
    subs = _subparsers(parser())
    assert set(subs) == {"probe", "cuts", "run", "filter", "report"}
    for name, sp in subs.items():
        assert sp.description, name
        for a in sp._actions:
            assert a.help and a.help != argparse.SUPPRESS, (name, a.dest)


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert e.value.code == 0 and "(default: quick)" in text and "--set KEY=VALUE" in text
    with pytest.raises(SystemExit):
        main(["cuts", "--help"])
    assert "(default: auto)" in " ".join(capsys.readouterr().out.split())


def test_split_set_words():
    assert split_set_words(["--set", "a=1", "b.c=2", "src", "d=3"]) == ["--set", "a=1", "--set", "b.c=2", "src", "d=3"]
    # a path is no override, whatever '=' it holds; '--' ends the options
    assert split_set_words(["--set", "a=1", "raw/x=1.mp4"]) == ["--set", "a=1", "raw/x=1.mp4"]
    assert split_set_words(["--set", "a=1", "--", "b=2"]) == ["--set", "a=1", "--", "b=2"]
    assert split_set_words(["--set", "--", "b=2"]) == ["--set", "--", "b=2"]  # argparse's error: no value


@pytest.mark.parametrize("sets", [["--set", "split.min_s=1", "--set", "split.max_s=1"],
                                  ["--set", "split.min_s=1", "split.max_s=1"]], ids=["repeated", "several-words"])
def test_set_before_src_leaves_src_alone(src, tmp_path, capsys, sets):
    """``--out O --set k=v SRC``: SRC is SRC, both overrides apply. A 3 s shot at 10 fps in
    clips of 1 s is [0, 10), [10, 20), [20, 30)."""
    out = tmp_path / "o"
    assert main(["run", "--out", str(out), "--workers", "0", "--quiet", *sets, str(src)]) == 0, capsys.readouterr().err
    t = pq.read_table(out / "manifest.parquet").to_pydict()
    assert sorted(zip(t["start_frame"], t["end_frame"], strict=True)) == [(0, 10), (10, 20), (20, 30)]


def test_filter_takes_the_run_folder(done, tmp_path, capsys):
    motion = pq.read_table(done / "manifest.parquet").column("motion_mean").to_pylist()[0]
    assert motion > 0.05  # kept by quick's floor
    assert main(["filter", str(done), "--recipe", "quick", "--set", f"rules=[{{column: motion_mean, min: {motion * 2}}}]"]) == 0
    assert json.loads(capsys.readouterr().out)["kept"] == 0
    assert pq.read_table(done / "manifest.parquet").column("keep").to_pylist() == [False]
    (tmp_path / "nomanifest").mkdir()
    assert main(["filter", str(tmp_path / "nomanifest"), "--recipe", "quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'nomanifest' / 'manifest.parquet'} not found" in err, err


def test_warnings_are_one_line_and_restored(done, capsys):
    """svd_lvd's rules on scores a quick run has not (aesthetic, clip_score, text_area): one
    ``warning:`` line each, no file:line or source line; the caller's showwarning is back after."""
    before = warnings.showwarning
    assert main(["filter", str(done / "manifest.parquet"), "--recipe", "svd_lvd"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert sorted(err) == sorted(f"warning: recipe rule on column {c!r} not applied: the manifest has no such column "
                                 "(its sources were not scored with the scorer that makes it)"
                                 for c in ("aesthetic", "clip_score", "text_area"))
    assert warnings.showwarning is before


def test_no_videos_writes_nothing(done, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["run", str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--workers", "0", "--quiet"]) == 1
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1 and "no videos found" in cap.err, cap
    assert not (tmp_path / "o").exists()
    # a wrong SRC given with a finished run's OUT leaves its manifest as it was
    manifest = (done / "manifest.parquet").read_bytes()
    assert main(["run", str(tmp_path / "empty"), "--out", str(done), "--workers", "0", "--quiet"]) == 1
    assert (done / "manifest.parquet").read_bytes() == manifest
