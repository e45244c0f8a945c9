import numpy as np
import pytest

from eval.metrics import psnr
from video.media import (
    MediaError,
    header_frames,
    image_to_tensor,
    load_image,
    probe_video,
    read_video,
    write_video,
)


def clip(f=6, h=64, w=96):
    """A real photograph panning right one pixel per frame."""
    import skimage.data
    from PIL import Image

    photo = np.asarray(Image.fromarray(skimage.data.astronaut()).resize((w + f, h)))
    return np.stack([photo[:, i : i + w] for i in range(f)])


def test_mp4_is_h264_yuv420p_with_the_right_frames(tmp_path):
    out = write_video(clip(), tmp_path / "a.mp4", fps=7)
    info = probe_video(out)
    assert (info["codec"], info["pix_fmt"], info["num_frames"], info["width"], info["height"]) == (
        "h264", "yuv420p", 6, 96, 64)
    assert info["fps"] == pytest.approx(7.0)
    frames = read_video(out)
    assert frames.shape == (6, 64, 96, 3)
    assert psnr(frames, clip()) > 30  # crf 18: lossy but close
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_odd_size_is_cropped_to_even_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match="writing 94x62 from 95x63"):
        info = probe_video(write_video(clip(3, 63, 95), tmp_path / "odd.mp4"))
    assert (info["width"], info["height"]) == (94, 62)
    with pytest.raises(MediaError, match="at least 2x2"):
        write_video(clip(2, 1, 8), tmp_path / "line.mp4")


@pytest.mark.parametrize("name,codec", [("a.webm", "vp9"), ("a.gif", "gif")])
def test_other_formats(tmp_path, name, codec):
    info = probe_video(write_video(clip(4), tmp_path / name))
    assert info["codec"] == codec and info["num_frames"] == 4


def test_png_folder(tmp_path):
    out = write_video(clip(3), tmp_path / "frames")
    # the frames, and the marker that lets a rerun replace this folder (and nothing else)
    assert sorted(p.name for p in out.iterdir()) == [".written-by-video", "00000.png", "00001.png", "00002.png"]
    assert np.array_equal(np.asarray(load_image(out / "00001.png")), clip(3)[1])


def test_bad_inputs(tmp_path):
    (tmp_path / "x.jpg").write_text("not an image")
    with pytest.raises(MediaError, match="not an image"):
        load_image(tmp_path / "x.jpg")
    with pytest.raises(MediaError, match="not found"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(MediaError, match="use .mp4"):
        write_video(clip(2), tmp_path / "a.avi")
    with pytest.raises(MediaError, match="uint8"):
        write_video(clip(2).astype(np.float32), tmp_path / "a.mp4")
    with pytest.raises(MediaError, match="not a readable video"):
        probe_video(tmp_path / "x.jpg")


def test_resize_and_centre_crop_any_aspect():
    import skimage.data

    t = image_to_tensor(skimage.data.chelsea(), 64, 128)  # 300x451 photo -> 64x128
    assert t.shape == (1, 3, 64, 128) and 0 <= t.min() and t.max() <= 1


def test_read_video_errors(tmp_path):
    with pytest.raises(MediaError, match="not found"):
        read_video(tmp_path / "missing.mp4")
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(MediaError, match="not a readable video"):
        read_video(tmp_path / "bad.mp4")


def test_outputs_get_the_umask_modes_and_16_bit_images_keep_their_levels(tmp_path):
    """Outputs are readable as any new file is (the temporary names are private, 0600/0700),
    and a 16-bit grey PNG keeps its level (convert("RGB") clipped it to white)."""
    import os
    import stat

    from PIL import Image

    umask = os.umask(0)
    os.umask(umask)
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    mp4 = write_video(frames, tmp_path / "a.mp4", fps=4)
    folder = write_video(frames, tmp_path / "frames", fps=4)
    assert stat.S_IMODE(mp4.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask
    grey16 = np.full((8, 8), 128 * 257, np.uint16)  # mid grey, 16 bits
    Image.fromarray(grey16).save(tmp_path / "g16.png")
    assert abs(np.asarray(load_image(tmp_path / "g16.png")).mean() - 128) < 1


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_header_frames_counts_without_decoding(tmp_path, suffix):
    """mp4 stores the count; webm does not, and the estimate from duration x rate matches the
    count probe_video gets by decoding."""
    frames = np.random.default_rng(0).integers(0, 255, (23, 32, 48, 3), dtype=np.uint8)
    path = write_video(frames, tmp_path / f"c{suffix}", fps=12)
    assert header_frames(path) == (23, 12.0) == (probe_video(path)["num_frames"], probe_video(path)["fps"])
    (tmp_path / "bad.webm").write_bytes(b"not a video")
    with pytest.raises(MediaError):
        header_frames(tmp_path / "bad.webm")


def _ffmpeg(*args):
    import subprocess

    from video.media import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True)


def _shown_by_ffmpeg(path, h, w):
    """The first frame as ffmpeg's own decoder shows it (it applies the display rotation)."""
    import subprocess

    from video.media import ffmpeg_exe

    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(int)


@pytest.mark.parametrize("turn", [90, 270])
def test_read_video_is_upright(tmp_path, turn):
    """A phone's portrait video (landscape frames plus a display rotation) reads as a player
    shows it: turned, so H and W are probe_video's coded width and height."""
    plain = write_video(clip(4, 64, 96), tmp_path / "plain.mp4")
    rotated = tmp_path / "rotated.mp4"
    _ffmpeg("-display_rotation", turn, "-i", plain, "-c", "copy", rotated)
    info = probe_video(rotated)
    assert (info["width"], info["height"], info["rotation"]) == (96, 64, turn)
    frames = read_video(rotated)
    assert frames.shape == (4, 96, 64, 3)
    assert np.abs(frames[0].astype(int) - _shown_by_ffmpeg(rotated, 96, 64)).max() <= 2
    # written back (no rotation tag), it displays as the input did
    again = write_video(frames, tmp_path / "again.mp4", fps=7)
    assert probe_video(again)["rotation"] == 0 and read_video(again).shape == (4, 96, 64, 3)


def _audio(path):
    import av

    with av.open(str(path)) as c:  # webm stores no stream duration: the container's
        return [(s.codec_context.name, float(s.duration * s.time_base) if s.duration else c.duration / 1e6)
                for s in c.streams.audio]


@pytest.mark.parametrize("codec, ext, expect", [("aac", "mp4", "aac"), ("pcm_s16le", "mov", "aac"),
                                                ("aac", "webm", "opus")])
def test_write_video_carries_the_input_audio(tmp_path, codec, ext, expect):
    """The input's audio goes into the output, copied where the container takes it, else
    re-encoded (AAC in mp4, Opus in webm), and lasts as long; written atomically."""
    src = tmp_path / f"src.{'mov' if codec.startswith('pcm') else 'mp4'}"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=12", "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", "1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", codec, "-shortest", src)
    frames = read_video(src)
    out = write_video(frames, tmp_path / f"out.{ext if ext != 'mov' else 'mp4'}", fps=12, audio=src)
    (name, seconds), = _audio(out)
    assert name == expect and seconds == pytest.approx(1.5, abs=0.05)
    assert len(read_video(out)) == len(frames) == 18
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]
    silent = write_video(frames, tmp_path / "silent.mp4", fps=12, audio=write_video(frames, tmp_path / "v.mp4", fps=12))
    assert _audio(silent) == []  # a source without audio adds none


def test_audio_is_kept_only_in_sync(tmp_path):
    from video.media import audio_to_keep

    src = tmp_path / "src.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=12", "-f", "lavfi", "-i", "sine", "-t", "1",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest", src)
    assert audio_to_keep(src, 12, 12.0, 12, 12.0, tmp_path / "o.mp4") == src
    assert audio_to_keep(src, 12, 12.0, 6, 12.0, tmp_path / "o.mp4") == src  # the first 6 frames: cut to them
    for frames, fps, out, why in ((13, 12.0, "o.mp4", "13 frames"), (12, 24.0, "o.mp4", "24 fps"),
                                  (12, 12.0, "o.gif", "gif holds no audio"), (12, 12.0, "o", "PNG folder")):
        with pytest.warns(UserWarning, match=f"audio was not kept: .*{why}"):
            assert audio_to_keep(src, 12, 12.0, frames, fps, tmp_path / out) is None
    assert audio_to_keep(write_video(clip(), tmp_path / "v.mp4"), 6, 7.0, 3, 7.0, tmp_path / "o.mp4") is None  # silent


def test_float_arrays_are_read_in_0_1_and_other_dtypes_refused():
    import skimage.data

    from video.media import MediaError, load_image

    arr = skimage.data.astronaut()
    assert np.array_equal(np.asarray(load_image(arr.astype(np.float32) / 255)), arr)  # was all black
    assert np.array_equal(np.asarray(load_image(arr.astype(np.float32))), arr)  # 0..255 floats as before
    for bad in (arr.astype(np.float32) * 2, arr.astype(np.float32) - 1, arr.astype(np.uint16) * 257):
        with pytest.raises(MediaError, match="0..255"):
            load_image(bad)


def test_decompression_bomb_is_one_line(tmp_path):
    import struct
    import zlib

    from video.media import MediaError, load_image

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2,
                                                                                         0, 0, 0))
                                        + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
    with pytest.raises(MediaError, match="too large to read safely"):
        load_image(tmp_path / "huge.png")


def test_check_output_refuses_a_parent_that_is_a_file(tmp_path):
    from video.media import MediaError, check_output

    f = tmp_path / "notes.txt"
    f.write_text("x")
    for out in (f / "clip.mp4", f / "sub" / "clip.mp4", f / "frames"):
        with pytest.raises(MediaError, match="is a file, not a folder"):
            check_output(out)
    check_output(tmp_path / "new" / "deeper" / "clip.mp4")  # missing folders are made by the writer
    check_output(tmp_path / "new" / "frames")


def test_ten_bit_video_reads_like_its_eight_bit_twin(tmp_path):
    """Phones and cameras write 10-bit HEVC/H.264; it must read as the same picture as an 8-bit
    encode of the same frames (the decoder's scaler converts, no level or colour shift). Real
    content (bikes): a synthetic pattern of saturated one-pixel colour edges is where bilinear
    and nearest chroma upsampling differ most, not what a camera records."""
    from video.training.data import _decode_small, sample_clips_folder

    for bits, fmt in ((8, "yuv420p"), (10, "yuv420p10le")):
        _ffmpeg("-i", sample_clips_folder() / "bikes.mp4", "-frames:v", "6", "-an", "-c:v", "libx264", "-crf", "4",
                 "-pix_fmt", fmt, tmp_path / f"b{bits}.mp4")
    eight, ten = read_video(tmp_path / "b8.mp4"), read_video(tmp_path / "b10.mp4")
    assert ten.shape == eight.shape == (6, 272, 640, 3) and ten.dtype == np.uint8
    assert psnr(ten, eight) > 40
    assert abs(ten.astype(float).mean() - eight.astype(float).mean()) < 1.0  # no range/level shift
    small = [_decode_small(tmp_path / f"b{b}.mp4", [0, 5], 68, 160).numpy().astype(float) for b in (8, 10)]
    assert psnr(small[1], small[0], data_range=255) > 35
