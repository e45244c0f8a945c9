"""Stage 0 of the quickstart: fitting the image VAE, its latent normalisation, its saved folder."""

import math

import pytest
import torch
from diffusers import AutoencoderKL

from video.models.latents import ImageVAELatents
from video.training.data import MovingShapes
from video.training.vae_fit import fit_vae, latent_normalisation, psnr, reconstruct


def _vae(seed: int = 0) -> AutoencoderKL:
    torch.manual_seed(seed)
    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, down_block_types=("DownEncoderBlock2D",) * 2,
                         up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(16, 16), layers_per_block=1,
                         norm_num_groups=8)


def _frames(n: int, size: int) -> torch.Tensor:
    shapes = MovingShapes(n, 1, size, size)
    return torch.stack([shapes[i]["video"][0] for i in range(n)])


def test_psnr_closed_form():
    x = torch.zeros(2, 3, 4, 4)
    assert psnr(x, x + 0.1) == pytest.approx(10 * math.log10(4 / 0.01))
    assert psnr(x, x) == math.inf


def test_fitting_lowers_reconstruction_error_on_a_fixed_batch():
    frames = _frames(8, 16)
    vae = _vae()
    before = psnr(reconstruct(vae.eval(), frames), frames)
    losses = fit_vae(vae, [frames], steps=60, batch_size=8, lr=3e-3, progress=False)
    after = psnr(reconstruct(vae, frames), frames)
    assert len(losses) == 60 and sum(losses[-10:]) < 0.5 * sum(losses[:10])
    assert after > before + 6, (before, after)


def test_pools_of_two_sizes_take_turns():
    small, large = _frames(8, 16), _frames(8, 32)
    vae = _vae()
    fit_vae(vae, [small, large], steps=2, batch_size=4, progress=False)  # 4 frames of 16 px, then 1 of 32 px
    assert reconstruct(vae, large).shape == large.shape


def test_normalised_latents_have_zero_mean_and_unit_std_in_the_runtime():
    frames = _frames(16, 16)
    vae = _vae().eval()
    shift, scale = latent_normalisation(vae, frames)
    vae.register_to_config(scaling_factor=scale, shift_factor=shift)
    z = ImageVAELatents(vae).encode(frames.unsqueeze(2))  # the runtime's own encode: (z - shift) * scale
    assert z.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert z.std().item() == pytest.approx(1.0, abs=1e-4)


def test_stage0_saves_a_model_folder_that_reloads_and_is_reused(tmp_path):
    from video.runtime.txt2vid import load_t2v
    from video.training.quickstart import VAEStage, fit_tiny_vae

    st = VAEStage(steps=3, down_blocks=2, data="shapes", sizes=[16, 32], batch_size=4, holdout=4)
    first = fit_tiny_vae(st, tmp_path / "vae")
    m = load_t2v(first["model"])
    assert m.latents.spatial_factor == 2 and first["spatial_factor"] == 2
    assert m.latents.scale == pytest.approx(first["scaling_factor"])
    assert m.latents.shift == pytest.approx(first["shift_factor"])
    saved = {k: v.clone() for k, v in m.vae.state_dict().items()}
    again = fit_tiny_vae(st, tmp_path / "vae")  # a rerun resumes on the same VAE, no refit
    assert again == first
    reloaded = load_t2v(again["model"]).vae.state_dict()
    assert all(torch.equal(saved[k], reloaded[k]) for k in saved)
