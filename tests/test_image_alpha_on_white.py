"""Transparent pixels of a still image are laid on white, with a warning; opaque RGBA is unchanged."""

import numpy as np
import pytest
from PIL import Image

from video.media import load_image


def _cutout(tmp_path):
    a = np.zeros((8, 8, 4), np.uint8)
    a[..., 0] = 200  # red where opaque, and (hidden) red under the transparent pixels too
    a[2:6, 2:6, 3] = 255
    a[0, 0, 3] = 128  # one half-transparent pixel
    p = tmp_path / "cutout.png"
    Image.fromarray(a, "RGBA").save(p)
    return p, a


@pytest.mark.parametrize("form", ["path", "pil", "array"])
def test_transparent_pixels_are_laid_on_white(tmp_path, form):
    p, a = _cutout(tmp_path)
    source = {"path": p, "pil": Image.open(p), "array": a}[form]
    with pytest.warns(UserWarning, match="transparent pixels.*white"):
        out = np.asarray(load_image(source))
    assert out[3, 3].tolist() == [200, 0, 0]  # opaque: as it was
    assert out[7, 7].tolist() == [255, 255, 255]  # transparent: white, not the red under it
    # alpha 128 over white: 200*128/255 + 255*127/255 ~ 227 for red, 127 for green and blue
    assert np.abs(out[0, 0].astype(int) - [227, 127, 127]).max() <= 1


def test_opaque_rgba_and_palette_transparency(tmp_path, recwarn):
    a = np.full((4, 4, 4), 255, np.uint8)
    a[..., :3] = 10
    p = tmp_path / "opaque.png"
    Image.fromarray(a, "RGBA").save(p)
    assert np.asarray(load_image(p)).tolist() == np.full((4, 4, 3), 10).tolist()
    assert not [w for w in recwarn if "transparent" in str(w.message)]
    pal = Image.new("P", (4, 4), 1)
    pal.putpalette([0, 0, 0, 0, 0, 0] + [0] * 762)
    pal.info["transparency"] = 1
    q = tmp_path / "pal.png"
    pal.save(q, transparency=1)
    with pytest.warns(UserWarning, match="transparent"):
        assert np.asarray(load_image(q)).tolist() == np.full((4, 4, 3), 255).tolist()


def test_16_bit_grey_with_a_transparent_level(tmp_path):
    """A 16-bit grey PNG with a tRNS level: the ramp scaled to 8 bits, the transparent level
    white (convert("RGBA") clipped every 16-bit value to 255 first)."""
    ramp = np.tile(np.linspace(0, 65535, 8).astype(np.uint16), (2, 1))
    plain, trns = tmp_path / "g16.png", tmp_path / "g16_trns.png"
    Image.fromarray(ramp).save(plain)
    Image.fromarray(ramp).save(trns, transparency=0)
    expected = np.asarray(load_image(plain))[0, :, 0]
    assert expected.tolist() == [0, 36, 73, 109, 146, 182, 219, 255]
    with pytest.warns(UserWarning, match="transparent"):
        got = np.asarray(load_image(trns))[0, :, 0]
    assert got.tolist() == [255, *expected[1:].tolist()]  # level 0 is the transparent one: white
