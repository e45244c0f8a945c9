import math

import pytest
import torch

from video.diffusion.edm import c_noise, initial_noise_scale, karras_sigmas, scalings


def test_scalings_closed_form():
    sigma = torch.tensor([0.002, 0.5, 1.0, 700.0], dtype=torch.float64)
    c_skip, c_out, c_in, cn = scalings(sigma)
    for i, s in enumerate(sigma.tolist()):
        assert c_skip[i].item() == pytest.approx(1 / (s * s + 1))
        assert c_out[i].item() == pytest.approx(-s / math.sqrt(s * s + 1))
        assert c_in[i].item() == pytest.approx(1 / math.sqrt(s * s + 1))
        assert cn[i].item() == pytest.approx(math.log(s) / 4)
    # D = c_skip x + c_out F is the identity on clean data when F is the exact v-target.
    x0, n = torch.randn(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    s = torch.tensor(3.0, dtype=torch.float64)
    x = x0 + s * n
    c_skip, c_out, c_in, _ = scalings(s)
    v = (c_skip * x - x0) / -c_out  # the target F that makes D exact
    assert torch.allclose(c_skip * x + c_out * v, x0)


def test_sigma_data_half_matches_edm_table():
    s = torch.tensor(2.0)
    c_skip, c_out, c_in, _ = scalings(s, sigma_data=0.5)
    assert c_skip.item() == pytest.approx(0.25 / 4.25)
    assert c_in.item() == pytest.approx(1 / math.sqrt(4.25))


def test_karras_sigmas_formula_and_endpoints():
    sig = karras_sigmas(25, 0.002, 700.0)
    assert sig.shape == (26,) and sig[-1] == 0
    assert sig[0].item() == pytest.approx(700.0, rel=1e-6) and sig[-2].item() == pytest.approx(0.002, rel=1e-5)
    assert torch.all(sig[:-1] > sig[1:])
    i, n, rho = 12, 25, 7.0
    expect = (700 ** (1 / rho) + i / (n - 1) * (0.002 ** (1 / rho) - 700 ** (1 / rho))) ** rho
    assert sig[i].item() == pytest.approx(expect, rel=1e-6)


def test_schedule_matches_diffusers_scheduler():
    """Independent reference: diffusers' EulerDiscreteScheduler in SVD's configuration."""
    from diffusers import EulerDiscreteScheduler

    sch = EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                 prediction_type="v_prediction", use_karras_sigmas=True, sigma_min=0.002,
                                 sigma_max=700.0, timestep_spacing="leading", timestep_type="continuous")
    sch.set_timesteps(25)
    ours = karras_sigmas(25, 0.002, 700.0)
    assert torch.allclose(ours, sch.sigmas.float(), rtol=1e-6, atol=0)
    assert torch.allclose(c_noise(ours[:-1]), sch.timesteps.float(), rtol=1e-6, atol=1e-7)
    assert initial_noise_scale(ours[0]) == pytest.approx(float(sch.init_noise_sigma), rel=1e-6)


def test_bad_steps():
    with pytest.raises(ValueError):
        karras_sigmas(0)


def test_loss_weight_makes_the_v_target_unit_weighted():
    """lambda(sigma) c_out(sigma)^2 = 1: the loss on D equals the plain MSE on the network's target."""
    from video.diffusion.edm import edm_loss, loss_weight

    sigma = torch.tensor([0.01, 0.5, 3.0, 80.0], dtype=torch.float64)
    _, c_out, _, _ = scalings(sigma)
    assert torch.allclose(loss_weight(sigma) * c_out**2, torch.ones_like(sigma))
    # A network that outputs the exact v-target has zero loss; one off by e has loss |e|^2.
    x0 = torch.randn(4, 3, dtype=torch.float64)
    n = torch.randn(4, 3, dtype=torch.float64)

    def exact(x_in, c_noise, offset=0.0):
        s = torch.exp(4 * c_noise).view(-1, 1)
        c_skip, c_out, c_in, _ = scalings(s)
        x = x_in / c_in
        return (x0 - c_skip * x) / c_out + offset

    assert torch.allclose(edm_loss(exact, x0, sigma, n), torch.zeros(4, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(edm_loss(exact, x0, sigma, n, offset=0.5), torch.full((4,), 0.25, dtype=torch.float64))


def test_log_normal_sigmas():
    from video.diffusion.edm import sample_log_normal_sigmas

    s = sample_log_normal_sigmas(50000, 0.7, 1.6, generator=torch.Generator().manual_seed(0))
    assert abs(s.log().mean().item() - 0.7) < 0.03 and abs(s.log().std().item() - 1.6) < 0.03
