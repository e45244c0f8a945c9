"""A montage is the ground truth of the cut benchmark: a build that fails (or is killed) must not
leave a wrong file under the name a later run reads."""

from __future__ import annotations

import pytest

from data_curation.montage import Segment, build_montage
from video.media import MediaError, probe_video


def test_a_failed_build_keeps_the_last_montage(tmp_path, bikes):
    path = tmp_path / "m.mp4"
    build_montage([Segment("lavfi:testsrc2", 10), Segment(bikes, 10, 0)], path, 64, 36)
    good = path.read_bytes()
    assert probe_video(path)["num_frames"] == 20

    n = probe_video(bikes)["num_frames"]
    short = [Segment("lavfi:testsrc2", 10), Segment(bikes, 40, n - 20)]  # only 20 frames left in the clip
    with pytest.raises(MediaError, match="built 30 frames, expected 50"):
        build_montage(short, path, 64, 36)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.mp4"]
