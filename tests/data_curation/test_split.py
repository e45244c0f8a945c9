import numpy as np

from data_curation.split import extract_clip, keyframes, plan_clips
from video.media import probe_video, read_video


def test_plan_clips_drops_short_and_splits_long():
    shots = [[0, 30], [30, 100], [100, 340]]  # 1.2 s, 2.8 s, 9.6 s at 25 fps: a 1.6 s tail
    assert plan_clips(shots, 25.0, min_s=2.0, max_s=4.0) == [(30, 100), (100, 200), (200, 300)]
    # the 55-frame tail (2.2 s) is kept when long enough; trimming shortens every shot
    assert plan_clips([[0, 255]], 25.0, 2.0, 4.0) == [(0, 100), (100, 200), (200, 255)]
    assert plan_clips([[0, 100]], 25.0, 2.0, 4.0, trim_s=0.5) == [(12, 88)]


def test_extract_stream_copy_at_keyframe_and_reencode_elsewhere(bikes, tmp_path):
    kf = set(keyframes(bikes))
    assert {0, 30, 76, 137, 187, 242} <= kf
    src = read_video(bikes)
    for start, end, method in [(76, 137, "copy"), (80, 120, "encode")]:
        path, used = extract_clip(bikes, start, end, 25.0, tmp_path / f"c{start}.mp4", kf)
        assert used == method
        assert probe_video(path)["num_frames"] == end - start
        got = read_video(path)
        err = np.abs(got[0].astype(int) - src[start].astype(int)).mean()
        assert err < 6, f"{method}: first frame differs from source frame {start} by {err}"
    assert not list(tmp_path.glob(".*partial*"))
