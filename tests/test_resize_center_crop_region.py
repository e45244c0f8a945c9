"""``resize_center_crop`` resamples only the source region the crop shows: the same pixels as
scaling the whole image and cropping (the function as it was, kept here as the reference),
within a level or two of rounding, and an extreme ratio (8 x 100000) no longer builds the
100000 x 100000 scaled image first, which ran out of memory."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from video.media import resize_center_crop


def scale_then_crop(image: Image.Image, height: int, width: int) -> Image.Image:
    """The function before the change: scale the whole image to cover, then crop the centre."""
    w, h = image.size
    if (w, h) == (width, height):
        return image
    scale = max(width / w, height / h)
    nw, nh = max(width, round(w * scale)), max(height, round(h * scale))
    image = image.resize((nw, nh), Image.Resampling.LANCZOS)
    left, top = (nw - width) // 2, (nh - height) // 2
    return image.crop((left, top, left + width, top + height))


@pytest.fixture(scope="module")
def pictures():
    import skimage.data

    return [Image.fromarray(skimage.data.astronaut()), Image.fromarray(skimage.data.chelsea())]


@pytest.mark.parametrize("source", [(640, 480), (1024, 768), (512, 512), (300, 451), (97, 1000)])
def test_ordinary_sizes_keep_their_pixels(pictures, source):
    for picture in pictures:
        im = picture.resize(source, Image.Resampling.LANCZOS)
        for height, width in ((576, 1024), (1024, 576), (320, 512), (128, 192), (64, 64)):
            want = np.asarray(scale_then_crop(im, height, width)).astype(int)
            got = np.asarray(resize_center_crop(im, height, width)).astype(int)
            assert got.shape == want.shape == (height, width, 3)
            diff = np.abs(got - want)
            assert diff.max() <= 2 and diff.mean() < 0.25, (source, height, width, diff.max(), diff.mean())


@pytest.fixture
def no_huge_images(monkeypatch):
    """PIL's resize and crop, refusing (before allocating) any image of more than 4 million
    pixels: the extreme crops below are 800,000 pixels, the scaled whole image was 10**10."""
    for name in ("resize", "crop"):
        real = getattr(Image.Image, name)

        def guarded(self, *args, _real=real, _name=name, **kw):
            size = args[0] if _name == "resize" else None
            if _name == "crop":
                box = args[0] if args else kw.get("box")
                size = (box[2] - box[0], box[3] - box[1])
            assert size[0] * size[1] <= 4_000_000, f"{_name} to {size}"
            return _real(self, *args, **kw)

        monkeypatch.setattr(Image.Image, name, guarded)


@pytest.mark.parametrize("height,width", [(8, 100000), (100000, 8)])
def test_an_extreme_ratio_resamples_only_the_crop(pictures, no_huge_images, height, width):
    out = resize_center_crop(pictures[0], height, width)
    assert out.size == (width, height)
    a = np.asarray(out)
    assert a.std() > 0  # a picture, not a blank strip


def test_the_extreme_ratio_matches_the_middle_of_the_whole(pictures):
    """Where the whole scaled image still fits (8 x 4000 of a 512 x 512 photo: 4000 x 4000),
    the strip is its centre, as before."""
    want = np.asarray(scale_then_crop(pictures[0], 8, 4000)).astype(int)
    got = np.asarray(resize_center_crop(pictures[0], 8, 4000)).astype(int)
    assert got.shape == want.shape and np.abs(got - want).max() <= 2
