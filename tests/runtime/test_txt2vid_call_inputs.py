"""TextToVideo's Python call: ``output_type`` as ImageToVideo takes it ("uint8", "float",
"latent"; diffusers' "np", "pil", "pt" and anything else refused before any work: every value
but "latent" used to come back as uint8), and one-line InputErrors for a prompt that is not one
string and a frame count or size that is not a whole number (they were TypeErrors from deep
inside the prompt parser or torch.randn)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from video.runtime.img2vid import OUTPUT_TYPES, InputError
from video.runtime.txt2vid import TextToVideo, build_tiny

KW = dict(num_frames=2, height=32, width=32, num_inference_steps=2)


@pytest.fixture(scope="module")
def pipe():
    return TextToVideo(build_tiny())


def _lat():
    return torch.randn(1, 4, 2, 4, 4, generator=torch.Generator().manual_seed(0))


def test_float_is_the_uint8_frames_in_0_1_and_latent_is_undecoded(pipe):
    assert OUTPUT_TYPES == ("uint8", "float", "latent")
    u8 = pipe("a red kite", latents=_lat(), **KW)
    f32 = pipe("a red kite", latents=_lat(), output_type="float", **KW)
    lat = pipe("a red kite", latents=_lat(), output_type="latent", **KW)
    assert u8.dtype == np.uint8 and f32.dtype == np.float32 and u8.shape == f32.shape == (2, 32, 32, 3)
    assert 0 <= f32.min() and f32.max() <= 1 and f32.std() > 0.02
    assert np.abs(np.round(f32 * 255) - u8).max() <= 1
    assert isinstance(lat, torch.Tensor) and lat.shape == (1, 4, 2, 4, 4) and lat.dtype == torch.float32


@pytest.mark.parametrize("output_type", ["np", "pil", "pt", "bogus", None])
def test_other_output_types_are_refused_before_any_work(pipe, output_type):
    steps = []
    with pytest.raises(InputError) as e:
        pipe("a new prompt never encoded", output_type=output_type, on_step=lambda d, n: steps.append(d), **KW)
    msg = str(e.value)
    assert "\n" not in msg and repr(output_type) in msg and "uint8, float, latent" in msg and "'np'" in msg
    assert steps == [] and "a new prompt never encoded" not in pipe.prompts.cache


@pytest.mark.parametrize("bad, words", [
    (dict(prompt=["a cat", "a dog"]), "prompt must be one string; got a list of 2"),
    (dict(prompt=None), "prompt must be a string; got NoneType"),
    (dict(prompt="a", negative_prompt=3), "negative_prompt must be a string"),
    (dict(prompt="a", num_frames=2.0), "num_frames must be a whole number; got 2.0"),
    (dict(prompt="a", height=32.0), "height must be a whole number; got 32.0"),
    (dict(prompt="a", guidance_scale="5"), "guidance_scale (--guidance) must be a finite number; got '5'"),
])
def test_bad_python_inputs_are_one_line_input_errors(pipe, bad, words):
    kw = {**KW, **bad}
    with pytest.raises(InputError) as e:
        pipe(**kw)
    assert "\n" not in str(e.value) and words in str(e.value)
