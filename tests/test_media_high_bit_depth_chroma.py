"""10-bit (and 12-bit) 4:2:0 and 4:2:2 video reads with its colour where ffmpeg puts it. PyAV 18's
libswscale, asked for rgb24 at the frame's own size, read each pixel pair's chroma one sample
to the right: every vertical colour edge came two pixels early, up to 110 levels off. The
reference is ffmpeg's own rgb24 decode of the same file (the bundled binary, a newer
libswscale), and the BT.709/BT.601 formula at patch centres; 8-bit formats must read exactly
as before (many tests pin their pixels)."""

import subprocess

import av
import numpy as np
import pytest

from video.media import ffmpeg_exe, read_video

# six colours, each row of patches the next rotation of them, so every edge changes colour
COLOURS = np.array([[235, 16, 16], [16, 235, 16], [16, 16, 235], [235, 235, 16], [16, 235, 235], [128, 60, 200]])
PATCH_W, PATCH_H = 32, 11  # odd rows: band edges fall inside a 4:2:0 chroma pair
KR_KB = {"bt709": (0.2126, 0.0722), "smpte170m": (0.299, 0.114)}


def _encoders() -> str:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, text=True).stdout


def patches(path, pix_fmt, codec="libx264", matrix="bt709"):
    """A 192x44 lossless clip of 6x4 flat colour patches, tagged ``matrix``, limited range."""
    rows = [np.roll(COLOURS, -r, axis=0) for r in range(4)]
    img = np.concatenate([np.repeat(np.repeat(row[None], PATCH_H, 0), PATCH_W, 1) for row in rows]).astype(np.uint8)
    lossless = ["-qp", "0"] if codec == "libx264" else ["-x265-params", "lossless=1:log-level=error"]
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", f"{img.shape[1]}x{img.shape[0]}", "-r", "8", "-i", "-", "-c:v", codec, *lossless,
                    "-pix_fmt", pix_fmt, "-colorspace", matrix, "-color_primaries", matrix, "-color_trc", matrix,
                    "-color_range", "tv", str(path)], input=np.stack([img, img]).tobytes(), check=True)
    return path


def ffmpeg_rgb(path) -> np.ndarray:
    """What ffmpeg itself decodes the clip to, as uint8 (F, H, W, 3)."""
    with av.open(str(path)) as c:
        w, h = c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24",
                          "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def formula_rgb(path, matrix) -> np.ndarray:
    """(4, 6, 3) RGB at the patch centres by the matrix's closed form, from the decoded Y'CbCr
    samples (limited range: Y' 16..235, C 16..240, times 2^(bits-8))."""
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
    bits = frame.format.components[0].bits
    planes = [np.frombuffer(p, np.uint16 if bits > 8 else np.uint8).reshape(p.height, -1)[:, :p.width]
              for p in frame.planes]
    kr, kb = KR_KB[matrix]
    out = np.zeros((4, 6, 3))
    for r in range(4):
        for k in range(6):
            y0, x0 = r * PATCH_H + PATCH_H // 2, k * PATCH_W + PATCH_W // 2
            y, cb, cr = (p[y0 * p.shape[0] // planes[0].shape[0], x0 * p.shape[1] // planes[0].shape[1]]
                         / 2 ** (bits - 8) for p in planes)
            y, cb, cr = (y - 16) / 219, (cb - 128) / 224, (cr - 128) / 224
            red, blue = y + 2 * (1 - kr) * cr, y + 2 * (1 - kb) * cb
            out[r, k] = red, (y - kr * red - kb * blue) / (1 - kr - kb), blue
    return np.clip(np.round(out * 255), 0, 255)


def centres(rgb) -> np.ndarray:
    return rgb[PATCH_H // 2::PATCH_H, PATCH_W // 2::PATCH_W].astype(float)


DEEP = [("libx264", "yuv420p10le", "bt709"), ("libx264", "yuv422p10le", "bt709"),
        ("libx264", "yuv420p10le", "smpte170m"), ("libx265", "yuv420p10le", "bt709"),
        ("libx265", "yuv422p10le", "bt709"), ("libx265", "yuv420p12le", "bt709")]


@pytest.mark.parametrize("codec, pix_fmt, matrix", DEEP)
def test_deep_subsampled_colour_edges_sit_where_ffmpeg_puts_them(tmp_path, codec, pix_fmt, matrix):
    if codec not in _encoders():
        pytest.skip(f"the bundled ffmpeg has no {codec}")
    path = patches(tmp_path / "p.mp4", pix_fmt, codec, matrix)
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == pix_fmt  # no silent fallback to 8 bits
    ours, ref = read_video(path).astype(int), ffmpeg_rgb(path).astype(int)
    assert ours.shape == ref.shape == (2, 44, 192, 3)
    diff = np.abs(ours - ref).max(axis=(0, 3))
    assert diff.max() <= 2, f"{pix_fmt}: {diff.max()} levels off ffmpeg at (row, column) {np.argwhere(diff > 2)[:4]}"
    # ffmpeg's (and our 8-bit) table-driven YUV->RGB rounds saturated colours up to 3 off the formula
    assert np.abs(centres(ours[0]) - formula_rgb(path, matrix)).max() <= 3


def test_the_training_reader_at_full_size_reads_as_ffmpeg(tmp_path):
    """The training loader's small-frame decode uses the same conversion; at the clip's own size
    it took the same wrong path."""
    from video.training.data import _decode_small

    path = patches(tmp_path / "p.mp4", "yuv420p10le")
    ours = _decode_small(path, [0, 1], 44, 192).permute(0, 2, 3, 1).numpy().astype(int)
    assert np.abs(ours - ffmpeg_rgb(path).astype(int)).max() <= 2


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p", "yuv444p", "yuv444p10le"])
def test_eight_bit_and_full_chroma_read_exactly_as_before(tmp_path, pix_fmt):
    """Untouched formats: libswscale's own call, bit for bit, at the frame's size and scaled,
    and still ffmpeg's decode exactly."""
    from video.media.display import to_rgb24

    path = patches(tmp_path / "p.mp4", pix_fmt)
    assert np.array_equal(read_video(path), ffmpeg_rgb(path))
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
    assert np.array_equal(to_rgb24(frame), frame.to_ndarray(format="rgb24"))
    assert np.array_equal(to_rgb24(frame, 96, 22), frame.to_ndarray(format="rgb24", width=96, height=22))
