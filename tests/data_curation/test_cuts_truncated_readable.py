"""A file cut short (moov first, its mdat cut): ``curate cuts`` stops its shots and ``num_frames``
at the frames that can be read, in every ``--decode`` mode, and says the same count as
``curate run``'s error row and ``curate probe``'s error; ``curate probe`` reports such a file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from data_curation.cli import main
from data_curation.clip_frames import read_clip
from data_curation.engine import score_source
from data_curation.probe import probe_row
from data_curation.recipe import load_recipe
from video.media import ffmpeg_exe

LISTED = 150  # 6 s at 25 fps


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    """A real H.264 mp4 of ffmpeg's test pattern (one GOP, B-frames), moov first."""
    path = tmp_path_factory.mktemp("trunc") / "whole.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=6",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)],
                   check=True, timeout=120)
    return path


def _cut(whole: Path, share: float) -> Path:
    """``whole`` cut off after ``share`` of its bytes: the index still lists every frame."""
    data = whole.read_bytes()
    path = whole.with_name(f"cut{round(share * 100)}.mp4")
    path.write_bytes(data[: int(len(data) * share)])
    return path


def _cuts(path: Path, decode: str, capsys) -> tuple[dict, str]:
    assert main(["cuts", str(path), "--json", "--decode", decode]) == 0
    got = capsys.readouterr()
    return json.loads(got.out), got.err


def test_cuts_stop_at_the_readable_frames_in_every_decode_mode(whole, tmp_path, capsys):
    half = _cut(whole, 0.5)
    found = {d: _cuts(half, d, capsys) for d in ("auto", "ref", "all")}
    readable = found["all"][0]["num_frames"]
    assert 0 < readable < LISTED
    for decode, (cuts, err) in found.items():
        # the default (sparse) modes took the container's 150 and ran their last shot to it
        assert cuts["num_frames"] == readable, (decode, cuts)
        assert cuts["shots"] and cuts["shots"][-1][1] == readable and all(e <= readable for _, e in cuts["shots"])
        assert f"truncated or damaged: {readable} of the {LISTED} frames" in err, (decode, err)
    # what a clip can hold: the last shot reads whole, and nothing past it
    start = found["auto"][0]["shots"][-1][0]
    assert len(read_clip(str(half), start, readable, 25.0).luma_mean) == readable - start
    assert len(read_clip(str(half), start, readable + 5, 25.0).luma_mean) == readable - start
    # curate run's error row counts the same frames, in the same words
    (row,) = score_source(str(half), load_recipe("quick"), tmp_path / "out")
    assert row["error"] == f"MediaError: {half}: truncated or damaged: {readable} of the {LISTED} frames its " \
                           "container lists can be read"
    assert row["error"].removeprefix("MediaError: ") in found["auto"][1]


@pytest.mark.parametrize("share", [0.5, 0.97])
def test_probe_reports_a_file_cut_short_as_run_does(whole, tmp_path, capsys, share):
    # 0.97: the file still holds all but 7 packets (within the 5% tolerance), but the decoder
    # loses the one cut in two and those it held back for reordering: 140 frames, over it
    cut = _cut(whole, share)
    (run_row,) = score_source(str(cut), load_recipe("quick"), tmp_path / "out")
    assert run_row["error"] and "truncated or damaged" in run_row["error"]
    assert main(["probe", str(cut)]) == 1
    row = json.loads(capsys.readouterr().out)
    assert row["num_frames"] == LISTED and row["codec"] == "h264"  # what it is stays shown
    assert f"MediaError: {row['error']}" == run_row["error"]


def test_probe_of_a_whole_file_has_no_error(whole, capsys):
    assert probe_row(whole)["error"] is None
    assert main(["probe", str(whole)]) == 0
    capsys.readouterr()
