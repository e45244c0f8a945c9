import json
import subprocess

import pytest
from scenedetect import AdaptiveDetector, ContentDetector, detect

from data_curation.cli import main
from data_curation.cut_accuracy import cuts_to_ranges, f1_score
from data_curation.cuts import (
    CHECK_FRAMES,
    MAX_SKIPPED,
    CutParams,
    detect_shots,
    find_transitions,
    frame_features,
    to_shots,
)
from video.media import MediaError, ffmpeg_exe

BIKES_CUTS = [30, 76, 137, 187, 242]


def _pyscenedetect(path, detector) -> list[list[int]]:
    return cuts_to_ranges([s[0].frame_num for s in detect(str(path), detector)[1:]])


def test_bikes_hard_cuts_match_pyscenedetect_frame_exact(bikes):
    shots = detect_shots(bikes, CutParams(decode="all"))
    ours = [s for s, _ in shots.shots[1:]]
    theirs = [s for s, _ in _pyscenedetect(bikes, ContentDetector())]
    assert ours == theirs == BIKES_CUTS
    assert shots.shots[0][0] == 0 and shots.shots[-1][1] == shots.num_frames == 250


def test_montage_dissolves_and_fades_beat_pyscenedetect(montage):
    path, truth = montage
    adaptive = f1_score(_pyscenedetect(path, AdaptiveDetector()), truth)
    content = f1_score(_pyscenedetect(path, ContentDetector()), truth)
    assert adaptive["recall"] < 1.0  # the peer misses gradual transitions: the montage tests something
    for mode in ("all", "ref"):  # every frame, or every reference frame: all transitions, nothing else
        ours = f1_score(detect_shots(path, CutParams(decode=mode)).transitions, truth)
        assert ours["recall"] == 1.0 and ours["fp"] == 0, (mode, ours)
    # auto samples about one frame in four on this veryfast encode (x264's frame types vary a
    # little from build to build): still ahead of both peers
    ours = f1_score(detect_shots(path).transitions, truth)
    assert ours["f1"] >= max(adaptive["f1"], content["f1"]) and ours["f1"] >= 0.9, ours


def test_transition_frames_belong_to_no_shot(montage):
    path, truth = montage
    shots = detect_shots(path).shots
    hard = {s for s, e in truth if s == e}
    for s, e in shots:  # no shot crosses a hard cut or contains the middle of a transition
        assert not any(s < c < e for c in hard)
        assert not any(s <= (ts + te) // 2 < e for ts, te in truth if te > ts)


def test_still_clip_is_one_shot(static_and_black):
    still, _ = static_and_black
    shots = detect_shots(still)
    assert shots.shots == [[0, 50]] and shots.transitions == []


@pytest.mark.parametrize("mode", ["ref", "auto"])
def test_sparse_modes_find_the_bikes_cuts(bikes, mode):
    shots = detect_shots(bikes, CutParams(decode=mode))
    assert f1_score(shots.transitions, cuts_to_ranges(BIKES_CUTS), tol=1)["f1"] == 1.0
    for s, e in shots.transitions:  # each cut lies in the few frames given to neither shot
        assert e - s <= MAX_SKIPPED + 1


def _encode(src, dest, x264_params: str) -> str:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(src), "-c:v", "libx264", "-preset",
                    "veryfast", "-x264-params", x264_params, str(dest)], check=True)
    return str(dest)


def _pts_sets(path):
    from data_curation.cut_features import _open

    out = {}
    for skip in ("NONREF", "BIDIR"):
        c, s = _open(path, skip)
        with c:
            out[skip] = {f.pts for f in c.decode(s)}
    return out


def test_auto_skips_b_frames_only_where_exact(montage, tmp_path):
    """x264 with ref=1 never predicts a P-frame from a B-frame: auto decodes I/P frames only. With
    ref=3 and a B-pyramid (x264's medium default) P-frames do: skipping every B-frame would corrupt
    them (checked here by decoding both ways), and auto must fall back to the reference frames.
    One pass (``threads=1``); decoding in pieces: tests/data_curation/test_cut_features.py."""
    path, truth = montage
    safe = _encode(path, tmp_path / "ref1.mp4", "ref=1:bframes=3:b-pyramid=normal")
    unsafe = _encode(path, tmp_path / "ref3.mp4", "ref=3:bframes=3:b-pyramid=normal")
    for p, sparse in ((safe, "BIDIR"), (unsafe, "NONREF")):
        sets = _pts_sets(p)
        assert len(sets["BIDIR"]) < len(sets["NONREF"])  # both files have B-frames used as references
        checked = sorted(sets["NONREF"])[:CHECK_FRAMES]  # decoded both ways, kept from the exact decode
        expected = len(checked) + len([t for t in sets[sparse] if t > checked[-1]])
        got = frame_features(p, "auto", threads=1)
        assert len(got.index) == expected, (p, sparse)
        assert f1_score(to_shots(got, find_transitions(got)).transitions, truth)["f1"] >= 0.9


def test_broken_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(MediaError, match="not a readable video"):
        detect_shots(bad)


def test_cli_cuts_json(bikes, capsys):
    """``curate cuts`` in this process (a Python start-up and its imports were most of the time)."""
    code = main(["cuts", bikes, "--json", "--decode", "all"])
    got = capsys.readouterr()
    assert code == 0, got.err
    out = json.loads(got.out)
    assert out["fps"] == 25.0 and out["num_frames"] == 250
    assert [s for s, _ in out["shots"]] == [0, *BIKES_CUTS]


def test_raw_stream_without_timestamps_decodes_every_frame(tmp_path):
    """A raw H.264 elementary stream has no timestamps, so skipped frames could not be placed:
    the sparse modes fall back to decoding all, and a lavfi cut lands on the same frame."""
    raw = tmp_path / "raw.h264"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2",
                    "-f", "lavfi", "-t", "2", "-i", "mandelbrot=size=160x120:rate=25",
                    "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "libx264",
                    "-f", "h264", str(raw)], check=True)
    for mode in ("auto", "ref", "all"):
        f = frame_features(raw, mode)
        assert f.num_frames == 100 and list(f.index) == list(range(100)), mode
        assert to_shots(f, find_transitions(f)).shots == [[0, 50], [50, 100]], mode
