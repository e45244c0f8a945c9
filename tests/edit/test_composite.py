"""The editor's pixel composite and per-pixel strength on the tiny DiT with a real clip: thin
masks fully regenerated, soft levels edited at about g x strength and blended by g, faint
levels (JPEG noise) left exact, and inputs of any size edited at their own size."""

import numpy as np
import pytest
import torch
from PIL import Image

from video.edit.mask import composite_alpha, load_mask
from video.media import resize_center_crop


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _final(editor, frames, **kw):
    """(output frames, the final latent) of an edit."""
    last = {}

    def cb(window, i, level, x):
        last["x"] = x.clone()

    out = editor(frames, callback=cb, generator=_gen(), **kw)
    return out, last["x"]


def _decoded(editor, x):
    """The window's generated pixels, as the editor computes them before compositing."""
    return ((editor.backend.decode(x)[0].clamp(-1, 1) + 1) * 127.5).permute(1, 2, 3, 0).numpy()


@pytest.mark.parametrize("width", [4, 16])
def test_thin_masks_are_fully_regenerated(tiny_editor, clip, width):
    """A stroke 4 or 16 px wide: every masked pixel is the generated one (alpha 1), but for a
    1-px band along a 16-px stroke's edges (a ramp of a quarter of its 8-px depth: 1/2);
    pixels outside are the input's."""
    frames = clip[:5]
    m = np.zeros((64, 96), np.float32)
    m[8:56, 40:40 + width] = 1
    out, x = _final(tiny_editor, frames, mask=m, strength=1.0, num_inference_steps=2)
    gen = _decoded(tiny_editor, x)
    sel = m.astype(bool)
    band = np.zeros_like(sel)
    if width == 16:  # the ramp's first step, on each side of the stroke
        band[8:56, [40, 55]] = True
        band[[8, 55], 40:56] = True
    o = frames.astype(np.float32)
    assert np.abs(out[:, sel & ~band].astype(np.float32) - np.clip(np.round(gen[:, sel & ~band]), 0, 255)).max() == 0
    half = np.clip(np.round(o[:, band] + 0.5 * (gen[:, band] - o[:, band])), 0, 255)
    assert np.array_equal(out[:, band], half.astype(np.uint8))
    assert np.array_equal(out[:, ~sel], frames[:, ~sel])
    # the map itself: 1 on the whole stroke but the band, 0 outside
    alpha = composite_alpha(torch.from_numpy(m)[None], 8)[0].numpy()
    assert (alpha[sel & ~band] == 1).all() and (alpha[band] == 0.5).all() and (alpha[~sel] == 0).all()


def test_wide_masks_keep_the_full_feather():
    m = torch.zeros(1, 96, 96)
    m[0, 8:88, 8:88] = 1  # 80 px: at least 4 x 8 deep, the 8-px ramp of the plain feather
    from video.edit.mask import feather

    assert torch.equal(composite_alpha(m, 8), feather(m, 8))
    arm = m.clone()
    arm[0, 46:50, 88:96] = 1  # a 4-px arm on it: the arm is regenerated fully
    assert (composite_alpha(arm, 8)[0, 46:50, 90:96] == 1).all()


def _latent_change(editor, frames, x0, **kw):
    _, x = _final(editor, frames, **kw)
    return (x - x0)[..., 2:6, 3:9].abs().mean().item()  # the latent cells inside the box


def test_soft_level_edits_at_about_g_times_strength(tiny_editor, clip):
    """In latent space (the tiny VAE is random, pixels say little): a box at grey level g
    edited at strength 1 moves the latent about as much as a hard box at strength g, never
    more; g below the last step's level (0.125 here) is left unedited, as ComfyUI rounds. The
    rule that compared g with the next level edited any g > 0 from the last level (strength
    0.125 and up) and g = 0.4 from 0.5."""
    frames = clip
    x0 = tiny_editor.backend.encode(torch.from_numpy(frames).permute(3, 0, 1, 2)[None] / 127.5 - 1.0)
    box = np.zeros((64, 96), np.float32)
    box[16:48, 24:72] = 1
    for g in (0.05, 0.4):
        soft = _latent_change(tiny_editor, frames, x0, mask=box * g, soft=True, strength=1.0, num_inference_steps=8)
        hard = _latent_change(tiny_editor, frames, x0, mask=box, strength=g, num_inference_steps=8)
        assert soft <= 1.02 * hard, (g, soft, hard)
        if g < 0.125:
            assert soft == 0.0
        else:
            assert soft >= 0.7 * hard, (g, soft, hard)


def test_soft_composite_blends_by_the_level(tiny_editor, clip):
    """With --soft and no feather, a pixel at level g is o + g (generated - o): exactly."""
    frames = clip[:5]
    g = np.zeros((64, 96), np.float32)
    g[16:48, 24:48] = 0.6
    g[16:48, 48:72] = 1.0
    out, x = _final(tiny_editor, frames, mask=g, soft=True, strength=1.0, num_inference_steps=4, feather_px=0)
    gen, o = _decoded(tiny_editor, x), frames.astype(np.float32)
    expect = np.clip(np.round(o + g[None, ..., None] * (gen - o)), 0, 255).astype(np.uint8)
    assert np.array_equal(out, expect)


def test_jpeg_noise_around_a_soft_mask_keeps_the_pixels(tiny_editor, clip, tmp_path):
    """A circle saved as JPEG: its ringing (grey levels of a few percent) spreads around it.
    With --soft those faint levels are below every step's tau, so they stay unedited and are
    not composited: kept pixels stay exact (the composite used m > 0 and replaced them all by
    the VAE's output). And a uniform 0.02 'almost keep' level around a box stays the input."""
    import cv2

    frames = clip[:5]
    m = np.zeros((64, 96), np.uint8)
    cv2.circle(m, (48, 32), 14, 255, -1)
    path = tmp_path / "circle.jpg"
    Image.fromarray(m).save(path, quality=90)
    levels = load_mask(str(path), 5, 64, 96, soft=True).numpy()
    far = cv2.dilate(m, np.ones((9, 9), np.uint8)) == 0  # > 4 px from the circle
    assert 0 < levels[0][far].max() <= 0.1 and (levels[0][far] > 0).sum() >= 10  # the noise is there
    out = tiny_editor(frames, mask=str(path), soft=True, strength=1.0, generator=_gen(), num_inference_steps=4)
    assert np.abs(out[:, far].astype(int) - frames[:, far]).max() <= 1
    assert np.abs(out[:, m > 128].astype(int) - frames[:, m > 128]).mean() > 10  # the circle was edited
    faint = np.full((64, 96), 0.02, np.float32)
    faint[16:48, 24:72] = 1.0
    out = tiny_editor(frames, mask=faint, soft=True, strength=1.0, generator=_gen(), num_inference_steps=4)
    keep = faint < 1
    assert np.array_equal(out[:, keep], frames[:, keep])


@pytest.mark.parametrize("h, w", [(70, 100), (72, 128)])
def test_any_size_is_edited_at_its_own_size(tiny_editor, clip, h, w):
    """Sizes that are not multiples of 16: padded for the model and cropped back, so the output
    has the input's size and every unmasked pixel is the input's (they were resized or cropped
    to 64x96 / 64x128 before)."""
    frames = np.stack([np.asarray(resize_center_crop(Image.fromarray(f), h, w)) for f in clip[:3]])
    box = "40,20,72,52"
    out = tiny_editor(frames, mask=box, strength=1.0, generator=_gen(), num_inference_steps=1)
    m = load_mask(box, 3, h, w).numpy() > 0
    assert out.shape == frames.shape
    assert np.array_equal(out[~m], frames[~m]) and np.abs(out[m].astype(int) - frames[m]).mean() > 10
    assert np.array_equal(tiny_editor(frames, mask=box, strength=0.0), frames)
    # a mask reaching the right and bottom edges is regenerated up to them (the padding continues it)
    edge = np.zeros((h, w), np.float32)
    edge[h - 12:, w - 12:] = 1
    out = tiny_editor(frames, mask=edge, strength=1.0, generator=_gen(), num_inference_steps=1)
    alpha = composite_alpha(torch.from_numpy(np.pad(edge, ((0, -h % 16), (0, -w % 16)), mode="reflect"))[None], 8)
    assert (alpha[0, h - 4:h, w - 4:w] == 1).all()
    assert np.array_equal(out[:, edge == 0], frames[:, edge == 0])


def test_overlap_must_be_below_the_window(tiny_editor, clip):
    from video.runtime.img2vid import InputError

    with pytest.raises(InputError, match="overlap must be between 0 and the window - 1"):
        tiny_editor(clip, mask="0,0,8,8", overlap=30, num_inference_steps=1)  # the model's window is 9
    with pytest.raises(InputError, match="got height 40"):
        tiny_editor(clip, mask="0,0,8,8", height=40, num_inference_steps=1)
