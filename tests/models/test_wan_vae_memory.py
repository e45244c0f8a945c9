"""The memory rule behind the Wan VAE's tiling choice: ``wan_vae_bytes`` against a live-tensor
trace of diffusers' AutoencoderKLWan (Wan 2.1's config, random weights), and the choice itself."""

import pytest
import torch
from live_bytes import LiveBytes

from video.models.latents import VideoVAELatents, wan_vae_bytes

WAN21 = dict(base_dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, temperal_downsample=[False, True, True])

@pytest.fixture(scope="module")
def wan21_vae():
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    return AutoencoderKLWan(**WAN21).eval()


@pytest.mark.parametrize("latent_frames", [2, 3])
def test_untiled_decode_peak_matches_the_estimate(wan21_vae, latent_frames):
    h = w = 32
    z = torch.randn(1, 16, latent_frames, h // 8, w // 8)
    with LiveBytes() as live, torch.no_grad():
        wan21_vae.decode(z)
    est = wan_vae_bytes(96, 4 * latent_frames - 3, h, w, torch.float32)
    assert live.peak <= est <= 1.08 * live.peak, (live.peak, est)


def test_untiled_encode_peak_is_within_the_estimate(wan21_vae):
    x = torch.randn(1, 3, 9, 32, 32)
    with LiveBytes() as live, torch.no_grad():
        wan21_vae.encode(x)
    assert live.peak <= wan_vae_bytes(96, 9, 32, 32, torch.float32)


def test_tiling_choice():
    """Whole frames on the CPU unless asked; 81 frames of 1280x720 need about 18 GiB."""
    from diffusers import AutoencoderKLWan

    vae = AutoencoderKLWan(base_dim=32, z_dim=4, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True], latents_mean=[0.0] * 4, latents_std=[1.0] * 4).eval()
    cpu = torch.device("cpu")
    assert not VideoVAELatents(vae).use_tiling(81, 1024, 1024, cpu)
    assert VideoVAELatents(vae, tiling=True).use_tiling(5, 32, 32, cpu)
    assert not VideoVAELatents(vae, tiling=False).use_tiling(81, 1024, 1024, cpu)
    assert wan_vae_bytes(96, 81, 720, 1280, torch.float32) / 2**30 == pytest.approx(17.8, abs=0.1)
    lat = VideoVAELatents(vae)
    z = torch.randn(1, 4, 1, 36, 36)  # 288 px: over the VAE's 256 px tile
    whole = lat.decode(z)
    assert not vae.use_tiling
    lat.tiling = True
    assert not torch.equal(lat.decode(z), whole) and vae.use_tiling
