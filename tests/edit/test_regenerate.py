"""Masked regeneration: schedules truncated by strength, the RePaint invariant at every step,
per-pixel strength, windows, routing, on the tiny DiT, a tiny Wan (4x temporal VAE) and the
tiny SVD, with a real clip."""

import json

import numpy as np
import pytest
import torch

from eval.metrics import psnr
from video.diffusion.edm import karras_sigmas
from video.diffusion.flow import flow_schedule
from video.diffusion.strength import (
    flow_edit_schedule,
    karras_edit_schedule,
    karras_ramp,
    renoise_edm,
    renoise_flow,
    unshift,
)
from video.edit.editor import Editor, FlowBackend, detect_model, plan_edit_windows
from video.edit.mask import latent_mask, load_mask
from video.edit.regenerate import regenerate
from video.media import MediaError, read_video, write_video
from video.models.svd import CheckpointError
from video.runtime.img2vid import InputError

BOX = "24,16,72,48"  # x0,y0,x1,y1 on the 64x96 clip


def test_flow_schedule_starts_at_strength_on_the_shifted_grid():
    assert torch.allclose(flow_edit_schedule(1.0, 6, 3.0).levels, flow_schedule(6, 3.0))
    s = flow_edit_schedule(0.6, 5, 3.0)
    assert s.levels[0] == pytest.approx(0.6) and s.levels[-1] == 0 and (s.levels.diff() < 0).all()
    u = unshift(s.levels.double(), 3.0)  # evenly spaced before the shift
    assert torch.allclose(u.diff(), u.diff()[0].expand(5), atol=1e-6)
    assert torch.allclose(s.taus, s.levels / 0.6)


def test_karras_schedule_truncated_by_strength():
    full = karras_edit_schedule(1.0, 8, 0.002, 700.0)
    assert torch.allclose(full.levels, karras_sigmas(8, 0.002, 700.0), rtol=1e-5)
    half = karras_edit_schedule(0.5, 8, 0.002, 700.0)
    mid = (0.002 ** (1 / 7) + 0.5 * (700 ** (1 / 7) - 0.002 ** (1 / 7))) ** 7  # the ramp's midpoint
    assert half.levels[0].item() == pytest.approx(mid, rel=1e-5)
    assert half.levels[-2].item() == pytest.approx(0.002, rel=1e-4) and half.levels[-1] == 0
    assert half.taus[0] == 1 and half.taus[-1] == 0 and (half.taus.diff() <= 0).all()
    assert karras_ramp(torch.tensor([0.0, 0.002, 700.0]), 0.002, 700.0).tolist() == pytest.approx([0, 0, 1], abs=1e-7)
    with pytest.raises(ValueError, match="strength"):
        karras_edit_schedule(0.0, 8, 0.002, 700.0)


def _x0_eps(editor, frames, seed=5):
    x_in = torch.from_numpy(frames).permute(3, 0, 1, 2)[None] / 127.5 - 1.0
    x0 = editor.backend.encode(x_in)
    return x0, torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))


def test_zero_mask_keeps_the_latent_and_is_refused_by_the_editor(tiny_editor, clip, tmp_path):
    ed = tiny_editor
    x0, eps = _x0_eps(ed, clip)
    prep = ed.backend.prepare("a red kite", None, 4, None, 0.8, None, "euler", tuple(x0.shape))
    sched, renoise, step_for = prep
    calls = []

    def step(x, lv, i):
        calls.append(1)
        return step_for(None, None)(x, lv, i)

    out = regenerate(step, x0, eps, sched, torch.zeros(1, 1, *x0.shape[2:]), renoise)
    assert len(calls) == 4 and torch.equal(out, x0)  # bit-exact after real model steps
    # an editor given a mask that selects nothing says so (it returned its input as a success)
    with pytest.raises(MediaError, match=r"empty after thresholding at 0.5; its highest level is 0.40"):
        ed(clip, mask=np.full(clip.shape[:3], 0.4, np.float32), prompt="a red kite", num_inference_steps=4)
    with pytest.raises(MediaError, match="every level is 0"):
        ed(clip, mask=np.zeros(clip.shape[:3]), soft=True, num_inference_steps=4)
    with pytest.raises(MediaError, match="inverted mask is empty"):
        ed(clip, mask=np.ones(clip.shape[:3]), invert=True, num_inference_steps=4)
    path = write_video(clip, tmp_path / "clip.mp4")
    from_file = ed(str(path), mask=BOX, strength=0.0, num_inference_steps=4)
    assert np.array_equal(from_file, read_video(path))  # exactly what the file decodes to
    assert psnr(from_file, clip) > 30  # and that is the clip within codec rounding


def _check_outside(editor, frames, mask, renoise, soft=False, **kw):
    """Run an edit with fixed eps and check, at every step, the RePaint invariant."""
    x0, eps = _x0_eps(editor, frames)
    m = load_mask(mask, *frames.shape[:3], soft=soft)
    g = editor.backend.lift(latent_mask(m, editor.backend.spatial_factor, editor.backend.temporal_factor))
    g = g.expand_as(x0)
    seen = []

    def cb(window, i, level, x):
        known = renoise(x0, eps, level)
        seen.append((i, float(level), torch.equal(x[g == 0], known[g == 0]), (x[g == 1] - known[g == 1]).abs().max()))

    out = editor(frames, mask=mask, latents=eps, callback=cb, soft=soft, **kw)
    return out, seen, m, g, x0, eps


def test_outside_the_mask_every_step_is_the_renoised_input(tiny_editor, clip):
    out, seen, m, _, _, _ = _check_outside(tiny_editor, clip, BOX, renoise_flow, prompt="a red kite",
                                           strength=0.9, num_inference_steps=4)
    assert [s[0] for s in seen] == [0, 1, 2, 3] and seen[-1][1] == 0.0
    assert all(s[2] for s in seen)  # outside: bit-exact at every step
    assert all(s[3] > 0.05 for s in seen[:-1])  # inside: the model's own path
    outside = m.numpy() == 0
    assert psnr(out[outside], clip[outside]) >= 40
    assert np.abs(out[~outside].astype(int) - clip[~outside]).mean() > 10  # the content changed


def test_svd_edit_keeps_the_invariant(svd_editor, clip):
    frames = clip[:8]
    with pytest.warns(UserWarning, match="no text encoder"):
        out, seen, m, _, _, _ = _check_outside(svd_editor, frames, BOX, renoise_edm, prompt="ignored",
                                               strength=0.7, num_inference_steps=3)
    assert len(seen) == 3 and all(s[2] for s in seen) and seen[0][3] > 0.01
    outside = m.numpy() == 0
    assert np.array_equal(out[outside], frames[outside])
    assert np.abs(out[~outside].astype(int) - frames[~outside]).mean() > 5


def test_grey_levels_are_per_pixel_strength(tiny_editor, clip):
    grey = np.zeros(clip.shape[:3], dtype=np.float32)
    grey[:, 16:48, 16:48] = 1.0
    grey[:, 16:48, 48:80] = 0.5
    ed = tiny_editor
    x0, eps = _x0_eps(ed, clip)
    g = ed.backend.lift(latent_mask(torch.from_numpy(grey), 8)).expand_as(x0)
    sched = flow_edit_schedule(1.0, 6, ed.backend.pipe.shift_for(tuple(x0.shape)))
    pinned = []

    def cb(window, i, level, x):
        known = renoise_flow(x0, eps, level)
        pinned.append(torch.equal(x[g == 0.5], known[g == 0.5]))

    ed(clip, mask=grey, soft=True, latents=eps, callback=cb, strength=1.0, num_inference_steps=6)
    # g = 0.5 follows the input's noisy path while the step starts above tau = 0.5, then is regenerated
    assert pinned == [bool(t > 0.5) for t in sched.taus[:-1]] and any(pinned) and not all(pinned)


def test_long_video_in_overlapping_windows(tiny_editor, clip):
    assert plan_edit_windows(20, 9, 2) == [(0, 9), (7, 16), (11, 20)]
    assert plan_edit_windows(5, 9, 2) == [(0, 5)]
    video = np.concatenate([clip, clip[::-1], clip[:2]])  # 20 frames
    windows = {}

    def cb(window, i, level, x):
        windows.setdefault(window, []).append(i)

    out = tiny_editor(video, mask=BOX, prompt="a kite", num_inference_steps=2, window=9, overlap=2, callback=cb,
                      generator=torch.Generator().manual_seed(0))
    assert out.shape == video.shape and windows == {0: [0, 1], 1: [0, 1], 2: [0, 1]}
    m = load_mask(BOX, 20, 64, 96).numpy() == 0
    assert np.array_equal(out[m], video[m])
    assert (np.abs(out.astype(int) - video).reshape(20, -1).max(1) > 0).all()  # every frame edited
    with pytest.raises(InputError, match="one-window"):
        tiny_editor(video, mask=BOX, latents=torch.zeros(1), window=9)


@pytest.fixture(scope="module")
def wan_editor():
    """Tiny random Wan 2.1 transformer on a tiny Wan video VAE (4x time, 8x space)."""
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from video.config import TextToVideoConfig, load_config
    from video.models.latents import latent_space_for
    from video.models.text import build_tiny_tokenizer
    from video.runtime.txt2vid import T2VModels, TextToVideo

    torch.manual_seed(0)
    tok = build_tiny_tokenizer("t5")
    text = UMT5EncoderModel(UMT5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4,
                                       relative_attention_num_buckets=8, pad_token_id=tok.pad_token_id,
                                       eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id)).eval()
    transformer = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16,
                                        in_channels=4, out_channels=4, text_dim=32, freq_dim=32, ffn_dim=64,
                                        num_layers=1, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                        eps=1e-6, rope_max_seq_len=32)
    with torch.no_grad():
        g = torch.Generator().manual_seed(3)
        for p in transformer.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / (p[0].numel() ** 0.5 if p.ndim > 1 else 10))
    vae = AutoencoderKLWan(base_dim=32, z_dim=4, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True],
                           latents_mean=[0.1, -0.2, 0.3, 0.0], latents_std=[1.5, 0.8, 1.2, 2.0])
    cfg = load_config(TextToVideoConfig, {"name": "tiny-wan", "backbone": "wan", "text_max_length": 16,
                                          "sampling": {"shift": 3.0, "num_frames": 9, "height": 32, "width": 48,
                                                       "guidance_scale": 1.0}})
    models = T2VModels(transformer.eval(), text, tok, latent_space_for(vae.eval()), cfg, layout="random")
    return Editor(FlowBackend(TextToVideo(models)))


def test_wan_video_vae_masks_whole_latent_frames(wan_editor, clip):
    frames = clip[:9, 16:48, 24:72].copy()  # 9 = 4k+1 frames of 32x48
    mask = np.zeros(frames.shape[:3], dtype=np.float32)
    mask[5:, 8:24, 16:32] = 1.0  # pixel frames 5..8: latent frame 2 only
    out, seen, m, g, x0, eps = _check_outside(wan_editor, frames, mask, renoise_flow, prompt="a kite",
                                              strength=1.0, num_inference_steps=3)
    assert g.shape[2] == 3 and g[0, 0, :2].sum() == 0 and g[0, 0, 2].sum() > 0
    assert all(s[2] for s in seen)
    keep = m.numpy() == 0
    assert np.array_equal(out[keep], frames[keep]) and np.array_equal(out[:5], frames[:5])
    assert np.abs(out[5:].astype(int) - frames[5:]).max() > 10
    # 7 frames is not 4k+1: padded to 9 for the VAE, cut back
    assert wan_editor(frames[:7], mask=mask[:7], num_inference_steps=1).shape == (7, 32, 48, 3)


def test_routing_and_errors(tiny_editor, clip, tmp_path, monkeypatch):
    assert detect_model("tiny") == "flow" and detect_model("tiny-svd") == "svd"
    for name, kind in (("WanVACEPipeline", "WanVACEPipeline"), ("WanPipeline", "flow"),
                       ("StableVideoDiffusionPipeline", "svd")):
        d = tmp_path / name
        d.mkdir()
        (d / "model_index.json").write_text(json.dumps({"_class_name": name}))
        assert detect_model(d) == kind
    import video.edit.vace as vace

    monkeypatch.setattr(vace.VaceEditor, "from_pretrained", classmethod(lambda cls, p, **kw: ("vace", p, kw)))
    assert Editor.from_pretrained(tmp_path / "WanVACEPipeline")[0] == "vace"
    anim = tmp_path / "anim"
    anim.mkdir()
    (anim / "model_index.json").write_text(json.dumps({"_class_name": "WanAnimatePipeline"}))
    for bad in (anim, tmp_path / "nothing-here", "no-such-model"):
        with pytest.raises(CheckpointError):
            detect_model(bad)
    kw = dict(mask=BOX, num_inference_steps=1)
    for bad, match in ((dict(control_video=clip), "VACE"), (dict(reference_images=[clip[0]]), "VACE"),
                       (dict(sampler="dpmpp_2m"), "one-step"), (dict(strength=1.5), "strength"),
                       (dict(num_frames=20), "20 frames"), (dict(height=72), "multiples")):
        with pytest.raises(InputError, match=match):
            tiny_editor(clip, **{**kw, **bad})


def test_an_empty_mask_inverted_edits_everything(tiny_editor, clip):
    """--invert on a black mask means 'edit every pixel' (it was refused as an empty mask)."""
    out = tiny_editor(clip, mask=np.zeros(clip.shape[:3], np.uint8), invert=True, strength=1.0,
                      num_inference_steps=1, generator=torch.Generator().manual_seed(0))
    assert out.shape == clip.shape and float((out != clip).mean()) > 0.9


def test_a_one_frame_window_edits_frame_by_frame(clip):
    """An image model (window 1, an exported dit_stage1_image) edits with no overlap by default
    (the default overlap of 1 was refused by the window check)."""
    from video.edit import Editor
    from video.edit.editor import default_overlap
    from video.runtime.txt2vid import TextToVideo, build_tiny

    assert [default_overlap(w) for w in (1, 2, 4, 8, 16)] == [0, 1, 1, 2, 4]
    ed = Editor(FlowBackend(TextToVideo(build_tiny())))
    ed.backend.window = 1
    out = ed(clip[:2], mask=BOX, strength=1.0, num_inference_steps=1, generator=torch.Generator().manual_seed(0))
    assert out.shape == clip[:2].shape


@pytest.mark.parametrize("shift", [-1.0, 0.0, float("nan")])
def test_a_bad_shift_is_refused_before_any_work(tiny_editor, clip, shift):
    """``video edit --shift -1`` returned an all-black video (NaN levels); txt2vid refuses it."""
    seen = []
    models = tiny_editor.backend.pipe.models
    nets = [models.transformer, *models.vae.children()]  # the VAE runs through its parts (encoder, decoder)
    hooks = [m.register_forward_pre_hook(lambda mod, a: seen.append(1)) for m in nets]
    try:
        with pytest.raises(InputError, match="shift must be a finite number > 0"):
            tiny_editor(clip, mask=BOX, strength=0.5, num_inference_steps=4, shift=shift)
        assert not seen
        tiny_editor(clip[:1], mask=BOX, strength=0.5, num_inference_steps=1, shift=3.0)
        assert seen  # the hooks see the networks run
    finally:
        for h in hooks:
            h.remove()
