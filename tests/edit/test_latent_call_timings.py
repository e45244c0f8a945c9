"""``last_timings`` after an ``output_type="latent"`` call: nothing was decoded, so its decode
time is 0. TextToVideo and VaceEditor returned before setting it, and still showed the previous
call's decode time (ImageToVideo always set it)."""

import numpy as np
import torch
from vace_fixtures import moving_clip

from video.edit.vace import VaceEditor
from video.runtime.txt2vid import TextToVideo


def _check(pipe, **kw):
    pipe(**kw)
    assert pipe.last_timings.decode > 0  # a decoded call measures its decode
    pipe(output_type="latent", **kw)
    assert pipe.last_timings.decode == 0 and pipe.last_timings.denoise > 0


def test_text_to_video_latent_call_times_no_decode():
    pipe = TextToVideo.from_pretrained("tiny")
    _check(pipe, prompt="a kite", num_frames=1, height=32, width=32, num_inference_steps=2,
           generator=torch.Generator().manual_seed(0))


def test_vace_latent_call_times_no_decode(vace_dir):
    mask = np.zeros((5, 32, 32), np.uint8)
    mask[:, 8:24] = 255
    _check(VaceEditor.from_pretrained(vace_dir), prompt="a kite", video=moving_clip(5, 32, 32), mask=mask,
           num_inference_steps=2, generator=torch.Generator().manual_seed(0))
