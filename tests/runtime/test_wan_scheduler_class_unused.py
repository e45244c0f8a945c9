"""What the README says of Wan sampling: only the folder's ``flow_shift`` is read, not its
scheduler class (a UniPC folder and a flow-match Euler folder of the same shift render the
same frames), and our Euler on Wan's shifted grid matches diffusers' ``WanPipeline`` forced to
Euler on that grid within 1 uint8 level (its shipped UniPC at 50 steps would differ more)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_wan_folders import fx  # the tiny Wan parts (tests/edit/vace_fixtures.py)

F, H, W = 5, 32, 48


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler, WanPipeline

    root = tmp_path_factory.mktemp("wansched")
    tok, text = fx.tiny_text()
    transformer = fx.lora_wan_transformer()
    unipc = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000,
                                    flow_shift=3.0)
    for name, scheduler in (("unipc", unipc), ("euler", FlowMatchEulerDiscreteScheduler(shift=3.0))):
        WanPipeline(tokenizer=tok, text_encoder=text, transformer=transformer, vae=fx.tiny_vae(),
                    scheduler=scheduler).save_pretrained(root / name, safe_serialization=True)
    return root


def _latents():
    return torch.randn(1, 4, 2, H // 8, W // 8, generator=torch.Generator().manual_seed(4))


def test_only_the_flow_shift_is_read_and_euler_matches_diffusers(root):
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

    from video.runtime.txt2vid import TextToVideo

    kw = dict(num_frames=F, height=H, width=W, num_inference_steps=4, guidance_scale=5.0)
    unipc, euler = TextToVideo.from_pretrained(root / "unipc"), TextToVideo.from_pretrained(root / "euler")
    assert unipc.config.sampling.shift == euler.config.sampling.shift == 3.0
    a = unipc("a red kite", negative_prompt="blurry", latents=_latents(), **kw)
    assert np.array_equal(a, euler("a red kite", negative_prompt="blurry", latents=_latents(), **kw))
    ref = WanPipeline.from_pretrained(root / "unipc")
    ref.scheduler = fx.our_schedule(FlowMatchEulerDiscreteScheduler(shift=3.0))  # Euler on Wan's grid, shift 3
    ref.set_progress_bar_config(disable=True)
    b = (ref("a red kite", negative_prompt="blurry", latents=_latents(), output_type="np", **kw).frames[0] * 255)
    b = b.round().astype(np.uint8)
    assert a.std() > 5 and np.abs(a.astype(int) - b.astype(int)).max() <= 1
