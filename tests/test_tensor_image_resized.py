"""A float tensor image of another size is scaled and cropped as a PIL image is (it was a
MediaError traceback from the API); one of the render size is used as it is."""

import numpy as np
import torch
from PIL import Image

from video.media import image_to_tensor


def test_a_tensor_of_another_size_is_resized_as_the_same_picture_as_pil():
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 256, (40, 70, 3), dtype=np.uint8)
    t = torch.from_numpy(levels).permute(2, 0, 1).float() / 255
    from_tensor = image_to_tensor(t, 32, 48)
    from_pil = image_to_tensor(Image.fromarray(levels), 32, 48)
    assert from_tensor.shape == (1, 3, 32, 48)
    assert torch.equal(from_tensor, from_pil)
    assert torch.equal(image_to_tensor(t[None], 32, 48), from_pil)


def test_a_tensor_of_the_render_size_is_kept_exactly():
    t = torch.rand(3, 16, 24)
    assert torch.equal(image_to_tensor(t, 16, 24), t[None])


def test_a_tensor_that_is_not_one_colour_image_is_one_error():
    import pytest

    from video.media import MediaError

    for shape in ((1, 40, 60), (2, 3, 40, 60), (4, 40, 60)):
        with pytest.raises(MediaError, match="3xHxW or 1x3xHxW"):
            image_to_tensor(torch.rand(shape), 32, 32)
