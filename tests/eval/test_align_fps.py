"""Frame rates in an evaluation: a generated clip and its reference at different rates are
compared at the same moments where the rates allow it exactly, and said otherwise; the
per-step temporal scores depend on the rate, as documented, and a set mixing rates is said."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import eval.temporal
from eval.inputs import align, load_video, mixed_fps_note
from eval.metrics import psnr
from eval.temporal import temporal_metrics


def moving(n: int, h: int = 48, w: int = 64) -> np.ndarray:
    """Frame i: a grey ramp with a bar at column 2 i, so every frame is different."""
    frames = np.stack([np.full((h, w, 3), 3 * i, np.uint8) for i in range(n)])
    for i in range(n):
        frames[i, :, (2 * i) % w : (2 * i) % w + 4] = 255
    return frames


def write(frames: np.ndarray, path, fps: float):
    from video.media import write_video

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*--crf 0 is lossless", category=UserWarning)
        write_video(frames, path, fps=fps, crf=0)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """The same 3 s as real files: 72 frames at 24 fps and every third of them at 8 fps."""
    d = tmp_path_factory.mktemp("fps")
    f24 = moving(72)
    return load_video(write(f24[::3], d / "slow.mp4", 8)), load_video(write(f24, d / "fast.mp4", 24))


@pytest.mark.parametrize("gen_is_slow", [True, False])
def test_whole_multiple_rates_compare_the_same_moments(clips, gen_is_slow):
    slow, fast = clips
    assert (slow.fps, fast.fps) == (8, 24)
    gen, ref = (slow, fast) if gen_is_slow else (fast, slow)
    g, r, notes = align(gen.frames, ref.frames, gen.fps, ref.fps)
    assert len(g) == len(r) == 24
    assert psnr(g, r) > 45  # the same frames (lossless files): by index it was the first second, ~17 dB
    side = "reference" if gen_is_slow else "generated"
    assert notes == [f"generated {gen.fps:g} fps, reference {ref.fps:g} fps: one {side} frame in 3 compared "
                     "(the same moments)"]


def test_other_rates_take_the_nearest_frame_in_time_and_say_so():
    """24 against 25 fps: the reference frame nearest each generated frame's time, as training
    samples a clip at its data.fps (``round(i * 25 / 24)``: frame 12 is reference frame 13)."""
    g, r, notes = align(moving(24), moving(25), 24.0, 25.0)
    assert len(g) == len(r) == 24
    assert (r == moving(25)[[round(i * 25 / 24) for i in range(24)]]).all()
    assert notes == ["generated 24 fps, reference 25 fps: the reference frame nearest each generated frame's time "
                     "compared (the rates are not whole multiples: within half a frame)"]


@pytest.mark.parametrize("fps", [(30000 / 1001, 30000 / 1001), (24.0, None), (None, 24.0), (None, None)])
def test_same_or_unknown_rates_say_nothing(fps):
    g, r, notes = align(moving(6), moving(6), *fps)
    assert len(g) == 6 and (g == r).all() and notes == []


def test_ntsc_and_round_rates_differ():
    assert "the rates are not whole multiples" in align(moving(6), moving(6), 30000 / 1001, 30.0)[2][0]


def test_temporal_scores_depend_on_fps_as_documented(bikes_frames):
    """The same footage at a third of the rate: frame_diff, flicker and warp_error grow, motion
    (resampled to 2 fps) does not. The module's notes say so."""
    fast, _ = temporal_metrics(bikes_frames, 25.0)
    slow, _ = temporal_metrics(bikes_frames[::3], 25.0 / 3)
    for k in ("frame_diff", "flicker", "warp_error"):
        assert slow[k] > 1.5 * fast[k], k
    assert slow["motion"] == pytest.approx(fast["motion"])
    doc = " ".join(eval.temporal.__doc__.split())
    assert "per frame step, not per second: they depend on the frame rate" in doc


def test_a_set_mixing_rates_is_said():
    note = mixed_fps_note({"a": 8.0, "b": 24.0, "c": None, "d": 8.0})
    assert note == ("videos at different frame rates (8 fps: a, d; 24 fps: b): frame_diff, flicker and "
                    "warp_error are per frame step and not comparable across rates (motion is)")
    assert mixed_fps_note({"a": 24.0, "b": 24.0, "c": None}) is None
    assert mixed_fps_note({}) is None


def test_video_eval_compares_the_same_moments_and_says_mixed_rates(clips, tmp_path):
    """Through ``evaluate``: an 8 fps clip against its 24 fps reference scores as the same
    frames (it scored ~17 dB, the first second against all 3 s), the report's strip shows the
    frames compared, and a folder of both rates gets the mixed-rates note."""
    import shutil

    from eval.runner import evaluate

    slow, fast = clips
    res = evaluate(slow.path, reference=fast.path, out=tmp_path / "pair")
    v = next(iter(res["videos"].values()))
    assert v["psnr"] > 45 and v["frames"] == 24
    assert any("one reference frame in 3 compared" in n for n in res["notes"])
    both = tmp_path / "both"
    both.mkdir()
    for c in clips:
        shutil.copy(c.path, both / Path(c.path).name)
    res = evaluate(both, out=tmp_path / "set")
    assert any(n.startswith("videos at different frame rates (8 fps: slow; 24 fps: fast)") for n in res["notes"])
