import numpy as np
import pytest

from eval.temporal import (
    flicker,
    frame_diff,
    motion_magnitude,
    motion_sample_indices,
    motion_samples,
    temporal_metrics,
    warping_errors,
)


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
    m = motion_magnitude(bikes_frames, fps=25)  # slots at 0 and 12.5 frames: frames 0 and 12, 0.48 s apart
    assert m > 1.0  # the bikes clip pans
    assert m == pytest.approx(motion_magnitude(bikes_frames[[0, 12]], fps=None) * 0.5 / 0.48)
    assert motion_magnitude(bikes_frames[:12], fps=25) is None  # one sample: no flow
    small = motion_samples(bikes_frames[:, :48, :112], fps=25)[0]  # enlarged as curation's samples are
    assert small.shape == (2, 64, 149)  # 112 x 64 / 48 = 149.3


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


def test_clips_too_short_for_a_score_have_none_and_the_aggregate_skips_them(bikes_frames):
    """One frame has no step (frame_diff, warp_error), two have no second difference (flicker):
    None, not 0, so the aggregate is the longer video's own score, not pulled towards perfect."""
    from eval.runner import aggregate

    one, two = temporal_metrics(bikes_frames[:1])[0], temporal_metrics(bikes_frames[:2])[0]
    assert one["frame_diff"] is None and one["warp_error"] is None and one["flicker"] is None
    assert two["flicker"] is None and two["frame_diff"] > 0 and two["warp_error"] > 0
    long = temporal_metrics(bikes_frames[:6])[0]
    agg = aggregate({"long": dict(long), "one": dict(one), "two": dict(two)})
    assert agg["flicker"] == long["flicker"]
    assert agg["frame_diff"] == pytest.approx((long["frame_diff"] + two["frame_diff"]) / 2)
    assert agg["warp_error"] == pytest.approx((long["warp_error"] + two["warp_error"]) / 2)


def _still():
    """A real photograph darkened to at most 200, so a brightness step of up to 55 never clips."""
    import skimage.data

    return (skimage.data.astronaut()[100:228, 100:228].astype(np.float64) * 200 / 255).astype(np.uint8)


@pytest.mark.parametrize("d", [5, 20])
def test_warping_error_of_a_brightness_step_is_its_size(d):
    """Closed form: a still scene brightened by d levels has zero flow (Farneback's polynomial
    fit ignores an added constant), so the error is the mean |delta| per channel: d / 255 (Lai et
    al.'s squared-L2 E_warp would be 3 (d / 255)^2)."""
    still = _still()
    step = np.stack([still, still + np.uint8(d)])
    assert warping_errors(step)[0] == pytest.approx(d / 255, rel=2e-3)


def test_warping_error_of_a_pure_translation_is_near_zero():
    """A photograph translated by 2 px per frame: the flow undoes it, leaving interpolation error
    only (far below the frame difference, and below a 1-level brightness step)."""
    import skimage.data

    photo = skimage.data.astronaut()[100:228, 100:300]
    pan = np.stack([photo[:, 2 * i : 2 * i + 128] for i in range(5)])
    assert warping_errors(pan).max() < 1 / 255 and frame_diff(pan).min() > 0.04


PAN_PX_S = 24.0  # px per second on the 128x192 window: 6 px per 0.5 s at 64 px short side


def _pan_frame(t: float) -> np.ndarray:
    """The astronaut photograph under a 128x192 window moving right at PAN_PX_S, at time ``t`` s
    (bicubic, so a frame between whole pixels is the photograph itself, not a neighbour)."""
    import cv2
    import skimage.data

    m = np.float32([[1, 0, 20 + PAN_PX_S * t], [0, 1, 100]])
    return cv2.warpAffine(skimage.data.astronaut(), m, (192, 128), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)


def test_one_pan_scores_the_same_motion_at_every_frame_rate():
    """Motion is per 0.5 s at any rate: the same 2.5 s pan at 5 to 60 fps scores within 1% of an
    independent Farneback on frames rendered at exactly 0, 0.5, ... 2.5 s (curation's parameters,
    grey at 64 px short side). Every round(fps / 2)-th frame, unscaled, scored 25 fps 4% low
    (0.48 s steps), 15 fps 7% high and 5 fps 20% low."""
    import cv2

    def small(rgb):
        return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (96, 64), interpolation=cv2.INTER_AREA)

    at_half_s = [small(_pan_frame(0.5 * k)) for k in range(6)]
    ref = np.mean([np.linalg.norm(cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0), axis=2).mean()
                   for a, b in zip(at_half_s[:-1], at_half_s[1:], strict=True)])
    assert 4 < ref < 6.5  # about the 6 px the window moves in 0.5 s
    for fps in (5, 7, 12.5, 15, 24, 25, 30, 60):
        frames = np.stack([_pan_frame(i / fps) for i in range(int(2.5 * fps) + 1)])  # 0 .. 2.5 s
        assert motion_magnitude(frames, fps) == pytest.approx(ref, rel=0.01), fps


@pytest.mark.parametrize("fps", [5, 12.5, 25])
def test_motion_samples_the_frames_curation_samples(tmp_path, fps):
    """The slot rule is copied from curation's read_clip (fractional slots, the nearest frame, a
    tie to the earlier): on the same file both take the frames of the same times."""
    from data_curation.clip_frames import read_clip
    from video.media import write_video

    n = round(3 * fps)
    path = write_video(np.stack([_pan_frame(i / fps) for i in range(n)]), tmp_path / "pan.mp4", fps=fps)
    times = read_clip(str(path), 0, n, fps).sample_times
    assert np.asarray(motion_sample_indices(n, fps)) / fps == pytest.approx(times, abs=1e-3)
