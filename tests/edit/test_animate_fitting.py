"""How ``video animate`` fits its inputs to the output, on the tiny random Wan-Animate:

- a background or mask of another aspect ratio than the pose video (a 16:9 clip under a 4:3
  pose), a pose video of another shape than ``--height`` / ``--width``, and a pose video whose
  size is rounded down to a multiple of 16 (48x40 -> 48x32) were stretched, each axis on its own,
  without a word; they are scaled to cover the output and centre-cropped, with one warning line
  each (``video edit``'s words for a background of another shape);
- an anamorphic (32:27) pose video's output is tagged 32:27, but the square-pixel character
  image was fitted into the stored pixels: a circle showed 18.5% too wide;
- a still ``--face``, ``--background`` or ``--mask`` (an image, or a one-frame video) was refused
  as "1 frame; the pose video has N"; it is held for every pose frame;
- ``--help`` did not say which audio the output keeps.

Shapes are checked with a disc: it stays round through a cover-crop, a stretch makes it an
ellipse."""

from __future__ import annotations

import subprocess
import warnings

import numpy as np
import pytest
from PIL import Image

from video.edit.frames import load_frames
from video.media import ffmpeg_exe, probe_video, write_video


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    from video.edit.animate import build_tiny_animate

    return build_tiny_animate(tmp_path_factory.mktemp("animate") / "tiny-animate")


@pytest.fixture(scope="module")
def animator(tiny_folder):
    from video.edit.animate import Animator

    return Animator.from_pretrained(tiny_folder)


def _disc(h: int, w: int, r: float, frames: int = 1) -> np.ndarray:
    """uint8 (frames, h, w, 3): a white disc of radius ``r`` at the centre, on grey."""
    y, x = np.mgrid[:h, :w] + 0.5
    inside = (y - h / 2) ** 2 + (x - w / 2) ** 2 <= r * r
    img = np.where(inside, 255, 60).astype(np.uint8)
    return np.repeat(np.repeat(img[None, ..., None], 3, axis=-1), frames, axis=0)


def _extent(levels: np.ndarray) -> tuple[float, float]:
    """(height, width) of the disc: the bright part's extent along each axis, to the pixel's
    fraction (the summed brightness over the widest row / column)."""
    bright = np.clip((levels.astype(np.float64) - 60) / (255 - 60), 0, 1)
    return float(bright.sum(axis=0).max()), float(bright.sum(axis=1).max())


@pytest.fixture
def seen(monkeypatch):
    """The tensors the animator builds from its videos, recorded on their way in (the real
    :func:`frames_to_tensor` runs): {"pose"/"face"/"background"/"mask": (F, H, W) levels 0..255}."""
    import video.edit.animate as A

    real, calls = A.frames_to_tensor, []

    def spy(frames, height, width, gray=False):
        x = real(frames, height, width, gray)
        levels = x[0, 0] * 255 if gray else (x[0].mean(0) + 1) * 127.5  # (F, H, W)
        calls.append(levels.numpy())
        return x

    monkeypatch.setattr(A, "frames_to_tensor", spy)
    return calls


def _run(animator, pose, face=None, **kw) -> list[str]:
    """Sample one step (no decode: the inputs are what is checked); the warnings it gives, as text."""
    import torch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        animator(Image.fromarray(_disc(40, 40, 15)[0]), pose, _disc(16, 16, 6, len(pose)) if face is None else face,
                 num_inference_steps=1, generator=torch.Generator().manual_seed(0), output_type="latent", **kw)
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_a_background_and_mask_of_another_shape_are_cover_cropped_with_a_warning(animator, seen):
    """A 160x90 background and mask under a 64x48 pose: scaled to cover 64x48 (x 8/15, 85x48)
    and the middle 64 columns kept; stretched, the disc came out 24 wide and 32 high."""
    bg, mask = _disc(90, 160, 30), _disc(90, 160, 30)
    said = _run(animator, _disc(48, 64, 16), mode="replace", background_video=bg, mask_video=mask)
    pose_t, _, bg_t, mask_t = seen
    h, w = _extent(bg_t[0])
    assert abs(h - 32) < 1 and abs(w - 32) < 1, (h, w)  # round, 60 x 8/15 across
    assert abs(np.subtract(*_extent(mask_t[0]))) < 1
    # the middle of the clip, by an independent route: the whole frame scaled to 85x48, its middle 64 columns
    ref = np.asarray(Image.fromarray(bg[0]).resize((85, 48), Image.LANCZOS), np.float64).mean(-1)[:, 10:74]
    assert np.abs(bg_t[0] - ref).max() < 1.0
    assert np.array_equal(pose_t.shape, (5, 48, 64))  # padded to a 5-frame segment, the size it had
    assert said == [f"the {name} is 160x90 and the pose video 64x48, another aspect ratio: the {name} is scaled to "
                    f"cover the output (64x48) and its middle cropped" for name in ("background", "mask")]


def test_the_size_rounded_to_16_is_a_crop_with_one_warning(animator, seen):
    """48x40 -> 48x32: the middle 32 rows (it was squashed to 80%); 71x53 -> 64x48 says so too."""
    pose = _disc(40, 48, 14)
    said = _run(animator, pose)
    assert np.allclose(seen[0][0], pose[0, 4:36].mean(-1), atol=1e-3)  # a pure crop, pixel for pixel
    assert said == [
        "the pose video is 48x40 and the output 48x32 (the pose video's size rounded down to a multiple of 16): the "
        "pose video is scaled to cover the output and its middle cropped"]
    said = _run(animator, _disc(53, 71, 20), mode="replace", background_video=_disc(53, 71, 20),
                mask_video=_disc(106, 142, 40))
    assert said == ["the pose video is 71x53 and the output 64x48 (the pose video's size rounded down to a multiple "
                    "of 16): the pose video, background and mask are scaled to cover the output and their middle "
                    "cropped"]


def test_another_height_and_width_crop_the_pose_video_with_a_warning(animator, seen):
    """A 64x48 pose at 96x48: it was stretched 2x wide."""
    said = _run(animator, _disc(48, 64, 16), height=48, width=96)
    h, w = _extent(seen[0][0])
    assert abs(h - 48) < 1 and abs(w - 48) < 1, (h, w)  # x 1.5: 32 -> 48, both ways
    assert said == ["the pose video is 64x48 and the output 96x48, another aspect ratio: the pose video is scaled to "
                    "cover the output and its middle cropped"]


def test_videos_of_the_pose_shape_are_scaled_without_a_word(animator, seen):
    """Twice the pose video's size, same shape: scaled, nothing cropped, nothing said."""
    said = _run(animator, _disc(32, 48, 10), mode="replace", background_video=_disc(64, 96, 20),
                mask_video=_disc(64, 96, 20))
    assert said == []
    assert abs(np.subtract(*_extent(seen[2][0]))) < 1


def test_a_background_of_the_on_screen_shape_is_squeezed_onto_anamorphic_pixels(animator, seen):
    """A 48x32 pose video of 32:27 pixels shows 57x32: a background drawn at that shape is put
    onto the stored pixels, without a word, as ``video edit`` does (its circle stays round on
    screen), not cropped as another shape."""
    said = _run(animator, _disc(32, 48, 10), mode="replace", background_video=_disc(32, 57, 12),
                mask_video=_disc(32, 48, 10), sar="32:27")
    h, w = _extent(seen[2][0])
    assert abs(w * 32 / 27 - h) < 1.5, (h, w)
    assert said == []


def test_the_character_keeps_its_shape_on_anamorphic_pixels():
    """A circle into 48x48 stored pixels of 32:27: 27/32 as wide as high stored, round on screen.
    Square pixels give diffusers' integer sizes (tests/edit/test_animate.py compares)."""
    from video.edit.animate import fit_on_black

    circle = Image.fromarray(_disc(100, 100, 45)[0])
    h, w = _extent((fit_on_black(circle, 48, 48, 32 / 27)[0].mean(0).numpy() + 1) * 127.5)
    assert abs(w * 32 / 27 - h) < 1.5, (h, w)  # was w == h: 18.5% too wide on screen
    h, w = _extent((fit_on_black(circle, 48, 48)[0].mean(0).numpy() + 1) * 127.5)
    assert abs(w - h) < 1, (h, w)


def _ffmpeg(*args) -> None:
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *map(str, args)], check=True)


def test_the_command_fits_the_character_onto_the_pose_videos_pixels(tiny_folder, tmp_path, cli, monkeypatch):
    """An anamorphic pose video through ``video animate``: the character is fitted at its SAR."""
    import video.edit.animate as A

    real, fitted = A.fit_on_black, []
    monkeypatch.setattr(A, "fit_on_black", lambda *a, **k: fitted.append(real(*a, **k)) or fitted[-1])
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=32x32:rate=8:duration=0.375", "-vf", "setsar=32/27", "-c:v",
            "libx264", "-pix_fmt", "yuv420p", tmp_path / "pose.mp4")
    Image.fromarray(_disc(100, 100, 45)[0]).save(tmp_path / "char.png")
    p = cli("animate", "--model", tiny_folder, "--image", "char.png", "--pose", "pose.mp4", "--face", "pose.mp4",
            "--steps", "1", "-o", "out.mp4", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert probe_video(tmp_path / "out.mp4")["sar"] == "32:27"
    h, w = _extent((fitted[0][0].mean(0).numpy() + 1) * 127.5)
    assert abs(w * 32 / 27 - h) < 1.5, (h, w)


def test_stills_are_held_and_other_shapes_said_on_the_command_line(tiny_folder, tmp_path, cli):
    """A still face, background (an image) and mask (a one-frame video) under a 3-frame pose:
    each held for every frame, where each was refused; a 160x90 background under a 64x48 pose
    says it is cropped. A folder of 2 mask frames is still too short."""
    write_video(_disc(48, 64, 16, 3), tmp_path / "pose.mp4", fps=8)
    Image.fromarray(_disc(40, 40, 15)[0]).save(tmp_path / "char.png")
    Image.fromarray(_disc(16, 16, 6)[0]).save(tmp_path / "face.png")
    Image.fromarray(_disc(90, 160, 30)[0]).save(tmp_path / "bg.png")
    write_video(_disc(48, 64, 16), tmp_path / "mask1.mp4", fps=8)
    (tmp_path / "mask2").mkdir()
    for k in range(2):
        Image.fromarray(_disc(48, 64, 16)[0]).save(tmp_path / "mask2" / f"{k}.png")
    argv = ["animate", "--model", tiny_folder, "--image", "char.png", "--pose", "pose.mp4", "--face", "face.png",
            "--mode", "replace", "--background", "bg.png", "--steps", "1"]
    p = cli(*argv, "--mask", "mask1.mp4", "-o", "out.mp4", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert len(load_frames(tmp_path / "out.mp4")) == 3
    assert [ln for ln in p.stderr.splitlines() if ln.startswith("warning:")] == [
        "warning: the background is 160x90 and the pose video 64x48, another aspect ratio: the background is scaled "
        "to cover the output (64x48) and its middle cropped"], p.stderr
    p = cli(*argv, "--mask", "mask2", "-o", "out2.mp4", cwd=tmp_path)
    assert p.returncode == 2 and p.errors == [
        "error: the mask video has 2 frames; the pose video has 3 (give one image, held, or as many frames; or "
        "render the first 2: --frames 2)"], p.stderr


def test_the_comfy_node_holds_a_still_face_and_says_what_it_crops(tiny_folder, tmp_path, caplog):
    """Animate Character runs the same animator: a one-image face is held, and a 16:9 background
    under a 3:2 pose is logged as cropped, every run."""
    import shutil

    import torch

    from video.comfy import functions as F

    shutil.copytree(tiny_folder, tmp_path / "checkpoints" / "animate-small")
    model = F.load_video_model("animate-small", tmp_path)
    mask = np.zeros((1, 90, 160), np.float32)
    mask[:, 20:70, 50:110] = 1
    kw = dict(image=F.frames_to_comfy(_disc(40, 40, 15)), pose_video=F.frames_to_comfy(_disc(32, 48, 10, 3)),
              face_video=F.frames_to_comfy(_disc(16, 16, 6)), mode="replace", steps=1,
              background_video=F.frames_to_comfy(_disc(90, 160, 30)), mask=torch.from_numpy(mask))
    for _ in range(2):
        caplog.clear()
        with caplog.at_level("WARNING", logger="video.comfy.host"):
            assert F.animate_video(model, **kw).shape == (3, 32, 48, 3)
        assert [r.getMessage() for r in caplog.records] == [
            f"Animate Character: the {name} is 160x90 and the pose video 48x32, another aspect ratio: the {name} is "
            f"scaled to cover the output (48x32) and its middle cropped" for name in ("background", "mask")]


def test_help_says_which_audio_is_kept(cli):
    def text(command: str) -> str:
        return " ".join(cli(command, "--help").stdout.split())

    assert ("Audio: an .mp4 or .webm keeps that of --pose (replace mode: --background) when written at its frame "
            "rate; another --fps drops it, with a warning") in text("animate")
    assert ("Audio: an .mp4 or .webm keeps the input's when written at its frame rate; another --fps drops it, "
            "with a warning") in text("upscale")
