"""A file whose name holds a colon (``take:1.mp4``, ``2024-05-01T10:30:00.mp4``) is a file: FFmpeg
reads ``NAME:rest`` as protocol NAME, so every path handed to PyAV or the ffmpeg command goes
through :func:`video.media.media_path` (absolute)."""

import subprocess

import pytest

from video.media import (
    audio_stream_info,
    ffmpeg_exe,
    header_frames,
    media_path,
    probe_video,
    read_grid_frames,
    read_video,
    read_video_timed,
    write_video,
)


@pytest.fixture
def colon_clip(tmp_path, monkeypatch):
    """``take:1.mp4`` (8 frames at 8 fps, with 1 s of sound) in the working folder, named relatively."""
    monkeypatch.chdir(tmp_path)
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=8:duration=1",
                    "-f", "lavfi", "-i", "sine=duration=1", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                    "file:take:1.mp4"], check=True)
    return "take:1.mp4"


def test_a_name_with_a_colon_reads(colon_clip):
    assert read_video(colon_clip).shape == (8, 48, 64, 3)
    assert probe_video(colon_clip)["num_frames"] == 8
    assert header_frames(colon_clip) == (8, 8.0)
    assert read_grid_frames(colon_clip, [0, 7], 8.0).shape == (2, 48, 64, 3)
    assert audio_stream_info(colon_clip)[0] == "aac"


def test_an_output_named_with_a_colon_is_written_with_the_sound_of_one(colon_clip):
    frames, times = read_video_timed(colon_clip)
    out = write_video(frames, "2024-05-01T10:30:00.mp4", fps=8, audio=colon_clip, times=times)
    import av

    with av.open(media_path(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
    assert read_video(out).shape == (8, 48, 64, 3)


def test_media_path_is_absolute_and_keeps_drive_like_names_a_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert media_path("C:/x.mp4") == str(tmp_path / "C:" / "x.mp4")  # on POSIX a folder named "C:"
    assert media_path(tmp_path / "a:b.mp4") == str(tmp_path / "a:b.mp4")
    assert media_path("-x.mp4") == str(tmp_path / "-x.mp4")  # not an option to the ffmpeg command
