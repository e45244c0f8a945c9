"""Chunked temporal decoding against the whole-clip decode."""

import pytest
import torch

from eval.metrics import psnr
from video.runtime.decode import blend_weights, decode_latents, plan_windows


def test_windows_cover_and_weights_sum_to_one():
    for f, c, o in [(14, 14, 2), (25, 8, 2), (25, 6, 3), (10, 4, 0), (25, 4, 2), (10, 4, 3), (12, 6, 2)]:
        ws = plan_windows(f, c, o)
        total = torch.zeros(f)
        for i, (s, e) in enumerate(ws):
            assert e - s <= c
            total[s:e] += blend_weights(ws, i)
        assert torch.allclose(total, torch.ones(f))


def test_overlapping_windows_all_have_the_full_size():
    """A short tail window (25 frames in windows of 4: one frame) had the least temporal context,
    and its second shape made a compiled decoder compile every part again; with an overlap the
    last window slides back instead. Plain chunks (overlap 0) stay diffusers' own."""
    assert plan_windows(25, 4, 2)[-2:] == [(20, 24), (21, 25)]
    assert plan_windows(25, 4, 1) == [(0, 4), (3, 7), (6, 10), (9, 13), (12, 16), (15, 19), (18, 22), (21, 25)]
    assert plan_windows(25, 4, 0)[-1] == (24, 25)
    for f in range(2, 40):
        for c in range(1, f):
            for o in range(c):
                ws = plan_windows(f, c, o)
                assert ws[0][0] == 0 and ws[-1][1] == f
                assert all(b[0] > a[0] and b[0] <= a[1] for a, b in zip(ws, ws[1:], strict=False))  # advance, no gap
                if o:
                    assert {e - s for s, e in ws} == {c}


def test_two_windows_sharing_n_frames_cross_fade_linearly():
    ws = plan_windows(25, 8, 2)  # (0, 8), (6, 14), (12, 20), (17, 25)
    assert blend_weights(ws, 1).tolist() == pytest.approx([1 / 3, 2 / 3, 1, 1, 1, 1, 2 / 3, 1 / 3])
    assert blend_weights(ws, 3).tolist() == pytest.approx([1 / 4, 2 / 4, 3 / 4, 1, 1, 1, 1, 1])


def test_overlap_blending_beats_plain_chunks_at_the_seams(tiny_models):
    vae = tiny_models.vae
    # 64x96 frames (latents 8x12, the tiny tests' usual size): the seams are temporal, so the
    # per-frame PSNR pattern is that of 128x192 frames at a quarter of the decoder's work
    z = torch.randn(12, 4, 8, 12, generator=torch.Generator().manual_seed(0)) * vae.config.scaling_factor
    full = decode_latents(vae, z, chunk_size=12)
    plain = decode_latents(vae, z, chunk_size=4, overlap=0)
    blended = decode_latents(vae, z, chunk_size=6, overlap=2)  # same number of windows (3)

    def per_frame(x):
        return torch.tensor([psnr(x[i], full[i], data_range=2.0) for i in range(len(x))])

    p_plain, p_blend = per_frame(plain), per_frame(blended)
    print("\nPSNR (dB) vs whole-clip decode, per frame")
    print("plain chunks of 4     :", " ".join(f"{v:5.1f}" for v in p_plain.tolist()))
    print("chunks of 6, overlap 2:", " ".join(f"{v:5.1f}" for v in p_blend.tolist()))
    # Chunking changes the result (the decoder is temporal), worst at a seam...
    seams = [3, 4, 7, 8]
    assert p_plain.min() < 60 and p_plain.argmin().item() in seams + [0, 11]
    # ...and blending overlapping windows is closer to the whole-clip decode.
    assert p_blend.min() > p_plain.min()
    assert p_blend.mean() > p_plain.mean()


def test_single_window_is_exactly_the_whole_decode(tiny_models):
    vae = tiny_models.vae
    z = torch.randn(5, 4, 8, 12, generator=torch.Generator().manual_seed(1))
    ref = vae.decode(z / vae.config.scaling_factor, num_frames=5).sample
    assert torch.equal(decode_latents(vae, z, chunk_size=None), ref)


def test_windows_that_cannot_advance_are_refused():
    """chunk < 1 or overlap >= chunk looped for ever, growing the window list until memory ran out."""
    import pytest

    for chunk, overlap in [(0, 2), (-1, 2), (0, 0), (4, 4), (4, 6), (4, -1)]:
        with pytest.raises(ValueError, match="chunk >= 1"):
            plan_windows(25, chunk, overlap)
    assert plan_windows(5, 2, 1) == [(0, 2), (1, 3), (2, 4), (3, 5)]  # the largest overlap a window of 2 allows


def test_overlap_is_clamped_below_a_small_window(tiny_models):
    """A budget may leave room for one frame while the overlap is 2: windows of one frame each, so
    every frame is decoded alone (the reference: the VAE on each frame)."""
    vae = tiny_models.vae
    z = torch.randn(3, 4, 8, 12, generator=torch.Generator().manual_seed(2))
    ref = torch.cat([vae.decode(z[i:i + 1] / vae.config.scaling_factor, num_frames=1).sample for i in range(3)])
    assert torch.equal(decode_latents(vae, z, chunk_size=1, overlap=2), ref)


def test_a_compiled_decoder_traces_one_window_shape(tiny_models):
    """25 frames in plain windows of 4 end in a 1-frame window: a compiled decoder traced every
    part again for it (minutes of inductor on SVD-XT). The tail now runs eagerly, and windows
    with an overlap are all full-size, so each part is traced at one shape."""
    from torch._dynamo.utils import counters

    from video.models.blocks import compile_units
    from video.runtime.speed import compile_blocks

    vae = tiny_models.vae
    z = torch.randn(9, 4, 8, 12, generator=torch.Generator().manual_seed(2)) * vae.config.scaling_factor
    eager = {o: decode_latents(vae, z, chunk_size=4, overlap=o) for o in (0, 2)}
    torch._dynamo.reset()
    counters.clear()
    try:
        compile_blocks([vae.decoder], backend="eager")
        traced = {o: decode_latents(vae, z, chunk_size=4, overlap=o) for o in (0, 2)}
        graphs = counters["stats"]["unique_graphs"]
    finally:
        torch._dynamo.reset()
        for u in vae.modules():
            u._compiled_call_impl = None
    # one graph per distinct part: the count of a single 4-frame window's trace, no second shape
    torch._dynamo.reset()
    counters.clear()
    try:
        compile_blocks([vae.decoder], backend="eager")
        decode_latents(vae, z[:4], chunk_size=4)
        one_shape = counters["stats"]["unique_graphs"]
    finally:
        torch._dynamo.reset()
        for u in vae.modules():
            u._compiled_call_impl = None
    assert 0 < graphs == one_shape <= len(compile_units(vae.decoder))
    for o in (0, 2):
        assert torch.equal(traced[o], eager[o])
