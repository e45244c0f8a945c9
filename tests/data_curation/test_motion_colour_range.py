"""Motion is measured on full-scale luma whatever the file's colour range. Farneback is not
contrast-invariant: read as coded, a video-range file's 16-235 luma scored a low-contrast pan
3.1% below its full-range copy, and ``video eval`` (full-range grey from RGB) read the
video-range file 3.2% above curation, so generated clips and training data were compared on
different scales."""

import functools
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from data_curation.clip_frames import read_clip
from data_curation.scorers import motion
from eval.inputs import read_frames
from eval.temporal import motion_magnitude
from video.media import ffmpeg_exe, probe_video

W, H, FPS, SPEED, SECONDS = 320, 240, 24, 24.0, 3.5


@functools.cache
def _texture() -> np.ndarray:
    """Blurred noise at grey levels 80-160: the low contrast where Farneback's dependence on it shows."""
    noise = np.random.default_rng(1).integers(0, 256, (320, 520, 3)).astype(np.uint8)
    full = cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 3), None, 0, 255, cv2.NORM_MINMAX)
    return (80 + full.astype(np.float32) * 80 / 255).astype(np.uint8)


def _pan(t: float) -> np.ndarray:
    m = np.float32([[1, 0, -(20 + SPEED * t)], [0, 1, -20]])
    return cv2.warpAffine(_texture(), m, (W, H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> dict[str, str]:
    """The pan as H.264 in video range (yuv420p, most encoders' default) and in full range
    (yuvj420p, as webcams and many phones write it), from the same RGB frames."""
    d = tmp_path_factory.mktemp("ranges")
    frames = np.stack([_pan(k / FPS) for k in range(int(FPS * (SECONDS + 0.5)))])
    out = {}
    for name, extra in (("video", ["-pix_fmt", "yuv420p"]),
                        ("full", ["-vf", "scale=out_range=full", "-pix_fmt", "yuvj420p"])):
        path = d / f"pan_{name}.mp4"
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                        "-s", f"{W}x{H}", "-r", str(FPS), "-i", "-", *extra, "-c:v", "libx264", "-preset",
                        "veryfast", "-crf", "10", str(path)], input=frames.tobytes(), check=True)
        out[name] = str(path)
    return out


def _curated(path: str):
    fps = probe_video(path)["fps"]
    return read_clip(path, 0, round(SECONDS * fps), fps, 2.0, 64)


def test_the_copies_are_of_two_colour_ranges(copies):
    import av

    with av.open(copies["video"]) as v, av.open(copies["full"]) as f:
        assert next(v.decode(video=0)).color_range != next(f.decode(video=0)).color_range


def test_motion_samples_are_full_scale(copies):
    """A video-range file's samples span the same levels as its full-range copy's, not 16-235's."""
    a, b = _curated(copies["video"]).sampled, _curated(copies["full"]).sampled
    assert abs(float(a.std()) - float(b.std())) < 0.02 * float(b.std())
    assert abs(float(a.mean()) - float(b.mean())) < 1.0


def test_a_video_range_file_scores_as_its_full_range_copy(copies):
    video, full = (motion.Scorer().score(_curated(copies[k]))["motion_mean"] for k in ("video", "full"))
    assert video == pytest.approx(full, rel=0.005), (video, full)


def test_eval_and_curation_agree_on_one_file(copies):
    for name, path in copies.items():
        frames, fps = read_frames(Path(path))
        curated = motion.Scorer().score(_curated(path))["motion_mean"]
        evaluated = motion_magnitude(frames[: round(SECONDS * fps)], fps)
        assert evaluated == pytest.approx(curated, rel=0.005), (name, evaluated, curated)
