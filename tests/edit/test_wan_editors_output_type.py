"""VACE and Animate take ``output_type`` as ImageToVideo and TextToVideo do: "uint8" (default),
"float" (float32 in [0, 1]) and "latent"; diffusers' "np", "pil", "pt" and anything else are a
one-line InputError before any work (each used to come back as uint8 under its name). A prompt
that is not one string is refused the same way."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from vace_fixtures import moving_clip

from video.runtime.img2vid import InputError

F, H, W = 5, 32, 32


@pytest.fixture(scope="module")
def vace(vace_dir):
    from video.edit.vace import VaceEditor

    return VaceEditor.from_pretrained(vace_dir)


@pytest.fixture(scope="module")
def animator():
    from video.edit.animate import Animator

    return Animator.from_pretrained("tiny")


def _animate_inputs():
    return dict(image=moving_clip(1, 40, 30)[0], pose_video=255 - moving_clip(F, H, W, seed=1),
                face_video=moving_clip(F, 16, 16, seed=2))


def _vace_call(vace, **kw):
    return vace(prompt="a red kite", num_frames=F, height=H, width=W, num_inference_steps=2,
                generator=torch.Generator().manual_seed(0), **kw)


def _animate_call(animator, **kw):
    return animator(**_animate_inputs(), prompt="a dancer", num_inference_steps=2,
                    generator=torch.Generator().manual_seed(0), **kw)


@pytest.mark.parametrize("which", ["vace", "animator"])
def test_float_is_the_uint8_frames_in_0_1(request, which):
    pipe = request.getfixturevalue(which)
    call = _vace_call if which == "vace" else _animate_call
    u8, f32 = call(pipe), call(pipe, output_type="float")
    assert u8.dtype == np.uint8 and f32.dtype == np.float32 and u8.shape == f32.shape == (F, H, W, 3)
    assert 0 <= f32.min() and f32.max() <= 1 and f32.std() > 0.01
    assert np.abs(np.round(f32 * 255) - u8).max() <= 1


@pytest.mark.parametrize("which", ["vace", "animator"])
@pytest.mark.parametrize("output_type", ["np", "pil", "pt", "bogus"])
def test_other_output_types_are_refused_before_any_work(request, which, output_type):
    pipe = request.getfixturevalue(which)
    call = _vace_call if which == "vace" else _animate_call
    steps = []
    with pytest.raises(InputError) as e:
        call(pipe, output_type=output_type, on_step=lambda d, n: steps.append(d))
    assert "\n" not in str(e.value) and repr(output_type) in str(e.value) and "uint8, float, latent" in str(e.value)
    assert steps == []


def test_a_prompt_list_is_refused(vace, animator):
    with pytest.raises(InputError, match="prompt must be one string; got a list of 2"):
        vace(prompt=["a", "b"], num_frames=F, height=H, width=W, num_inference_steps=2)
    with pytest.raises(InputError, match="prompt must be a string; got NoneType"):
        animator(**_animate_inputs(), prompt=None, num_inference_steps=2)
