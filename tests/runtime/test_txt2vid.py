"""Text-to-video: the tiny model end to end, our folder layout, and the Wan 2.1 path against
diffusers' own WanPipeline on the same tiny random model and latents."""

import math
import shutil

import numpy as np
import pytest
import torch

from video.diffusion.flow import time_shift
from video.models.dit import DiT
from video.models.svd import CheckpointError
from video.runtime.img2vid import InputError
from video.runtime.txt2vid import T2VModels, TextToVideo, _dit_config, build_tiny, save_t2v


@pytest.fixture(scope="module")
def tiny():
    return TextToVideo(build_tiny())


def test_tiny_renders_requested_frames_and_size(tiny):
    out = tiny("a red kite", num_frames=3, height=64, width=96, num_inference_steps=3,
               generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 64, 96, 3) and out.dtype == np.uint8 and out.std() > 5
    img = tiny("a red kite", num_frames=1, height=64, width=64, num_inference_steps=2)
    assert img.shape == (1, 64, 64, 3)


def test_prompt_language_reaches_the_model(tiny):
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    kw = dict(num_frames=2, height=64, width=64, num_inference_steps=4)
    base = tiny("a kite over a hill", generator=g(), **kw)
    assert np.array_equal(base, tiny("a kite over a hill", generator=g(), **kw))
    for other in ("a (kite:1.5) over a hill", "a [kite:dog:0.5] over a hill", "a kite over a hill AND a dog:0.7"):
        assert not np.array_equal(base, tiny(other, generator=g(), **kw)), other


def test_bad_sizes_and_frames(tiny):
    with pytest.raises(InputError, match="multiples of 16"):
        tiny("x", height=72, width=64, num_frames=1, num_inference_steps=1)
    with pytest.raises(InputError, match="sampler"):
        tiny("x", height=64, width=64, num_frames=1, num_inference_steps=1, sampler="ddim")
    # None is the model's default; an explicit 0 is an error, not the default (as in the CLI)
    for kw, needle in ((dict(num_frames=0), "at least one frame"), (dict(height=0), "multiples of 16"),
                       (dict(width=0), "multiples of 16"), (dict(num_inference_steps=0), "whole number >= 1")):
        with pytest.raises(InputError, match=needle):
            tiny("x", **{**dict(height=64, width=64, num_frames=1, num_inference_steps=1), **kw})


def test_bad_numbers_are_refused_before_any_work():
    """A shift outside (0, inf) makes the schedule pass through a pole (NaN latents, a black
    video); NaN or inf guidance does the same. Each is one line, before the prompt is even
    encoded (the encoder's cache stays empty); a finite negative guidance renders."""
    pipe = TextToVideo(build_tiny())
    kw = dict(num_frames=2, height=64, width=64, num_inference_steps=2)
    # the maths behind the shift rule: at shift -1 the 4-step schedule has a pole
    assert not torch.isfinite(time_shift(torch.linspace(1, 0, 5, dtype=torch.float64), -1.0)).all()
    bad = [dict(shift=-1.0), dict(shift=0.0), dict(shift=math.nan), dict(shift=math.inf),
           dict(guidance_scale=math.nan), dict(guidance_scale=-math.inf), dict(num_inference_steps=-1)]
    for extra in bad:
        with pytest.raises(InputError) as e:
            pipe("a kite", **{**kw, **extra})
        assert "\n" not in str(e.value) and ("shift" in str(e.value) or "guidance" in str(e.value)
                                             or "steps" in str(e.value)), extra
    assert pipe.prompts.cache == {}
    out = pipe("a kite", guidance_scale=-1.0, generator=torch.Generator().manual_seed(0), **kw)
    assert out.std() > 5


def _with_patch(patch) -> TextToVideo:
    m = build_tiny()
    cfg = m.config
    cfg.dit = {**cfg.dit, "patch_size": list(patch)}
    torch.manual_seed(0)
    return TextToVideo(T2VModels(DiT(_dit_config(cfg)).eval(), m.text_encoder, m.tokenizer, m.latents, cfg, "ours"))


@pytest.mark.parametrize("patch", [(2, 2, 2), (1, 2, 4)])
def test_sizes_follow_every_patch_axis(patch):
    """The reference is the DiT's own patch grid (``token_grid``): a size the checks accept must
    patchify, and a size they refuse must not (one line naming the valid values). With a
    temporal patch of 2, one frame is one latent frame: ``num_frames=1`` is refused."""
    pipe = _with_patch(patch)
    dit, f8 = pipe.models.transformer, pipe.models.latents.spatial_factor
    for frames in (1, 2, 3, 4):
        for h, w in ((32, 32), (32, 48), (48, 64), (64, 64)):
            try:
                dit.token_grid((1, 4, frames, h // f8, w // f8))
                fits = h % f8 == 0 and w % f8 == 0
            except ValueError:
                fits = False
            try:
                pipe.check_size(frames, h, w)
                accepted = True
            except InputError as e:
                accepted = False
                assert "\n" not in str(e) and ("2, 4, 6, 8" in str(e) or "(width)" in str(e)), str(e)
            assert accepted == fits, (patch, frames, h, w)
    out = pipe("a kite", num_frames=2, height=32, width=64, num_inference_steps=1)
    assert out.shape == (2, 32, 64, 3)


def test_broken_folders_of_our_layout_are_one_line(tmp_path, tiny):
    """Each broken part of our layout: a CheckpointError naming the folder and the part."""
    good = save_t2v(tiny.models, tmp_path / "good")

    def broken(name, change):
        p = tmp_path / name
        shutil.copytree(good, p)
        change(p)
        return p

    cases = {
        "text_encoder/": broken("no_text", lambda p: shutil.rmtree(p / "text_encoder")),
        "text_encoder": broken("pickled_text", lambda p: [f.unlink() for f in (p / "text_encoder").glob("*.safetensors")]),
        "tokenizer/": broken("empty_tok", lambda p: [f.unlink() for f in (p / "tokenizer").iterdir()]),
        "transformer/model.safetensors": broken("torn", lambda p: (p / "transformer" / "model.safetensors").write_bytes(b"x")),
        "does not fit": broken("wider", lambda p: (p / "video_pipeline.yaml").write_text(
            (p / "video_pipeline.yaml").read_text().replace("dim: 64", "dim: 32", 1))),
        "video_pipeline.yaml": broken("heads", lambda p: (p / "video_pipeline.yaml").write_text(
            (p / "video_pipeline.yaml").read_text().replace("heads: 4", "heads: 16", 1))),
        "vae/": broken("no_vae_cfg", lambda p: (p / "vae" / "config.json").unlink()),
    }
    for part, p in cases.items():
        with pytest.raises(CheckpointError) as e:
            TextToVideo.from_pretrained(p)
        msg = str(e.value)
        assert str(p) in msg and part in msg and "\n" not in msg, msg


def test_our_layout_round_trip(tmp_path, tiny):
    path = save_t2v(tiny.models, tmp_path / "t2v")
    again = TextToVideo.from_pretrained(path)
    kw = dict(num_frames=2, height=64, width=64, num_inference_steps=3)
    a = tiny("a kite", generator=torch.Generator().manual_seed(2), **kw)
    b = again("a kite", generator=torch.Generator().manual_seed(2), **kw)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


# --- Wan 2.1 through diffusers -----------------------------------------------------------

STEPS, SHIFT = 4, 3.0


def _wan_components():
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from video.models.text import build_tiny_tokenizer

    torch.manual_seed(0)
    tok = build_tiny_tokenizer("t5")
    text = UMT5EncoderModel(UMT5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                                       relative_attention_num_buckets=8, pad_token_id=tok.pad_token_id,
                                       eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id)).eval()
    transformer = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16,
                                        in_channels=4, out_channels=4, text_dim=32, freq_dim=32, ffn_dim=64,
                                        num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                                        eps=1e-6, rope_max_seq_len=32)
    vae = AutoencoderKLWan(base_dim=32, z_dim=4, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True],
                           latents_mean=[0.1, -0.2, 0.3, 0.0], latents_std=[1.5, 0.8, 1.2, 2.0])
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in transformer.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / (p[0].numel() ** 0.5 if p.ndim > 1 else 10))
    return dict(tokenizer=tok, text_encoder=text, transformer=transformer.eval(), vae=vae.eval(),
                scheduler=FlowMatchEulerDiscreteScheduler(shift=SHIFT))


@pytest.fixture(scope="module")
def wan_dir(tmp_path_factory):
    from diffusers import WanPipeline

    path = tmp_path_factory.mktemp("wan") / "tiny-wan"
    WanPipeline(**_wan_components()).save_pretrained(path, safe_serialization=True)
    return path


def test_wan_matches_diffusers_pipeline(wan_dir):
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

    class OurSchedule(FlowMatchEulerDiscreteScheduler):
        """Wan's own sampling grid (wan/utils/fm_solvers.py: linspace(1, 0, N + 1)[:N], shifted),
        which is also ours; diffusers' default ends its grid at 1/1000 instead of 1/N."""

        def set_timesteps(self, num_inference_steps=None, device=None, **kw):
            super().set_timesteps(sigmas=np.linspace(1.0, 0.0, num_inference_steps + 1)[:-1], device=device)

    ref = WanPipeline.from_pretrained(wan_dir)
    ref.scheduler = OurSchedule.from_config(ref.scheduler.config)
    ref.set_progress_bar_config(disable=True)
    ours = TextToVideo.from_pretrained(wan_dir)
    assert ours.models.layout == "wan-diffusers"
    frames, h, w = 5, 32, 48
    lat = torch.randn(1, 4, 2, h // 8, w // 8, generator=torch.Generator().manual_seed(4))
    kw = dict(num_frames=frames, height=h, width=w, num_inference_steps=STEPS, guidance_scale=5.0)
    a = ours("a red kite over the sea", negative_prompt="blurry", latents=lat, shift=SHIFT, **kw)
    b = ref("a red kite over the sea", negative_prompt="blurry", latents=lat, output_type="np", **kw).frames[0]
    b = (b * 255).round().astype(np.uint8)
    assert a.shape == b.shape == (frames, h, w, 3)
    assert a.std() > 5
    assert (np.abs(a.astype(int) - b.astype(int)) <= 2).mean() >= 0.99
    # and the comparison can fail: another shift moves the frames off
    c = ours("a red kite over the sea", negative_prompt="blurry", latents=lat, shift=1.0, **kw)
    assert (np.abs(c.astype(int) - b.astype(int)) <= 2).mean() < 0.9
    # the latents agree to float rounding, and the text and the guidance move them far more
    a_lat = ours("a red kite over the sea", negative_prompt="blurry", latents=lat, shift=SHIFT, output_type="latent",
                 **kw)
    b_lat = ref("a red kite over the sea", negative_prompt="blurry", latents=lat, output_type="latent", **kw).frames
    err = (a_lat - b_lat).abs().max().item()
    assert err < 1e-4
    for prompt, extra in (("a blue kite over the sea", {}), ("a red kite over the sea", dict(guidance_scale=1.0))):
        other = ours(prompt, negative_prompt="blurry", latents=lat, shift=SHIFT, output_type="latent", **{**kw, **extra})
        assert (other - b_lat).abs().max().item() > 100 * max(err, 1e-5), prompt


def test_wan_frames_must_be_4k_plus_1(wan_dir):
    pipe = TextToVideo.from_pretrained(wan_dir)
    with pytest.raises(InputError, match="4k\\+1"):
        pipe("x", num_frames=4, height=32, width=32, num_inference_steps=1)


def _our_schedule_ref(wan_dir, dtype=torch.float32):
    from diffusers import FlowMatchEulerDiscreteScheduler, WanPipeline

    class OurSchedule(FlowMatchEulerDiscreteScheduler):
        def set_timesteps(self, num_inference_steps=None, device=None, **kw):
            super().set_timesteps(sigmas=np.linspace(1.0, 0.0, num_inference_steps + 1)[:-1], device=device)

    ref = WanPipeline.from_pretrained(wan_dir, torch_dtype=dtype)
    ref.scheduler = OurSchedule.from_config(ref.scheduler.config)
    ref.set_progress_bar_config(disable=True)
    return ref


def test_wan_matches_diffusers_above_the_vae_tile_size(wan_dir):
    """At 288x288 (over the Wan VAE's 256 px tile) the default decode is whole frames, as in
    WanPipeline; forcing the tiled decode is what moved the frames off (the check can fail)."""
    ref = _our_schedule_ref(wan_dir)
    ours = TextToVideo.from_pretrained(wan_dir)
    frames, h, w = 5, 288, 288
    lat = torch.randn(1, 4, 2, h // 8, w // 8, generator=torch.Generator().manual_seed(4))
    kw = dict(num_frames=frames, height=h, width=w, num_inference_steps=2, guidance_scale=5.0)
    a = ours("a red kite", latents=lat, shift=SHIFT, **kw)
    b = (ref("a red kite", latents=lat, output_type="np", **kw).frames[0] * 255).round().astype(np.uint8)
    assert a.shape == b.shape == (frames, h, w, 3) and a.std() > 5
    assert (np.abs(a.astype(int) - b.astype(int)) <= 2).mean() >= 0.99
    tiled = TextToVideo(ours.models, vae_tiling=True)("a red kite", latents=lat, shift=SHIFT, **kw)
    assert (np.abs(tiled.astype(int) - b.astype(int)) <= 2).mean() < 0.99


def test_wan_bf16_keeps_the_fp32_modules_diffusers_keeps(wan_dir):
    """diffusers' from_pretrained in bf16 keeps WanTransformer3DModel's _keep_in_fp32_modules
    (scale_shift_table, time_embedder, norm1/2/3) in float32; so do we, with the same values."""
    from diffusers import WanTransformer3DModel

    ref = WanTransformer3DModel.from_pretrained(wan_dir, subfolder="transformer", torch_dtype=torch.bfloat16)
    ours = TextToVideo.from_pretrained(wan_dir, dtype=torch.bfloat16).models.transformer
    want = dict(ref.named_parameters())
    got = dict(ours.named_parameters())
    assert {k: p.dtype for k, p in got.items()} == {k: p.dtype for k, p in want.items()}
    kept = [k for k, p in want.items() if p.dtype == torch.float32]
    assert any("scale_shift_table" in k for k in kept) and any("time_embedder" in k for k in kept)
    assert any(".norm2." in k for k in kept)  # cross_attn_norm: blocks' norm2 has weights
    assert all(torch.equal(got[k], want[k]) for k in want)


@pytest.mark.filterwarnings("ignore:prompt ends in")  # the lone weight is the point here
def test_a_lone_weighted_term_keeps_its_weight_at_guidance_1(tiny):
    """``a kite:0.5`` at guidance 1 is uncond + 0.5 (cond - uncond) (composable CFG, the
    closed form from two separate forwards); the unconditional pass was skipped whenever the
    scale was 1, which returned the plain conditional prediction."""
    lat = tiny.models.latents
    x = torch.randn(1, lat.channels, lat.latent_frames(1), 4, 4, generator=torch.Generator().manual_seed(0))
    ts = torch.tensor([0.8, 0.4, 0.0])
    cond = tiny.prompts.encode("a kite:0.5", "", 2)
    v = tiny.velocity_for(cond, ts, 1.0)(x, ts[0], 0)
    c = cond[0]
    u_pred, c_pred = (tiny._forward(x, ts[0], ctx) for ctx in (c.uncond, c.conds[0][0]))
    assert (c_pred - u_pred).abs().max() > 1e-3  # the two predictions differ, so the weight matters
    assert torch.allclose(v, u_pred + 0.5 * (c_pred - u_pred), atol=1e-5)
    # the same through the pipeline: weight 0.5 at scale 1 is weight 1 at scale 0.5
    kw = dict(num_frames=1, height=64, width=64, num_inference_steps=2, output_type="latent")
    a = tiny("a kite:0.5", guidance_scale=1.0, generator=torch.Generator().manual_seed(2), **kw)
    b = tiny("a kite", guidance_scale=0.5, generator=torch.Generator().manual_seed(2), **kw)
    assert torch.allclose(a, b, atol=1e-5)
