"""First Block Cache on the tiny SVD UNet: exact when off, skips (and differs) when loose."""

import numpy as np
import pytest
import torch

from video.runtime.img2vid import ImageToVideo, InputError
from video.runtime.step_cache import FirstBlockCache, cached_unet_forward

KW = dict(num_frames=2, num_inference_steps=6, height=64, width=96, noise_aug_strength=0.0, decode_chunk_size=2)


def unet_inputs(unet, batch=2, frames=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = unet.config
    sample = torch.randn(batch, frames, c.in_channels, 8, 12, generator=g)
    emb = torch.randn(batch, 1, c.cross_attention_dim, generator=g)
    time_ids = torch.tensor([[6.0, 127.0, 0.02]]).repeat(batch, 1)
    return sample, torch.tensor(0.3), emb, time_ids


def test_threshold_zero_is_diffusers_forward_bit_for_bit(tiny_models):
    unet = tiny_models.unet
    sample, t, emb, ids = unet_inputs(unet)
    with torch.no_grad():
        ref = unet(sample, t, encoder_hidden_states=emb, added_time_ids=ids, return_dict=False)[0]
        cache = FirstBlockCache(0.0)
        for _ in range(3):  # never reuses, whatever it saw before
            out = cached_unet_forward(unet, cache, sample, t, emb, ids)
            assert torch.equal(out, ref)
    assert (cache.computed, cache.skipped) == (3, 0)


def test_reuse_adds_the_cached_rest_residual(tiny_models):
    """Same input twice: the first-block residual has not moved, so the second call skips the
    rest and returns the same output as the full call (up to the residual's add/subtract)."""
    unet = tiny_models.unet
    sample, t, emb, ids = unet_inputs(unet, seed=1)
    cache = FirstBlockCache(0.01)
    with torch.no_grad():
        full = cached_unet_forward(unet, cache, sample, t, emb, ids)
        again = cached_unet_forward(unet, cache, sample, t, emb, ids)
        moved = cached_unet_forward(unet, cache, sample * 3 + 1, t, emb, ids)  # far away: recompute
    assert (cache.computed, cache.skipped) == (2, 1)
    assert cache.changes[0] == 0.0 and cache.changes[1] > 0.01
    torch.testing.assert_close(again, full, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(moved, full)


def test_pipeline_threshold_zero_is_exact_and_loose_threshold_skips(tiny_models, photo):
    pipe = ImageToVideo(tiny_models)
    run = lambda **kw: pipe(photo, generator=torch.Generator().manual_seed(3), **KW, **kw)  # noqa: E731
    exact = run()
    assert pipe.last_timings.skipped == 0
    assert np.array_equal(run(cache_threshold=0.0), exact)
    fast = run(cache_threshold=0.5)
    skipped = pipe.last_timings.skipped
    print(f"\nthreshold 0.5: skipped {skipped}/{pipe.last_timings.evaluations} UNet evaluations")
    assert 0 < skipped < pipe.last_timings.evaluations  # the first step always runs in full
    assert not np.array_equal(fast, exact)
    with pytest.raises(InputError, match="cache_threshold"):
        run(cache_threshold=-1)
