"""A prompt whose weight float32 cannot hold is one line from the editor too, as from txt2vid,
not an all-black edit; and whole-number checks of image-to-video calls."""
import numpy as np
import pytest

from video.runtime.img2vid import InputError, check_request


def test_editor_refuses_an_overflowing_weight(tiny_editor):
    clip = np.full((5, 32, 32, 3), 128, np.uint8)
    with pytest.raises(InputError, match="float32 cannot hold"):
        tiny_editor(clip, mask="4,4,20,20", prompt="(a cat:" + "9" * 50 + ")", num_inference_steps=1)


@pytest.mark.parametrize("value", [3.0, "3", True])
def test_frames_must_be_whole_numbers(value):
    with pytest.raises(InputError, match="frames must be a whole number"):
        check_request(num_frames=value)


def test_numpy_integers_are_whole_numbers():
    check_request(num_frames=np.int64(3), steps=np.int32(2))
