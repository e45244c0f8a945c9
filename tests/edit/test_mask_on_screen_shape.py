"""A mask or --background clip drawn at the size a player shows an anamorphic video (320x240
of 32:27 pixels shows as 379x240, the size ``video edit`` writes its PNG frames at) is squeezed
onto the stored 320x240 grid, without a warning; it was scaled to cover and its middle cropped,
which moved a mask edge at on-screen column 300 to stored column 271 instead of 253. A
stored column j keeps the level of the on-screen point under its centre, (j + 0.5) * 379 / 320,
so the white part from on-screen column 300 covers stored columns 253..319."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from video.cli import main
from video.edit.mask import load_frames, read_levels
from video.edit.recipes import fit_clip, recolour
from video.media import write_video

H, W, SCREEN_W, EDGE, SAR = 240, 320, 379, 300, "32:27"


def _first_white_column() -> int:
    """The closed form: the first stored column whose centre lies on the white side of EDGE."""
    return next(j for j in range(W) if (j + 0.5) * SCREEN_W / W >= EDGE)


def _edge_png(path, width: int, edge: int, mode: str = "L") -> str:
    a = np.zeros((H, width), np.uint8)
    a[:, edge:] = 255
    Image.fromarray(a).convert(mode).save(path)
    return str(path)


@pytest.fixture(scope="module")
def anamorphic(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ana") / "ana.mp4"
    frames = np.zeros((2, H, W, 3), np.uint8)
    frames[..., 0], frames[..., 1], frames[..., 2] = 200, 60, 40
    write_video(frames, path, fps=8, sar=SAR)
    return str(path)


def test_closed_form_is_253():
    assert _first_white_column() == 253  # and the old cover-crop gave 300 - (379 - 320) // 2 = 271


def test_on_screen_mask_is_squeezed_onto_the_stored_grid(tmp_path):
    mask = _edge_png(tmp_path / "m.png", SCREEN_W, EDGE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "another aspect ratio" warning
        levels = read_levels(mask, 1, H, W, sar=SAR)
    assert levels.shape == (1, H, W)
    cols = np.flatnonzero((levels[0] >= 0.5).numpy().all(0))
    assert cols.tolist() == list(range(_first_white_column(), W))
    assert not (levels[0, :, :_first_white_column()] >= 0.5).any()


def test_other_shapes_still_cover_crop_with_a_warning(tmp_path):
    wide = _edge_png(tmp_path / "wide.png", 420, EDGE)  # neither the stored nor the on-screen shape
    with pytest.warns(UserWarning, match="another aspect ratio"):
        read_levels(wide, 1, H, W, sar=SAR)
    screen = _edge_png(tmp_path / "s.png", SCREEN_W, EDGE)
    with pytest.warns(UserWarning, match="another aspect ratio"):  # square pixels: 379x240 is another shape
        levels = read_levels(screen, 1, H, W)
    assert int(np.flatnonzero((levels[0] >= 0.5).numpy().all(0))[0]) == EDGE - (SCREEN_W - W) // 2


def test_background_clip_on_screen_is_squeezed(tmp_path):
    bg = _edge_png(tmp_path / "bg.png", SCREEN_W, EDGE, "RGB")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = fit_clip(bg, 2, H, W, sar=SAR)
    assert out.shape == (2, H, W, 3)
    white = np.flatnonzero((out[0, :, :, 0] >= 128).all(0))
    assert white.tolist() == list(range(_first_white_column(), W))


def test_recolour_recipe_reads_the_files_pixel_shape(anamorphic, tmp_path):
    """The Python API with a video file: the same squeeze, so the same output as the stored-grid
    mask of the closed form."""
    screen = _edge_png(tmp_path / "screen.png", SCREEN_W, EDGE)
    stored = _edge_png(tmp_path / "stored.png", W, _first_white_column())
    got = recolour(None, anamorphic, screen, hue=180, feather_px=0)
    want = recolour(None, anamorphic, stored, hue=180, feather_px=0)
    assert np.array_equal(got, want)


def _edit(argv, capsys) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 0, err
    return err


def test_edit_recolour_with_on_screen_mask(anamorphic, tmp_path, capsys):
    screen = _edge_png(tmp_path / "screen.png", SCREEN_W, EDGE)
    stored = _edge_png(tmp_path / "stored.png", W, _first_white_column())
    base = ["edit", "recolour", "--video", anamorphic, "--hue", "180", "--feather", "0"]
    err = _edit(base + ["--mask", screen, "--output", tmp_path / "a.mp4"], capsys)
    assert "aspect ratio" not in err, err
    _edit(base + ["--mask", stored, "--output", tmp_path / "b.mp4"], capsys)
    a, b = load_frames(tmp_path / "a.mp4"), load_frames(tmp_path / "b.mp4")
    assert np.array_equal(a, b)
    changed = np.flatnonzero((np.abs(a[0].astype(int) - [200, 60, 40]).sum(-1) > 60).all(0))
    assert changed[0] in (252, 253) and changed[-1] == W - 1  # 4:2:0 chroma pairs columns 252 and 253


def test_edit_background_clip_on_screen(anamorphic, tmp_path, capsys):
    screen = _edge_png(tmp_path / "bg.png", SCREEN_W, EDGE, "RGB")
    stored = tmp_path / "bg_stored.png"
    Image.open(screen).resize((W, H), Image.LANCZOS).save(stored)
    base = ["edit", "background", "--video", anamorphic, "--box", "0,0,40,40"]
    err = _edit(base + ["--background", screen, "--output", tmp_path / "a.mp4"], capsys)
    assert "aspect ratio" not in err, err
    _edit(base + ["--background", stored, "--output", tmp_path / "b.mp4"], capsys)
    assert np.array_equal(load_frames(tmp_path / "a.mp4"), load_frames(tmp_path / "b.mp4"))
