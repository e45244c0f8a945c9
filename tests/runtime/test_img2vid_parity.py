"""Our loop against diffusers' StableVideoDiffusionPipeline on the same tiny model and latents."""

import numpy as np
import pytest
import torch

from video.runtime.img2vid import ImageToVideo, InputError

F, H, W = 6, 64, 96  # half the tiny defaults' sides: the comparison is per pixel, a third of the time
KW = dict(num_frames=F, num_inference_steps=6, height=H, width=W, noise_aug_strength=0.0, fps=7,
          motion_bucket_id=127, decode_chunk_size=F)


@pytest.fixture(scope="module")
def reference(tiny_diffusers_dir):
    from diffusers import StableVideoDiffusionPipeline

    pipe = StableVideoDiffusionPipeline.from_pretrained(tiny_diffusers_dir)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def ours(tiny_diffusers_dir):
    return ImageToVideo.from_pretrained(tiny_diffusers_dir)


@pytest.fixture(scope="module")
def small_photo(photo):
    """The session's photograph at H x W, the size rendered here, as ``photo`` is at the defaults'."""
    from video.media import resize_center_crop

    return resize_center_crop(photo, H, W)


def latents(seed=1):
    return torch.randn(1, F, 4, H // 8, W // 8, generator=torch.Generator().manual_seed(seed))


def ref_frames(reference, photo, lat, **kw):
    out = reference(photo, latents=lat, output_type="np", **{**KW, **kw}).frames[0]
    return (out * 255).round().astype(np.uint8)


def close_fraction(a, b, tol=2):
    assert a.shape == b.shape == (F, H, W, 3)
    return (np.abs(a.astype(int) - b.astype(int)) <= tol).mean()


@pytest.mark.parametrize("cfg", [(1.0, 2.5), (1.0, 1.0)], ids=["cfg", "no-cfg"])
def test_matches_diffusers(ours, reference, small_photo, cfg):
    lat = latents()
    a = ours(small_photo, latents=lat, min_guidance_scale=cfg[0], max_guidance_scale=cfg[1], **KW)
    b = ref_frames(reference, small_photo, lat, min_guidance_scale=cfg[0], max_guidance_scale=cfg[1])
    assert a.std() > 10  # a real picture, not a flat field
    assert close_fraction(a, b) >= 0.99


def test_parity_detects_a_perturbed_sigma(tiny_diffusers_dir, reference, small_photo):
    """The parity check can fail: a different sigma_max moves the frames far off."""
    pipe = ImageToVideo.from_pretrained(tiny_diffusers_dir)
    pipe.models.config.sampling.sigma_max = 600.0
    lat = latents()
    a = pipe(small_photo, latents=lat, **KW)
    b = ref_frames(reference, small_photo, lat)
    assert close_fraction(a, b) < 0.9


def test_same_seed_same_video_and_sampler_choice(ours, small_photo):
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    kw = dict(num_frames=3, num_inference_steps=3, height=H, width=W)
    a = ours(small_photo, generator=g(), **kw)
    b = ours(small_photo, generator=g(), **kw)
    assert np.array_equal(a, b)
    for sampler in ("heun", "dpmpp_2m"):
        c = ours(small_photo, generator=g(), sampler=sampler, **kw)
        assert c.shape == a.shape and not np.array_equal(a, c)


def test_input_errors(ours, photo):
    with pytest.raises(InputError, match="sampler"):
        ours(photo, num_frames=2, num_inference_steps=1, sampler="plms")
    with pytest.raises(InputError, match="latents"):
        ours(photo, num_frames=2, num_inference_steps=1, latents=torch.zeros(1, 3, 4, 16, 24))
    with pytest.warns(UserWarning, match="multiple of"):
        out = ours(photo, num_frames=2, num_inference_steps=1, height=130, width=200)
    assert out.shape[1:3] == (128, 192)
    with pytest.warns(UserWarning, match="trained on"):
        ours(photo, num_frames=9, num_inference_steps=1)
