"""An image with an embedded colour profile other than sRGB (a Display P3 photo, as iPhones save
them) is converted to sRGB on the way in: its stored numbers read as sRGB were duller colours."""

import struct
import warnings

import numpy as np
from PIL import Image, ImageCms

from video.media import images, load_image, open_image


def _display_p3_icc() -> bytes:
    """A Display P3 matrix/TRC profile (Apple's primaries adapted to D50, gamma 2.2), built by hand."""
    def s15(x):
        return struct.pack(">i", round(x * 65536))

    def xyz(x, y, z):
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    text = b"Display P3 test\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 81
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(2.2 * 256))
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.82491)), (b"rXYZ", xyz(0.515102, 0.241182, -0.00105)),
            (b"gXYZ", xyz(0.291965, 0.692236, 0.041885)), (b"bXYZ", xyz(0.157153, 0.066583, 0.784056)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve), (b"cprt", b"text" + b"\0" * 4 + b"PD\0")]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for sig, d in tags:
        d += b"\0" * (-len(d) % 4)
        table, data = table + sig + struct.pack(">II", offset + len(data), len(d)), data + d
    body = struct.pack(">I", len(tags)) + table + data
    header = (struct.pack(">I", 128 + len(body)) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12
              + b"acspAPPL" + b"\0" * 24 + s15(0.9642) + s15(1.0) + s15(0.82491) + b"\0" * 48)
    return header + body


def _two_colours(mode="RGB"):
    a = np.zeros((8, 16, len(mode)), np.uint8)
    a[:, :8, :3], a[:, 8:, :3] = (40, 180, 60), (200, 100, 50)
    if mode == "RGBA":
        a[..., 3] = 255
    return a


def test_a_display_p3_png_is_read_in_srgb(tmp_path):
    p3 = tmp_path / "p3.png"
    Image.fromarray(_two_colours()).save(p3, icc_profile=_display_p3_icc())
    rgb = np.asarray(load_image(p3)).astype(int)
    assert np.abs(rgb[0, 0] - (0, 185, 23)).max() <= 1  # P3 green outside sRGB: clipped to its edge
    assert np.abs(rgb[0, 15] - (216, 93, 24)).max() <= 1
    im = open_image(p3)
    assert "icc_profile" not in im.info  # converted once, not again down the line


def test_the_alpha_channel_stays_and_srgb_files_are_untouched(tmp_path):
    rgba = tmp_path / "p3a.png"
    Image.fromarray(_two_colours("RGBA")).save(rgba, icc_profile=_display_p3_icc())
    im = open_image(rgba)
    assert im.mode == "RGBA" and np.abs(np.asarray(im)[0, 0].astype(int) - (0, 185, 23, 255)).max() <= 1
    srgb = tmp_path / "srgb.png"
    Image.fromarray(_two_colours()).save(srgb, icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
                                         .tobytes())
    assert np.array_equal(np.asarray(load_image(srgb)), _two_colours())


def test_a_broken_profile_is_one_warning_and_the_stored_pixels(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "_WARNED", set())
    bad = tmp_path / "bad.png"
    Image.fromarray(_two_colours()).save(bad, icc_profile=b"not a profile at all, just bytes" * 4)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        first, second = load_image(bad), load_image(bad)
    assert len(w) == 1  # once a run, not once a file
    assert "bad.png: its colour profile cannot be read" in str(w[0].message)
    assert np.array_equal(np.asarray(first), _two_colours()) and np.array_equal(np.asarray(second), _two_colours())
