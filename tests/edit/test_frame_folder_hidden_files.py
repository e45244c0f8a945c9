"""A folder of frames copied through macOS onto exFAT or a network drive holds an AppleDouble
``._00000.png`` beside each frame (its metadata, not an image) and a ``.DS_Store``: hidden
names are skipped, as :mod:`video.atomic` skips ``._`` files beside its own, for the video and
for a mask folder alike (the folder stopped at "._00000.png is not an image we can read")."""

from __future__ import annotations

import numpy as np
from PIL import Image

from video.cli import main
from video.edit.mask import load_frames, load_mask


def _folder(path, frames: int = 3, size=(32, 24), value=None):
    path.mkdir()
    rng = np.random.default_rng(0)
    for i in range(frames):
        pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8) if value is None else \
            np.full((size[1], size[0], 3), value, np.uint8)
        Image.fromarray(pixels).save(path / f"{i:05d}.png")
        (path / f"._{i:05d}.png").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00")  # AppleDouble magic
    (path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return path


def test_frames_and_masks_skip_hidden_files(tmp_path):
    frames = load_frames(_folder(tmp_path / "frames"))
    assert frames.shape == (3, 24, 32, 3)
    mask = load_mask(str(_folder(tmp_path / "mask", value=255)), 3, 24, 32)
    assert mask.shape == (3, 24, 32) and bool((mask == 1).all())


def test_upscale_reads_such_a_folder(tmp_path, capsys):
    src = _folder(tmp_path / "frames")
    code = main(["upscale", str(src), "--model", "bicubic", "--output", str(tmp_path / "big.mp4")])
    assert code == 0, capsys.readouterr().err
    assert "wrote" in capsys.readouterr().out
