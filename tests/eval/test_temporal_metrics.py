import numpy as np
import pytest

from eval.temporal import flicker, frame_diff, motion_magnitude, temporal_metrics, warping_errors


def test_static_video_scores_zero(bikes_frames):
    static = np.repeat(bikes_frames[:1], 8, axis=0)
    s, curves = temporal_metrics(static)
    assert s["frame_diff"] == 0.0 and s["flicker"] == 0.0
    assert s["warp_error"] < 1e-4
    assert s["motion"] < 0.02  # Farneback's floor on identical frames, px
    assert len(curves["frame_diff"]) == 7


def test_shuffled_frames_score_worse(bikes_frames, shuffled):
    ordered, mixed = temporal_metrics(bikes_frames)[0], temporal_metrics(shuffled)[0]
    assert mixed["warp_error"] > 2 * ordered["warp_error"]
    assert mixed["flicker"] > 2 * ordered["flicker"]
    assert mixed["frame_diff"] > 2 * ordered["frame_diff"]


def test_motion_is_curations_scorer_at_2_fps(bikes_frames):
    m = motion_magnitude(bikes_frames, fps=25)  # every 12th frame, as curation samples 2 fps
    assert m > 1.0  # the bikes clip pans
    assert m == pytest.approx(motion_magnitude(bikes_frames[::12], fps=None))
    assert motion_magnitude(bikes_frames[:12], fps=25) is None  # one sample: no flow


def test_linear_fade_changes_frames_without_flicker():
    fade = np.stack([np.full((32, 32, 3), v, np.uint8) for v in range(40, 200, 20)])
    assert frame_diff(fade) == pytest.approx(np.full(len(fade) - 1, 20 / 255), abs=1e-6)
    assert flicker(fade) == pytest.approx(0.0, abs=1e-6)
    blink = fade.copy()
    blink[1::2] = 0
    assert flicker(blink) > 0.3


def test_warping_error_follows_a_known_shift():
    # a real photograph shifted by 3 px per frame: flow recovers it, the warp lines frames up
    import skimage.data

    photo = skimage.data.astronaut()[100:228, 100:300]
    pan = np.stack([photo[:, 3 * i : 3 * i + 128] for i in range(6)])
    assert warping_errors(pan).mean() < 0.25 * frame_diff(pan).mean()


def test_bad_shape_is_an_error():
    with pytest.raises(ValueError, match="frames must be"):
        frame_diff(np.zeros((4, 8, 8), np.uint8))
