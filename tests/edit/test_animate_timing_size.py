"""``video animate`` keeps the pose video's timing and pixel shape, pairs its other videos with
the pose video by time, and checks the output size before the weights load:

- a variable-rate pose video was written at evenly spaced times while its audio was kept (the
  picture drifted from the sound), and an anamorphic one (SAR 32:27) lost its pixel shape;
- a 25 fps background (or 16 fps face, or mask) under a 12 fps pose was paired frame by frame:
  it played at half speed, and its audio was dropped;
- ``--width 100`` and an 8x8 pose video were refused only after the weights loaded (minutes
  with a real Wan-Animate folder), the latter as "got 0x0".

Inputs are made here with ffmpeg's lavfi sources and scikit-image photos; the model is the
built-in tiny Wan-Animate, saved once to a folder (building it is the slow part)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from video.media import ffmpeg_exe, probe_video, write_video
from video.media.read import read_video_timed
from video.runtime.img2vid import InputError

POSE_TIMES = [0.0, 4 / 30, 8 / 30, 9 / 30, 10 / 30, 11 / 30]  # a variable-rate clip: slow, then fast


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """``--model tiny`` saved once: a folder loads in under a second, the built-in builds each run."""
    from video.edit.animate import build_tiny_animate

    return build_tiny_animate(tmp_path_factory.mktemp("animate") / "tiny-animate")


def _ffmpeg(*args) -> None:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True)


def _with_sine(video, out, seconds: float) -> None:
    """``video`` with a sine tone of ``seconds`` as its audio (AAC), the picture copied."""
    _ffmpeg("-i", video, "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:v", "copy",
            "-c:a", "aac", out)


def _char(path) -> None:
    import skimage.data

    Image.fromarray(skimage.data.chelsea()[:120, 100:220]).save(path)


def _grey_clip(n: int, size: int = 16) -> np.ndarray:
    """Frame k all grey at level 10 k + 5: which frame of the clip one is, after lossy coding."""
    return np.repeat((10 * np.arange(n) + 5).astype(np.uint8), size * size * 3).reshape(n, size, size, 3)


def _frame_numbers(frames: np.ndarray) -> list[int]:
    return [int(round((float(f.mean()) - 5) / 10)) for f in frames]


def test_vfr_anamorphic_pose_keeps_its_frame_times_and_pixel_shape(tiny_folder, tmp_path, cli):
    vf = "setpts='(if(lt(N,3),N*4,N+6))/(30*TB)',setsar=32/27"  # frames at 0, 4, 8, 9, 10, 11 thirtieths
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=16x16:rate=30:duration=0.2", "-f", "lavfi", "-i",
            "sine=frequency=440:duration=0.5", "-vf", vf, "-fps_mode", "vfr", "-c:v", "libx264", "-pix_fmt",
            "yuv420p", "-c:a", "aac", tmp_path / "pose.mp4")
    assert np.allclose(read_video_timed(tmp_path / "pose.mp4")[1], POSE_TIMES, atol=1e-3)
    assert probe_video(tmp_path / "pose.mp4")["sar"] == "32:27"
    _char(tmp_path / "char.png")
    p = cli("animate", "--model", tiny_folder, "--image", "char.png", "--pose", "pose.mp4", "--face", "pose.mp4",
            "--steps", "1", "-o", "out.mp4", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "out.mp4"
    assert np.allclose(read_video_timed(out)[1], POSE_TIMES, atol=2e-3)  # were evenly spaced, 0.1 s apart
    assert probe_video(out)["sar"] == "32:27"  # was square
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1  # the pose video's sound, now in step with the picture


def test_other_rates_are_matched_to_the_pose_frames_by_time(tmp_path):
    """A 20 fps background and a 16 fps face under a 12 fps pose (rates with no tie between two
    frames): each pose frame gets the frame nearest its time, not the frame of its number; a
    folder has no timing and pairs frame by frame."""
    from video.edit.animate_cli import match_to_pose
    from video.edit.mask import load_frames_timed, nearest_frames

    for name, n, fps in (("pose", 10, 12), ("face", 14, 16), ("bg", 21, 20)):
        write_video(_grey_clip(n), tmp_path / f"{name}.mp4", fps=fps)
    pose, pose_times = load_frames_timed(tmp_path / "pose.mp4")
    for name, fps in (("face", 16), ("bg", 20)):
        matched = match_to_pose(*load_frames_timed(tmp_path / f"{name}.mp4"), pose_times, len(pose), name)
        assert _frame_numbers(matched) == [int(np.floor(i * fps / 12 + 0.5)) for i in range(10)]
    (tmp_path / "bgdir").mkdir()
    for k, f in enumerate(_grey_clip(21)):
        Image.fromarray(f).save(tmp_path / "bgdir" / f"{k:02d}.png")
    assert _frame_numbers(match_to_pose(*load_frames_timed(tmp_path / "bgdir"), pose_times, 10, "bg")) == \
        list(range(10))
    # variable rate: the frame on screen nearest each time; past the last frame (but before it ends), the last
    assert nearest_frames(np.array(POSE_TIMES), np.arange(12) / 30).tolist() == [0, 4, 8, 9, 10, 11]
    assert nearest_frames(np.array([0.0, 0.39, 0.41]), np.arange(10) / 25).tolist() == [0, 9, 9]


def test_a_background_shorter_than_the_pose_is_refused_before_the_weights_load(tmp_path, cli):
    """10 frames at 25 fps under 10 at 12 fps: as many frames, half the time (it was played at
    half speed)."""
    write_video(_grey_clip(10), tmp_path / "pose.mp4", fps=12)
    write_video(_grey_clip(10), tmp_path / "bg.mp4", fps=25)
    _char(tmp_path / "char.png")
    p = cli("animate", "--model", "tiny", "--image", "char.png", "--pose", "pose.mp4", "--face", "pose.mp4",
            "--mode", "replace", "--background", "bg.mp4", "--mask", "bg.mp4", "-o", "out.mp4", cwd=tmp_path)
    assert p.returncode == 2 and p.errors == [
        "error: the background video lasts 0.40 s (10 frames), the pose video 0.83 s (10 frames): their frames are "
        "matched by time, so give a background video as long as the pose video"], p.stderr
    assert "random weights" not in p.stderr  # nothing was loaded


def test_replace_keeps_the_sound_of_a_background_at_another_rate(tiny_folder, tmp_path, cli):
    """Matched to the pose's times, a 25 fps background's sound is in step with a 12 fps
    output: it is kept (it was dropped: "the output is at 12 fps, the input at 25")."""
    write_video(_grey_clip(5), tmp_path / "pose.mp4", fps=12)
    write_video(_grey_clip(11), tmp_path / "bg_silent.mp4", fps=25)
    _with_sine(tmp_path / "bg_silent.mp4", tmp_path / "bg.mp4", 11 / 25)
    write_video(_grey_clip(11), tmp_path / "mask.mp4", fps=25)
    _char(tmp_path / "char.png")
    p = cli("animate", "--model", tiny_folder, "--image", "char.png", "--pose", "pose.mp4", "--face", "pose.mp4",
            "--mode", "replace", "--background", "bg.mp4", "--mask", "mask.mp4", "--steps", "1", "-o", "out.mp4",
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "audio was not kept" not in p.stderr
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert c.streams.video[0].frames == 5
        assert [round(float(a.duration * a.time_base), 1) for a in c.streams.audio] == [round(5 / 12, 1)]


@pytest.mark.parametrize(("flags", "error"), [
    (["--width", "100"], "--width must be a multiple of 16; got 100 (try 96 or 112)"),
    (["--height", "8"], "--height must be a multiple of 16; got 8 (try 16)"),
])
def test_a_bad_size_is_refused_before_the_weights_load(flags, error, tmp_path, cli):
    write_video(_grey_clip(5, 32), tmp_path / "pose.mp4", fps=12)
    _char(tmp_path / "char.png")
    p = cli("animate", "--model", "tiny", "--image", "char.png", "--pose", "pose.mp4", "--face", "pose.mp4", *flags,
            "-o", "out.mp4", cwd=tmp_path)
    assert p.returncode == 2 and p.errors == [f"error: {error}"], p.stderr
    assert "random weights" not in p.stderr  # nothing was loaded


def test_a_pose_video_under_16_pixels_says_so_before_the_weights_load(tiny_folder, tmp_path, cli):
    """The output's size is the pose video's, rounded down to a multiple of 16: none for 8x8
    (it said "got 0x0", after loading)."""
    from video.edit.animate import Animator
    from video.runtime.img2vid import InputError

    write_video(_grey_clip(5, 8), tmp_path / "pose.mp4", fps=12)
    _char(tmp_path / "char.png")
    argv = ["animate", "--model", "tiny", "--image", "char.png", "--pose", "pose.mp4", "--face", "pose.mp4",
            "-o", "out.mp4"]
    p = cli(*argv, cwd=tmp_path)
    assert p.returncode == 2 and p.errors == [
        "error: the pose video is 8x8: the output takes its size rounded down to a multiple of 16, none here; give "
        "--height and --width (multiples of 16), or a larger pose video"], p.stderr
    assert "random weights" not in p.stderr
    p = cli(*argv, "--width", "16", cwd=tmp_path)  # the height is still the pose video's
    assert p.returncode == 2 and "the pose video is 8x8" in p.errors[0], p.stderr
    # the Python API says the same, not "got 0x0"
    with pytest.raises(InputError, match="the pose video is 8x8: .* give height and width"):
        Animator.from_pretrained(tiny_folder)(Image.open(tmp_path / "char.png"), _grey_clip(5, 8), _grey_clip(5, 8))


@pytest.fixture
def decoded(monkeypatch) -> dict[str, list[int]]:
    """How many frames each video file's reads decoded (name -> one count a read): a spy around
    the real reader that :func:`video.edit.frames.load_frames_timed` calls, nothing replaced."""
    import video.edit.frames as mask_module

    counts: dict[str, list[int]] = {}
    real = mask_module.read_video_timed

    def counted(path, max_frames=None, **kw):
        frames, times = real(path, max_frames, **kw)
        counts.setdefault(Path(path).name, []).append(len(frames))
        return frames, times

    monkeypatch.setattr(mask_module, "read_video_timed", counted)
    return counts


def test_a_long_face_background_and_mask_are_read_only_as_far_as_the_pose_needs(tmp_path, cli, decoded):
    """A 4-frame 12 fps pose video with --frames 2 needs the face, background and mask videos
    up to 1/12 s: 300 frames at 25 fps each were decoded whole (a 2-minute face video held
    1.7 GB) before the frames were matched to the pose. The model named does not exist, so the
    run stops after the reads, before any weights."""
    write_video(_grey_clip(4), tmp_path / "pose.mp4", fps=12)
    for name in ("face", "bg", "mask"):
        write_video(_grey_clip(300, 16), tmp_path / f"{name}.mp4", fps=25)
    _char(tmp_path / "char.png")
    p = cli("animate", "--model", "./no-model", "--image", "char.png", "--pose", "pose.mp4", "--face",
            "face.mp4", "--mode", "replace", "--background", "bg.mp4", "--mask", "mask.mp4", "--frames", "2",
            "-o", "out.mp4", cwd=tmp_path)
    assert p.returncode == 2 and p.errors[0].startswith("error: ./no-model not found"), p.stderr  # inputs first
    assert decoded["pose.mp4"] == [2]
    for name in ("face.mp4", "bg.mp4", "mask.mp4"):  # through 1/12 s: frames 0..2 at 25 fps, and a guess's margin
        assert len(decoded[name]) == 1 and decoded[name][0] <= 5, decoded


def test_a_folder_of_face_frames_is_read_only_up_to_the_frames_needed(tmp_path, cli):
    """A folder pairs frame by frame: with --frames 2, frames 0 and 1; a broken third file is
    never opened (it was: the whole folder was read)."""
    write_video(_grey_clip(4, 32), tmp_path / "pose.mp4", fps=12)
    (tmp_path / "face").mkdir()
    for k, f in enumerate(_grey_clip(2)):
        Image.fromarray(f).save(tmp_path / "face" / f"{k}.png")
    (tmp_path / "face" / "2.png").write_bytes(b"not a picture")
    _char(tmp_path / "char.png")
    p = cli("animate", "--model", "./no-model", "--image", "char.png", "--pose", "pose.mp4", "--face",
            "face", "--frames", "2", "-o", "out.mp4", cwd=tmp_path)
    assert p.returncode == 2 and p.errors[0].startswith("error: ./no-model not found"), p.stderr


def test_animate_and_edit_share_one_rule_for_a_video_that_ends_first(tmp_path):
    """A variable-rate face video (frames at 0, 4, 8, 9, 10, 11 thirtieths; its header says
    10 fps) under a 12 fps pose: animate judged its end by the median step (0.40 s) and refused
    6 pose frames (the last at 0.42 s) that ``video edit`` takes from the same file as a mask
    (its end: the last frame plus one frame at the header's rate, 0.47 s). One rule now
    (:func:`video.edit.timing.ends_before`): both take 6 frames, both refuse 7."""
    from video.edit.animate_cli import match_to_pose, read_for_pose
    from video.edit.mask import load_frames_timed, read_levels
    from video.media import MediaError

    vf = "setpts='(if(lt(N,3),N*4,N+6))/(30*TB)'"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=16x16:rate=30:duration=0.2", "-vf", vf, "-fps_mode", "vfr",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", tmp_path / "face.mp4")
    write_video(_grey_clip(7), tmp_path / "pose.mp4", fps=12)
    _, pose_times = load_frames_timed(tmp_path / "pose.mp4")
    face = str(tmp_path / "face.mp4")
    frames, times, rate, whole = read_for_pose(face, "face video", pose_times, 6)
    assert len(match_to_pose(frames, times, pose_times, 6, "face", rate=rate, whole=whole)) == 6
    assert read_levels(face, 6, 16, 16, fps=12, times=pose_times).shape == (6, 16, 16)
    frames, times, rate, whole = read_for_pose(face, "face video", pose_times, 7)
    with pytest.raises(InputError, match="the face video lasts 0.47 s"):
        match_to_pose(frames, times, pose_times, 7, "face", rate=rate, whole=whole)
    with pytest.raises(MediaError, match="lasts 0.47 s"):
        read_levels(face, 7, 16, 16, fps=12, times=pose_times)
