import json
import subprocess
import sys

import pytest
from scenedetect import AdaptiveDetector, ContentDetector, detect

from data_curation.cut_accuracy import cuts_to_ranges, f1_score
from data_curation.cuts import CutParams, detect_shots
from video.media import MediaError

BIKES_CUTS = [30, 76, 137, 187, 242]


def _pyscenedetect(path, detector) -> list[list[int]]:
    return cuts_to_ranges([s[0].frame_num for s in detect(str(path), detector)[1:]])


def test_bikes_hard_cuts_match_pyscenedetect_frame_exact(bikes):
    shots = detect_shots(bikes)
    ours = [s for s, _ in shots.shots[1:]]
    theirs = [s for s, _ in _pyscenedetect(bikes, ContentDetector())]
    assert ours == theirs == BIKES_CUTS
    assert shots.shots[0][0] == 0 and shots.shots[-1][1] == shots.num_frames == 250


def test_montage_dissolves_and_fades_beat_pyscenedetect(montage):
    path, truth = montage
    ours = f1_score(detect_shots(path).transitions, truth)
    adaptive = f1_score(_pyscenedetect(path, AdaptiveDetector()), truth)
    content = f1_score(_pyscenedetect(path, ContentDetector()), truth)
    assert ours["f1"] >= max(adaptive["f1"], content["f1"])
    assert ours["recall"] == 1.0 and ours["fp"] == 0, ours
    assert adaptive["recall"] < 1.0  # the peer misses gradual transitions: the montage tests something


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


def test_ref_mode_finds_the_bikes_cuts(bikes):
    shots = detect_shots(bikes, CutParams(decode="ref"))
    assert f1_score(shots.transitions, cuts_to_ranges(BIKES_CUTS), tol=1)["f1"] == 1.0


def test_broken_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(MediaError, match="not a readable video"):
        detect_shots(bad)


def test_cli_cuts_json(bikes):
    p = subprocess.run([sys.executable, "-m", "data_curation.cli", "cuts", bikes, "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["fps"] == 25.0 and out["num_frames"] == 250
    assert [s for s, _ in out["shots"]] == [0, *BIKES_CUTS]
