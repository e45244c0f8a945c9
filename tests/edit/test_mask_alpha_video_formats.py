"""A mask video with transparency is its alpha alone, whatever its format, as a still's or an
animated WebP's is (README: "a stroke painted on a transparent layer"): a GIF, an APNG, ProRes
4444 and a WebM with VP9 alpha were read by their colours (the alpha dropped; a GIF's
transparent pixels came out white, so everything outside the stroke was edited). Given as the
video to edit, such a file is laid on white with a warning, as a transparent WebP is; its
hidden colour showed without a word. A mask without transparency is still its colours.

Every file is made here by ffmpeg or PIL from one RGBA content; ffmpeg's own RGBA decode of
each file is the reference its alpha is checked against."""

from __future__ import annotations

import subprocess
import warnings

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from video.edit.mask import load_frames, load_mask

H, W, N = 32, 64, 3
COLUMNS = {"blue": 10, "red": 32, "green": 53}  # patch centres: opaque blue, transparent red, half-alpha green
FF = imageio_ffmpeg.get_ffmpeg_exe()


def content(alpha: bool = True) -> np.ndarray:
    """(N, H, W, 4): opaque blue, fully transparent red, green at alpha 128; without ``alpha``
    opaque greys 255, 0 and 128 instead. One corner pixel differs per frame (PIL merges equal
    frames of an animation)."""
    f = np.zeros((N, H, W, 4), np.uint8)
    if alpha:
        f[:, :, :21], f[:, :, 21:43], f[:, :, 43:] = (0, 0, 255, 255), (255, 0, 0, 0), (0, 255, 0, 128)
    else:
        f[:, :, :21], f[:, :, 21:43], f[:, :, 43:] = (255, 255, 255, 255), (0, 0, 0, 255), (128, 128, 128, 255)
    f[:, 0, 0, :3] = np.arange(N)[:, None] * 40
    return f


def ffmpeg(path, frames: np.ndarray, *args: str):
    subprocess.run([FF, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", f"{W}x{H}", "-r", "10",
                    "-i", "-", *args, str(path)], input=frames.tobytes(), check=True)
    return path


def pil_gif(path, frames: np.ndarray):
    ims = [Image.fromarray(f, "RGBA") for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=100, disposal=2)
    return path


PALETTE = ["-filter_complex", "split[a][b];[a]palettegen=reserve_transparent=1[p];[b][p]paletteuse=alpha_threshold=128"]
PRORES = ["-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le"]
MAKERS = {
    "pil.gif": pil_gif,
    "ffmpeg.gif": lambda p, f: ffmpeg(p, f, *PALETTE),
    "anim.apng": lambda p, f: ffmpeg(p, f, "-f", "apng", "-plays", "0"),
    "prores4444.mov": lambda p, f: ffmpeg(p, f, *PRORES),
    "vp9_alpha.webm": lambda p, f: ffmpeg(p, f, "-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-lossless", "1"),
}


def ffmpeg_rgba(path) -> np.ndarray:
    """The file's frames as ffmpeg decodes them to RGBA (a WebM through libvpx, which reads its alpha)."""
    vpx = ["-c:v", "libvpx-vp9"] if path.suffix == ".webm" else []
    out = subprocess.run([FF, "-v", "error", *vpx, "-i", str(path), "-fps_mode", "passthrough", "-f", "rawvideo",
                          "-pix_fmt", "rgba", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, H, W, 4)


def patches(m) -> dict[str, float]:
    return {k: float(np.asarray(m)[:, H // 2, x].mean()) for k, x in COLUMNS.items()}


@pytest.mark.parametrize("name", list(MAKERS))
def test_a_transparent_mask_video_is_its_alpha(tmp_path, name):
    path = MAKERS[name](tmp_path / name, content())
    reference = ffmpeg_rgba(path)[:N, ..., 3] / 255.0
    m = load_mask(path, N, H, W, soft=True).numpy()
    assert np.abs(m - reference).max() <= 1.5 / 255  # the alpha, pixel for pixel
    level = patches(m)
    assert level["blue"] == pytest.approx(1.0, abs=0.02) and level["red"] == pytest.approx(0.0, abs=0.02)
    # a GIF's transparency is on or off: its half-alpha green is opaque, as ffmpeg reads it (above)
    assert level["green"] == pytest.approx(1.0 if name.endswith(".gif") else 0.5, abs=0.03)
    hard = load_mask(path, N, H, W)  # thresholded: the stroke, not the transparent background
    assert float(hard[:, H // 2, COLUMNS["red"]].max()) == 0.0 and float(hard[:, H // 2, COLUMNS["blue"]].min()) == 1.0


@pytest.mark.parametrize("name", ["ffmpeg.gif", "prores4444.mov", "vp9_alpha.webm"])
def test_a_transparent_mask_at_another_rate_is_its_alpha(tmp_path, name):
    """Matched to the video's frames by time (the mask at 10 fps, the video at 5) reads the same alpha."""
    path = MAKERS[name](tmp_path / name, content())
    level = patches(load_mask(path, 2, H, W, soft=True, fps=5.0))
    assert level["blue"] == pytest.approx(1.0, abs=0.02) and level["red"] == pytest.approx(0.0, abs=0.02)


@pytest.mark.parametrize("name", list(MAKERS))
def test_a_video_with_transparency_is_laid_on_white_with_a_warning(tmp_path, name):
    path = MAKERS[name](tmp_path / name, content())
    with pytest.warns(UserWarning, match="transparent pixels: they are laid on white"):
        frames = load_frames(path)
    assert frames.shape == (N, H, W, 3)
    px = {k: frames[:, H // 2, x].astype(int) for k, x in COLUMNS.items()}
    assert np.abs(px["red"] - 255).max() == 0  # the hidden red is not shown
    assert np.abs(px["blue"] - [0, 0, 255]).max() <= 2
    green = [0, 255, 0] if name.endswith(".gif") else [127, 255, 127]  # half green on white
    assert np.abs(px["green"] - green).max() <= 3


OPAQUE = {
    "ffv1.mkv": lambda p, f: ffmpeg(p, f, "-c:v", "ffv1", "-pix_fmt", "bgr0"),
    "opaque.gif": lambda p, f: ffmpeg(p, f, *PALETTE),
    "prores4444_opaque.mov": lambda p, f: ffmpeg(p, f, *PRORES),
}


@pytest.mark.parametrize("name", list(OPAQUE))
def test_a_mask_video_without_transparency_is_its_colours(tmp_path, name):
    """No alpha, or an alpha opaque everywhere: grey levels, white = regenerate, no warning."""
    path = OPAQUE[name](tmp_path / name, content(alpha=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        level = patches(load_mask(path, N, H, W, soft=True))
        frames = load_frames(path)
    assert level == pytest.approx({"blue": 1.0, "red": 0.0, "green": 128 / 255}, abs=0.02)
    assert np.abs(frames[:, H // 2, COLUMNS["red"]].astype(int)).max() <= 2  # black stays black


def test_vp9_alpha_without_the_libvpx_decoder_is_one_warning(tmp_path, monkeypatch):
    """Where PyAV has no libvpx-vp9 decoder (FFmpeg's own never sees a WebM's alpha), one line
    says so and the mask is read by its colours. This PyAV has it: a name it lacks stands in."""
    import video.media.read as read

    path = MAKERS["vp9_alpha.webm"](tmp_path / "vp9_alpha.webm", content())
    monkeypatch.setitem(read.ALPHA_DECODERS, "vp9", "no-such-decoder")
    with pytest.warns(UserWarning, match=r"vp9_alpha\.webm: its VP9 alpha channel cannot be read") as said:
        level = patches(load_mask(path, N, H, W, soft=True))
    assert len([w for w in said if "alpha channel" in str(w.message)]) == 1
    assert level == pytest.approx({"blue": 1 / 3, "red": 1 / 3, "green": 1 / 3}, abs=0.02)  # mean of R, G and B
