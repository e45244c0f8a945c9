"""The editor holds the clip once, as uint8: only the window at work is float32 (a float32
copy of the whole clip, then two more for the final round and clip, peaked at 13x the clip
in NumPy alone), the composite weights are made per window, and the result is the same as
compositing the whole clip in float32 (frames pinned from the previous window unrounded)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import torch


def _clip(frames: int, height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:height, 0:width]
    card = np.stack([x * 4, y * 4, (x + y) * 2], -1) % 256
    return np.clip(card[None] + rng.normal(0, 12, (frames, height, width, 3)), 0, 255).astype(np.uint8)


def test_editor_peak_near_the_clip(tiny_editor):
    clip = _clip(41, 48, 64)  # 5 windows of 9 frames
    tiny_editor(clip[:9], mask="8,8,40,40", num_inference_steps=1)  # warm-up
    tracemalloc.start()
    try:
        out = tiny_editor(clip, mask="8,8,40,40", num_inference_steps=1, generator=torch.Generator().manual_seed(0))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.shape == clip.shape and out.dtype == np.uint8
    assert peak < 4.5 * clip.nbytes, peak / clip.nbytes


def _whole_clip_reference(editor, clip, mask, **kw):
    """The editor's windows composited into a float32 copy of the whole clip, as it was done:
    each window's generated frames recorded through the decode, blended in float32."""
    from video.edit.editor import plan_edit_windows
    from video.edit.mask import composite_alpha, load_mask

    be = editor.backend
    gens, inputs = [], []
    encode, decode = be.encode, be.decode

    def record_in(x):
        inputs.append(x[0].permute(1, 2, 3, 0).clone())
        return encode(x)

    def record(x):
        y = decode(x)
        gens.append(((y[0].clamp(-1, 1) + 1) * 127.5).permute(1, 2, 3, 0).numpy().copy())
        return y

    be.encode, be.decode = record_in, record
    try:
        got = editor(clip, mask=mask, **kw)
    finally:
        be.encode, be.decode = encode, decode
    alpha = composite_alpha(load_mask(mask, *clip.shape[:3]), be.spatial_factor).numpy()[..., None]
    out, done = clip.astype(np.float32), 0
    for (a, b), gen, x_in in zip(plan_edit_windows(len(clip), kw["window"], kw["overlap"]), gens, inputs, strict=True):
        keep = max(0, done - a)
        # the frames shared with the last window go in as it composited them, unrounded
        assert torch.equal(x_in[:keep], torch.from_numpy(out[a:a + keep]) / 127.5 - 1.0)
        o = clip[a + keep:b].astype(np.float32)
        out[a + keep:b] = np.where(alpha[a + keep:b] > 0, o + alpha[a + keep:b] * (gen[keep:b - a] - o), o)
        done = b
    return got, np.clip(np.round(out), 0, 255).astype(np.uint8)


def test_editor_result_is_the_whole_clip_composite(tiny_editor):
    clip = _clip(19, 48, 64)
    got, want = _whole_clip_reference(tiny_editor, clip, "4,6,44,30", num_inference_steps=1, window=9, overlap=3,
                                      generator=torch.Generator().manual_seed(0))
    assert np.array_equal(got, want)
