"""``--guidance 0`` is the negative prompt alone (uncond + 0 (cond - uncond)): one batch item
per forward, the unconditional one, not the classifier-free batch of two whose conditional half
was weighted by 0. The velocity and the render equal the two-branch result."""

from __future__ import annotations

import pytest
import torch

import video.runtime.txt2vid as txt2vid
from video.diffusion.guidance import composable_cfg, guided_batch, needs_conds
from video.runtime.txt2vid import TextToVideo


@pytest.fixture(scope="module")
def tiny():
    return TextToVideo.from_pretrained("tiny")


@pytest.fixture()
def batches(tiny):
    """The batch size of every transformer forward (a hook that records, the forward runs)."""
    seen = []
    handle = tiny.models.transformer.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[0]))
    yield seen
    handle.remove()


@pytest.mark.parametrize("prompt, weights", [("a kite", [1.0]), ("a kite AND a boat:0.5", [1.0, 0.5])])
def test_scale_zero_runs_the_unconditional_item_alone(tiny, batches, prompt, weights):
    lat = tiny.models.latents
    x = torch.randn(1, lat.channels, lat.latent_frames(1), 4, 4, generator=torch.Generator().manual_seed(0))
    ts = torch.tensor([0.8, 0.4, 0.0])
    cond = tiny.prompts.encode(prompt, "blurry", 2)
    v = tiny.velocity_for(cond, ts, 0.0)(x, ts[0], 0)
    assert batches == [1]
    c = cond[0]
    assert [w for _, w in c.conds] == weights
    preds = [tiny._forward(x, ts[0], ctx) for ctx in (c.uncond, *(ct for ct, _ in c.conds))]
    assert (preds[1] - preds[0]).abs().max() > 1e-3  # the branches differ: dropping one is visible
    two_branch = composable_cfg(preds[0], preds[1:], weights, 0.0)  # the closed form, separate forwards
    assert torch.allclose(v, two_branch, atol=1e-6)


def test_a_render_at_scale_zero_equals_the_two_branch_render(tiny, batches, monkeypatch):
    kw = dict(negative_prompt="blurry", num_frames=1, height=64, width=64, num_inference_steps=3,
              guidance_scale=0.0, output_type="latent")
    one = tiny("a kite", generator=torch.Generator().manual_seed(3), **kw)
    assert batches == [1, 1, 1]
    batches.clear()
    monkeypatch.setattr(txt2vid, "needs_conds", lambda weights, scale: True)  # the batch of two, as before
    two = tiny("a kite", generator=torch.Generator().manual_seed(3), **kw)
    assert batches == [2, 2, 2]
    assert torch.allclose(one, two, atol=1e-5), (one - two).abs().max()


def test_other_scales_keep_their_branches(tiny, batches):
    """1: the prompt alone; 0.5 and 5: both branches."""
    kw = dict(num_frames=1, height=64, width=64, num_inference_steps=1, output_type="latent")
    for scale, batch in ((1.0, 1), (0.5, 2), (5.0, 2), (-1.0, 2)):
        batches.clear()
        tiny("a kite", guidance_scale=scale, **kw)
        assert batches == [batch], scale
        assert guided_batch([1.0], scale) == batch
    assert not needs_conds([1.0, 0.5], 0.0) and needs_conds([1.0, 0.0], 2.0) and not needs_conds([0.0], 3.0)
    assert guided_batch([1.0, 0.5], 0.0) == 1 and guided_batch([1.0, 0.5], 2.0) == 3
