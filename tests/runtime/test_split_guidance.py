"""Classifier-free guidance's two halves one after the other (``split_guidance``): the UNet's
activation estimate against a live-tensor trace, the budget arithmetic for SVD-XT, and the
same frames as the guided batch of two."""

import numpy as np
import pytest
import torch

from video.config import load_model_config
from video.models.svd import build_random, build_unet
from video.runtime.img2vid import ImageToVideo
from video.runtime.memory import GIB, guidance_fits_together, unet_bytes_per_item


def traced_unet_bytes(cfg, frames: int, h: int, w: int) -> int:
    """Peak live activation bytes of one batch item through the UNet on fake tensors."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed._tools.mem_tracker import MemTracker

    unet = build_unet(cfg).eval()
    c = unet.config
    with FakeTensorMode(allow_non_fake_inputs=True):
        x = torch.randn(1, frames, c.in_channels, h, w)
        emb = torch.randn(1, 1, c.cross_attention_dim)
        tracker = MemTracker()
        tracker.track_external(unet)
        with tracker, torch.no_grad():
            unet(x, torch.tensor(1.0), encoder_hidden_states=emb, added_time_ids=torch.randn(1, 3))
        peak = tracker.get_tracker_snapshot("peak")[torch.device("cpu")]
    return next(v for k, v in peak.items() if "ACT" in str(k))


@pytest.mark.parametrize("frames,h,w", [(4, 16, 16), (8, 32, 48)])
def test_unet_estimate_matches_the_trace(frames, h, w):
    cfg = load_model_config("tiny")
    est = unet_bytes_per_item(cfg.unet.block_out_channels[0], frames, h, w, torch.float32)
    assert est == pytest.approx(traced_unet_bytes(cfg, frames, h, w), rel=0.05)


def test_svd_xt_guidance_does_not_fit_ten_gib_together():
    """25 x 72 x 128 latents in float16: 3.7 GiB per item; two beside 4.2 GiB of weights pass
    10 GiB, one at a time fits (the issue's peak target)."""
    per = unet_bytes_per_item(320, 25, 72, 128, torch.float16)
    assert per / GIB == pytest.approx(3.71, abs=0.01)
    resident = int(4.2 * GIB)
    assert not guidance_fits_together(per, int(10 * GIB), resident)
    assert guidance_fits_together(per / 2, int(10 * GIB), resident)  # one item's peak fits (as two halves')
    assert guidance_fits_together(per, int(16 * GIB), resident)


def test_split_halves_give_the_batched_frames(photo):
    pipe = ImageToVideo(build_random(load_model_config("tiny"), seed=0))
    batches = []
    pipe.models.unet.register_forward_pre_hook(lambda mod, args: batches.append(args[0].shape[0]))
    kw = dict(num_frames=3, num_inference_steps=3, height=64, width=96, output_type="float",
              min_guidance_scale=1.5, max_guidance_scale=3.0)
    together = pipe(photo, generator=torch.Generator().manual_seed(4), split_guidance=False, **kw)
    assert pipe.last_split_guidance is False and set(batches) == {2}
    batches.clear()
    split = pipe(photo, generator=torch.Generator().manual_seed(4), split_guidance=True, **kw)
    assert pipe.last_split_guidance is True and set(batches) == {1} and len(batches) == 2 * 3
    np.testing.assert_allclose(split, together, atol=2e-5)
    pipe(photo, generator=torch.Generator().manual_seed(4), **kw)
    assert pipe.last_split_guidance is False  # auto on CPU: never
    with pytest.warns(UserWarning, match=r"^split guidance is not used with the step cache \(cache_threshold 0.05\)"):
        pipe(photo, generator=torch.Generator().manual_seed(4), split_guidance=True, cache_threshold=0.05, **kw)
    assert pipe.last_split_guidance is False  # First Block Cache runs the batch of two, and says so
