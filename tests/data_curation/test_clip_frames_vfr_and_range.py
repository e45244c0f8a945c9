"""Scores that must not depend on a source's frame timing or colour range: a variable-rate pan
moves as fast as its constant-rate twin (samples and the still lag go by time, not by frame
count), and a full-range (JPEG) copy of a picture is as sharp, bright and contrasty as its
video-range twin."""

import functools
import subprocess

import av
import cv2
import numpy as np
import pytest
import skimage.data

from data_curation.clip_frames import read_clip
from data_curation.scorers import black_frozen, brightness, motion, sharpness
from video.media import ffmpeg_exe, probe_video

W, H = 320, 240


def _cycle(runs: list[tuple[int, int]], n: int) -> tuple[str, np.ndarray]:
    """Frame times repeating a cycle of ``runs`` (count, duration ms): an ffmpeg ``setpts``
    expression of the frame number N (ms) and the first ``n`` times (ms) it gives."""
    k, span = sum(c for c, _ in runs), sum(c * d for c, d in runs)
    first, begin, expr = k, span, None  # built from the cycle's last run back to its first
    for c, d in reversed(runs):
        first, begin = first - c, begin - c * d
        this = f"{begin}+(mod(N,{k})-{first})*{d}"
        expr = this if expr is None else f"if(lt(mod(N,{k}),{first + c}),{this},{expr})"
    times, t = [], 0
    while len(times) < n:
        for c, d in runs:
            for _ in range(c):
                times.append(t)
                t += d
    return f"{span}*floor(N/{k})+{expr}", np.array(times[:n])


def _timed_video(path, runs, seconds, render):
    """An H.264 MKV (millisecond time base) whose frames, ``render(t)`` for t in seconds, are shown
    at the times of :func:`_cycle` (raw frames through ffmpeg's ``setpts``)."""
    mean_ms = sum(c * d for c, d in runs) / sum(c for c, _ in runs)
    expr, ms = _cycle(runs, round(seconds * 1000 / mean_ms))
    frames = np.stack([render(t) for t in ms / 1000])
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", f"{W}x{H}", "-r", "25", "-i", "-", "-vf", f"settb=1/1000,setpts='{expr}'",
                    "-fps_mode", "passthrough", "-enc_time_base", "1:1000", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "12", "-pix_fmt", "yuv420p", str(path)],
                   input=frames.tobytes(), check=True)
    return path


def _read(path, seconds):
    """The clip of the first ``seconds`` of ``path`` at its probed rate, as curate reads it."""
    fps = probe_video(path)["fps"]
    return read_clip(str(path), 0, round(seconds * fps), fps)


def test_cycle_gives_the_times_ffmpeg_writes(tmp_path):
    black = np.zeros((H, W, 3), np.uint8)
    p = _timed_video(tmp_path / "burst.mkv", [(3, 10), (1, 130)], 0.7, lambda t: black)
    with av.open(str(p)) as c:
        got = [round(float(f.pts * f.time_base) * 1000) for f in c.decode(video=0)]
    assert got == [0, 10, 20, 30, 160, 170, 180, 190, 320, 330, 340, 350, 480, 490, 500, 510, 640, 650]


SPEED = 20.0  # px/s: over one 2 fps sample step (0.5 s) 10 px, 2.67 px at a 64 px short side


@functools.cache
def _texture() -> np.ndarray:
    """Blurred noise: texture everywhere, where Farneback finds a pan's closed-form speed within
    1% (on a photo's flat table it found 6% less)."""
    noise = np.random.default_rng(0).integers(0, 256, (300, 500, 3)).astype(np.uint8)
    tex = cv2.GaussianBlur(noise, (0, 0), 3)
    return cv2.normalize(tex, None, 0, 255, cv2.NORM_MINMAX)


def _pan(t: float) -> np.ndarray:
    """The window at ``t`` s of a pan across :func:`_texture` at :data:`SPEED`."""
    m = np.float32([[1, 0, -(20 + SPEED * t)], [0, 1, -20]])
    return cv2.warpAffine(_texture(), m, (W, H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope="module")
def pans(tmp_path_factory):
    d = tmp_path_factory.mktemp("pans")
    return {name: _timed_video(d / f"{name.replace('/', '_')}.mkv", runs, 3.7, _pan) for name, runs in {
        "constant": [(1, 40)],
        "jitter": [(1, 25), (1, 45), (1, 35), (1, 65)],  # of 88 slots (40 ms) 9 hold two frames, 14 none
        "bursts": [(3, 10), (1, 140)],  # four frames in 30 ms, then a 140 ms gap: 27 shared, 50 empty
        "60/30": [(5, 17), (5, 33)],  # a phone switching rates, 140 frames: 31 shared, 25 empty
    }.items()}


def test_a_variable_rate_pan_moves_as_its_constant_rate_twin(pans):
    """The same 20 px/s pan at 25 fps and at variable frame times (each file declares 25 fps, as
    probed): 2 fps samples are the frames nearest every 12.5th 25 fps slot, one each.
    Sampling every frame numbered on a twelfth slot took 7 to 23 samples and scored the bursty
    and 60/30 pans 64% and 30% low."""
    expected = SPEED * 0.5 * 64 / H  # px of the 64 px frame per 0.5 s
    clips = {name: _read(p, 3.5) for name, p in pans.items()}
    scores = {name: motion.Scorer().score(c)["motion_mean"] for name, c in clips.items()}
    assert scores["constant"] == pytest.approx(expected, rel=0.03)
    for name in ("jitter", "bursts", "60/30"):
        assert scores[name] == pytest.approx(scores["constant"], rel=0.03), scores
    for c in clips.values():
        assert (c.fps, c.sample_fps, len(c.sampled)) == (25.0, 2.0, 8)  # slots 0, 12.5, ..., 87.5 of 88
    assert all(black_frozen.Scorer().score(_read(p, 3.5))["frozen_fraction"] == 0.0 for p in pans.values())


@pytest.fixture(scope="module")
def ramp(tmp_path_factory):
    """Flat grey rising 40 levels a second from 30, shown 1 s at 50 fps then 1 s at 10 fps, for
    4 s (the file declares 25 fps)."""
    return _timed_video(tmp_path_factory.mktemp("ramp") / "ramp.mkv", [(50, 20), (10, 100)], 4.0,
                        lambda t: np.full((H, W, 3), round(30 + 40 * t), np.uint8))


def test_the_still_lag_is_half_a_second_at_any_local_frame_rate(ramp):
    """Every frame's change from the frame on screen half a second before is 20 levels (17.2 as
    video-range luma). Counting 12 frames back looked 0.24 s back at 50 fps and 1.2 s at 10 fps."""
    c = _read(ramp, 4.0)
    assert len(c.luma_mean) == 120 and len(c.still_diff) > 90
    expected = 20 * 219 / 255 / 255
    # 0.44-0.62 s: frame numbers are 40 ms slots, and at 10 fps the frame on screen half a
    # second before came up to 100 ms earlier; +-1 level of rounding
    assert np.all((c.still_diff > 0.8 * expected) & (c.still_diff < 1.35 * expected)), c.still_diff * 255


def test_key_frames_are_the_first_middle_and_last_shown(ramp):
    """Slots 0, 49 and 99 of the 25 fps grid: 49 and 99 fall in 10 fps stretches with no frame
    numbered on them, and were padded with copies of the first. Now the first frame at or after
    a slot (2.0 s), and for the last the range's last frame (3.9 s; the next is past the range)."""
    c = _read(ramp, 4.0)
    assert [k.mean() for k in c.key_luma] == pytest.approx([30, 110, 186], abs=1.5)  # full scale: 30 + 40 t
    assert [k.mean() for k in c.keys] == pytest.approx([30, 110, 186], abs=1.5)


def _ffmpeg_still(path, image: np.ndarray, pix_fmt: str, *opts: str):
    """Five frames of ``image`` (RGB) encoded losslessly in ``pix_fmt`` (ffmpeg converts the colours)."""
    h, w = image.shape[:2]
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", f"{w}x{h}", "-r", "25", "-i", "-", *opts, "-pix_fmt", pix_fmt, str(path)],
                   input=np.stack([image] * 5).tobytes(), check=True)
    return path


X264 = ("-c:v", "libx264", "-qp", "0")
RANGES = {  # how full range reaches the decoder: a yuvj format (H.264 exports it so), or a flag (VP9)
    "video": ("yuv420p", *X264),
    "full_j": ("yuvj420p", *X264),
    "full_flag": ("yuv420p", "-color_range", "pc", "-c:v", "libvpx-vp9", "-lossless", "1", "-cpu-used", "8"),
}


def test_full_and_video_range_copies_score_alike(tmp_path):
    """The same photo in video range (luma 16..235) and full range (0..255): sharpness, brightness
    and contrast within 2%, brightness the photo's grey mean. As coded, the full-range copies scored
    (255/219)^2 = 1.36x sharper and 1.16x more contrasty."""
    photo = np.ascontiguousarray(skimage.data.coffee()[40:280, 100:420])
    out = {}
    for name, (pix, *opts) in RANGES.items():
        c = read_clip(str(_ffmpeg_still(tmp_path / f"{name}.mkv", photo, pix, *opts)), 0, 5, 25.0)
        out[name] = {**sharpness.Scorer().score(c), **brightness.Scorer().score(c)}
    for name in ("full_j", "full_flag"):
        for k in ("sharpness", "brightness", "contrast"):
            assert out[name][k] == pytest.approx(out["video"][k], rel=0.02), (name, k, out)
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    assert out["video"]["brightness"] == pytest.approx(grey.mean() / 255, abs=0.005)
    assert out["video"]["contrast"] == pytest.approx(grey.std() / 255, rel=0.05)


@pytest.mark.parametrize("level, black", [(0, True), (8, True), (20, False)])
def test_black_frames_are_judged_alike_in_either_range(tmp_path, level, black):
    """Flat grey at RGB level 0, 8 and 20 of 255: black (or not) in both ranges, as video-range
    sources always were (luma as coded < 25.5). Full range counted level 20 as black."""
    grey = np.full((120, 160, 3), level, np.uint8)
    for name, (pix, *opts) in RANGES.items():
        c = read_clip(str(_ffmpeg_still(tmp_path / f"{name}.mkv", grey, pix, *opts)), 0, 5, 25.0)
        assert black_frozen.Scorer().score(c)["black_fraction"] == (1.0 if black else 0.0), name
        assert brightness.Scorer().score(c)["brightness"] == pytest.approx(level / 255, abs=0.006), name
