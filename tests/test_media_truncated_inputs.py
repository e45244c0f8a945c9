"""Inputs that are partly or not at all readable say what is wrong: a file cut short gives the
frames that decode with one warning naming where decoding stopped (as a player plays it), an
empty file says so, and a frame size changing midway names the frame and both sizes."""

import subprocess
import warnings

import av
import pytest

from video.media import MediaError, ffmpeg_exe, header_frames, probe_video, read_video, read_video_timed


def _clip(path, *codec, size="64x48", frames=16):
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"testsrc=size={size}:rate=8:duration={frames / 8}", *codec, str(path)], check=True)
    return path


def _cut_inside_packet(path, k):
    """``path`` cut in the middle of its k-th video packet, as a copy that stopped there."""
    with av.open(str(path)) as c:
        packets = [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size]
    pos, size = packets[k]
    path.write_bytes(path.read_bytes()[: pos + size // 2])
    return path


@pytest.mark.parametrize("name,codec", [
    ("fs.mp4", ["-pix_fmt", "yuv420p", "-movflags", "+faststart"]),  # index first: decoding fails on the cut packet
    ("half.webm", ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "40"]),  # decoding just ends, no error
])
def test_a_file_cut_short_gives_its_frames_with_one_warning(tmp_path, name, codec):
    cut = _cut_inside_packet(_clip(tmp_path / name, *codec), 8)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        frames, times = read_video_timed(cut)
    n = len(frames)
    assert 0 < n < 16 and len(times) == n
    assert len(w) == 1 and f"{name}: truncated: decoding stopped at frame {n} of 16" in str(w[0].message)


def test_a_whole_file_and_its_first_frames_are_no_warning(tmp_path):
    clip = _clip(tmp_path / "whole.webm", "-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "40")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_video(clip)) == 16 and len(read_video(clip, max_frames=3)) == 3


def test_an_empty_file_says_so(tmp_path):
    empty = tmp_path / "zero.mp4"
    empty.write_bytes(b"")
    for read in (read_video, probe_video, header_frames):
        with pytest.raises(MediaError, match=r"zero\.mp4: not a readable video: empty file \(0 bytes\)"):
            read(empty)


def test_a_frame_size_change_midway_names_the_frame_and_sizes(tmp_path):
    """Two MPEG-TS files joined with ``cat``: 64x48 frames, then 32x24 ones (the first file's last frame
    can be lost at the seam)."""
    a = _clip(tmp_path / "a.ts", "-pix_fmt", "yuv420p", frames=8)
    b = _clip(tmp_path / "b.ts", "-pix_fmt", "yuv420p", size="32x24", frames=8)
    joined = tmp_path / "ab.ts"
    joined.write_bytes(a.read_bytes() + b.read_bytes())
    with pytest.raises(MediaError, match=r"ab\.ts: frame size changes at frame [78] \(64x48 -> 32x24\)"):
        read_video(joined)
