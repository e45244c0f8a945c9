"""What ``ImageToVideo`` accepts: one image, settings in range, an output type it implements;
anything else is one InputError before any network runs."""

import numpy as np
import pytest
import torch

from video.runtime.decode import decode_latents
from video.runtime.img2vid import ImageToVideo, InputError

KW = dict(num_frames=2, num_inference_steps=1, height=128, width=192)


@pytest.fixture(scope="module")
def pipe(tiny_models):
    return ImageToVideo(tiny_models)


@pytest.fixture()
def runs(pipe):
    """Names of the networks that ran during the test."""
    seen = []
    nets = {"image_encoder": pipe.models.image_encoder, "unet": pipe.models.unet, "decoder": pipe.models.vae.decoder}
    hooks = [m.register_forward_pre_hook(lambda mod, a, n=n: seen.append(n)) for n, m in nets.items()]
    yield seen
    for h in hooks:
        h.remove()


def g():
    return torch.Generator().manual_seed(0)


def _t(photo):
    return torch.from_numpy(np.array(photo)).permute(2, 0, 1).float() / 255


@pytest.mark.parametrize("make", [
    lambda p: [p, p],                                             # diffusers' batch of two
    lambda p: torch.stack([_t(p), _t(p)]),                        # (2, 3, H, W)
    lambda p: _t(p)[None, :1],                                    # grey (1, 1, H, W)
    lambda p: _t(p)[0],                                           # (H, W)
    lambda p: (_t(p) * 255).to(torch.uint8),                      # uint8 tensor: would be read as 0..255 in [0, 1]
    lambda p: _t(p) * 255,                                        # float tensor in 0..255
    lambda p: np.asarray(p).astype(np.float32) - 1,               # float array below 0
    lambda p: np.asarray(p).astype(np.float32) * 2,               # float array above 255
    lambda p: np.asarray(p).astype(np.uint16) * 257,              # 16-bit array: the uint8 cast wrapped it
    lambda p: np.asarray(p)[..., 0],                              # H x W
], ids=["list", "batch-tensor", "grey-tensor", "2d-tensor", "uint8-tensor", "float-tensor-255", "float-array-negative", "float-array-over-255",
        "uint16-array", "2d-array"])
def test_anything_but_one_image_is_refused_before_any_work(pipe, photo, runs, make):
    with pytest.raises(InputError, match="give one image: a path, a PIL image") as e:
        pipe(make(photo), generator=g(), **KW)
    assert "\n" not in str(e.value) and runs == []


def test_float_array_in_0_1_is_the_picture_not_black(pipe, photo):
    """A float array in [0, 1] (diffusers' convention) used to be cast to uint8 as it was: black.
    One in 0..255 is read as such (as video.edit.mask.load_frames reads float frames)."""
    arr = np.asarray(photo)
    ref = pipe(arr, generator=g(), output_type="float", **KW)
    got = pipe(arr.astype(np.float32) / 255, generator=g(), output_type="float", **KW)
    assert np.array_equal(got, ref)
    assert np.array_equal(pipe(arr.astype(np.float64), generator=g(), output_type="float", **KW), ref)
    black = pipe(np.zeros_like(arr), generator=g(), output_type="float", **KW)
    assert not np.array_equal(black, ref)


def test_tensor_forms_are_the_same_image(pipe, photo):
    t = _t(photo)
    a = pipe(t, generator=g(), output_type="float", **KW)
    assert np.array_equal(a, pipe(t[None], generator=g(), output_type="float", **KW))


@pytest.mark.parametrize("kw,needle", [
    (dict(fps=0), "fps must be >= 1"),
    (dict(fps=-5), "fps must be >= 1"),
    (dict(motion_bucket_id=-40), "motion_bucket_id must be >= 0"),
    (dict(noise_aug_strength=-0.3), "noise_aug_strength must be >= 0"),
    (dict(min_guidance_scale=-2.0), "min_guidance_scale must be >= 0"),
    (dict(max_guidance_scale=-1.0), "max_guidance_scale must be >= 0"),
    (dict(decode_chunk_size=0), "decode_chunk_size must be >= 1"),
    (dict(decode_chunk_size=-1), "decode_chunk_size must be >= 1"),
    (dict(decode_overlap=-1), "decode_overlap must be >= 0"),
    (dict(height=-64), "height and width must be >= 1"),
    (dict(width=-192), "height and width must be >= 1"),
    # None is the model's default; an explicit 0 is an error, not the default (as in the CLI)
    (dict(height=0), "height and width must be >= 1"),
    (dict(num_frames=0), "frames must be at least 1"),
    (dict(num_inference_steps=0), "steps must be at least 1"),
    (dict(output_type="np"), "choose one of uint8, float, latent"),
    (dict(output_type="pil"), "choose one of uint8, float, latent"),
    (dict(output_type="pt"), "choose one of uint8, float, latent"),
])
def test_settings_out_of_range_are_refused_before_any_work(pipe, photo, runs, kw, needle):
    with pytest.raises(InputError, match=needle):
        pipe(photo, generator=g(), **{**KW, **kw})
    assert runs == []


def test_latent_output_skips_the_decoder_and_decodes_to_the_frames(pipe, photo, runs):
    lat = pipe(photo, generator=g(), output_type="latent", **KW)
    assert "decoder" not in runs and pipe.last_timings.decode == 0
    assert isinstance(lat, torch.Tensor) and lat.shape == (1, 2, 4, 16, 24)
    frames = pipe(photo, generator=g(), output_type="float", decode_chunk_size=2, **KW)
    ref = (decode_latents(pipe.models.vae, lat[0], chunk_size=2) / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1)
    assert np.array_equal(frames, ref.numpy())
    uint8 = pipe(photo, generator=g(), decode_chunk_size=2, **KW)
    assert uint8.dtype == np.uint8 and np.array_equal(uint8, np.round(frames * 255).astype(np.uint8))


def test_a_falling_guidance_ramp_guides_each_frame_at_its_scale(pipe, photo):
    """min 3, max 1 asks frame 0 for scale 3 and the last for 1 (sgm's guider ramps either
    way); it ran every frame unguided because only max_scale was read. Closed form: the
    denoiser is linear in the scale, D_s = D_1 + (s - 1)(D_2 - D_1), with D_1 the conditional
    denoiser (guidance off) and D_2 uniform scale 2, each from its own run."""
    from video.diffusion import FramewiseLinearCFG

    frames, h, w = 3, 128, 192
    x = torch.randn(1, frames, 4, h // 8, w // 8, generator=g())
    sigma = torch.tensor(5.0)

    def denoised(lo, hi):
        d = pipe.denoiser_for(photo, frames, h, w, 7, 127, 0.0, FramewiseLinearCFG(lo, hi), g())
        return d(x, sigma)

    d1, d2, ramp = denoised(1.0, 1.0), denoised(2.0, 2.0), denoised(3.0, 1.0)
    assert (d2 - d1).abs().max() > 1e-3  # guidance changes the prediction here
    expected = d1 + (torch.tensor([2.0, 1.0, 0.0]).view(1, -1, 1, 1, 1)) * (d2 - d1)  # s - 1 = 2, 1, 0
    assert torch.allclose(ramp, expected, atol=1e-4)


@pytest.fixture(scope="module")
def half():
    return ImageToVideo.from_pretrained("tiny", dtype=torch.float16)


@pytest.mark.parametrize("path", [dict(), dict(split_guidance=True), dict(cache_threshold=0.1)],
                         ids=["batched", "split", "first-block-cache"])
def test_fp16_unet_gets_the_float32_time_input(half, photo, path):
    """diffusers passes the scheduler's float32 timestep and the UNet casts only the sinusoidal
    embedding to fp16; rounding c_noise itself to fp16 moved it by up to 4.6e-4 over 25 steps.
    The UNet's time projection must see c_noise(sigma_max) in float32, bit for bit, on every
    UNet path (its First-Block-Cache copy included)."""
    from video.diffusion import c_noise, karras_sigmas

    seen = []
    hook = half.models.unet.time_proj.register_forward_pre_hook(lambda mod, a: seen.append(a[0]))
    try:
        half(photo, generator=g(), output_type="latent", **KW, **path)
    finally:
        hook.remove()
    s = half.config.sampling
    expected = c_noise(karras_sigmas(1, s.sigma_min, s.sigma_max)[0])
    assert expected.dtype == torch.float32 and expected.half().float() != expected  # fp16 would round it
    assert seen and seen[0].dtype == torch.float32
    assert torch.equal(seen[0], expected.expand_as(seen[0]))
