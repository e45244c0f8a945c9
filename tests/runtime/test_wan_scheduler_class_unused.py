"""What the README says of Wan sampling: only the folder's ``flow_shift`` is read, not its
scheduler class (a UniPC folder and a flow-match Euler folder of the same shift render the
same frames), and our Euler on Wan's shifted grid matches diffusers' ``WanPipeline`` forced to
Euler on that grid within 1 uint8 level (its shipped UniPC at 50 steps would differ more).

The comparison is made on the latents too, and on a transformer whose cross-attention output
is 8 times the tiny random one's: with that one's the text barely moved the frames (guidance 5
against 1: 3 uint8 levels), so a prompt or guidance mistake could pass the frame comparison.
Here every such change moves the latents by over 100 times the difference from WanPipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_wan_folders import fx  # the tiny Wan parts (tests/edit/vace_fixtures.py)

F, H, W = 5, 32, 48
PROMPT, NEG = "a red kite", "blurry"


def _text_heavy_transformer():
    """The tiny random Wan transformer, its cross-attention output scaled by 8 so the text matters."""
    transformer = fx.lora_wan_transformer()
    with torch.no_grad():
        for block in transformer.blocks:
            block.attn2.to_out[0].weight.mul_(8.0)
    return transformer


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler, WanPipeline

    root = tmp_path_factory.mktemp("wansched")
    tok, text = fx.tiny_text()
    transformer = _text_heavy_transformer()
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
    a = unipc(PROMPT, negative_prompt=NEG, latents=_latents(), **kw)
    assert np.array_equal(a, euler(PROMPT, negative_prompt=NEG, latents=_latents(), **kw))
    ref = WanPipeline.from_pretrained(root / "unipc")
    ref.scheduler = fx.our_schedule(FlowMatchEulerDiscreteScheduler(shift=3.0))  # Euler on Wan's grid, shift 3
    ref.set_progress_bar_config(disable=True)
    b = (ref(PROMPT, negative_prompt=NEG, latents=_latents(), output_type="np", **kw).frames[0] * 255)
    b = b.round().astype(np.uint8)
    assert a.std() > 5 and np.abs(a.astype(int) - b.astype(int)).max() <= 1
    ours_lat = unipc(PROMPT, negative_prompt=NEG, latents=_latents(), output_type="latent", **kw)
    ref_lat = ref(PROMPT, negative_prompt=NEG, latents=_latents(), output_type="latent", **kw).frames
    err = (ours_lat - ref_lat).abs().max().item()
    assert err < 1e-4
    # the comparison can fail: the guidance, the prompt, the negative prompt and a weight each matter
    for prompt, neg, extra in ((PROMPT, NEG, dict(guidance_scale=1.0)), ("a blue kite", NEG, {}),
                               (PROMPT, "dark", {}), ("a (red:1.5) kite", NEG, {})):
        other = unipc(prompt, negative_prompt=neg, latents=_latents(), output_type="latent", **{**kw, **extra})
        assert (other - ref_lat).abs().max().item() > 100 * max(err, 1e-5), (prompt, neg, extra)
    frames_g1 = unipc(PROMPT, negative_prompt=NEG, latents=_latents(), **{**kw, "guidance_scale": 1.0})
    assert np.abs(frames_g1.astype(int) - b.astype(int)).max() > 5  # the frames see the text too
