"""The DiT trains on the time shift it samples with (``objective.shift``): t = time_shift of a
logit-normal draw, ``auto`` the runtime's rule at the batch's latent shape (the model config's
sampling.shift, else by token count), which at the shipped configs' tiny sizes is 1: their
training is unchanged."""

import math
from statistics import NormalDist

import pytest
import torch

from video.config import ConfigError, load_config
from video.diffusion.flow import logit_normal_timesteps
from video.training.config import TrainConfig
from video.training.tasks import TASKS, shifted_logit_normal


def cfg(*overrides) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml",
                       ["init_from=", "data.height=16", "data.width=16", *overrides])


@pytest.mark.parametrize("mean,std,shift", [(0.0, 1.0, 3.0), (0.4, 0.7, 1.7), (-0.3, 1.2, 0.5)])
def test_shifted_draws_follow_the_shifted_logit_normal(mean, std, shift):
    t = shifted_logit_normal(400_000, mean, std, shift, generator=torch.Generator().manual_seed(1)).double()
    qs = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
    got = torch.quantile(t, torch.tensor(qs, dtype=torch.float64))
    for q, g in zip(qs, got.tolist(), strict=True):  # t is monotone in u: its quantiles are u's, mapped
        s = 1 / (1 + math.exp(-(mean + std * NormalDist().inv_cdf(q))))
        assert g == pytest.approx(shift * s / (1 + (shift - 1) * s), abs=3e-3), q


def test_shift_one_is_the_plain_logit_normal_bit_for_bit():
    a = shifted_logit_normal(1000, 0.2, 0.9, 1.0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, logit_normal_timesteps(1000, 0.2, 0.9, generator=torch.Generator().manual_seed(3)))


class Spy(torch.nn.Module):
    """The real model, noting the times it is called at."""

    def __init__(self, model):
        super().__init__()
        self.model, self.ts = model, []

    def forward(self, x, t, context):
        self.ts.append(t.detach().clone())
        return self.model(x, t, context)


def times_of_a_step(task, seed=5, b=4):
    from video.training.data import MovingShapes
    from video.training.loading import collate

    d = task.cfg.data
    batch = collate([MovingShapes(8, d.frames, d.height, d.width, d.fps)[i] for i in range(b)])
    task.model = Spy(task.model)
    task.loss(batch, torch.Generator().manual_seed(seed))
    return task.model.ts[0].cpu()


def expected(seed, b, mean, std, shift):
    g = torch.Generator().manual_seed(seed)
    torch.rand(b, generator=g)  # the caption-dropout draw comes first
    s = torch.sigmoid(torch.randn(b, generator=g) * std + mean)
    return shift * s / (1 + (shift - 1) * s)


def test_the_trainer_draws_shifted_times():
    task = TASKS["dit_t2v"](cfg("objective.shift=3", "objective.t_mean=0.5"))
    torch.testing.assert_close(times_of_a_step(task), expected(5, 4, 0.5, 1.0, 3.0))


def test_auto_is_the_runtimes_shift():
    task = TASKS["dit_t2v"](cfg())
    assert task.cfg.objective.shift == "auto"  # the default: train as the runtime samples
    # tiny model: 8x VAE, 2x2 patches; 9 x 48 x 48 latents = 9 x 24 x 24 tokens: sqrt(5184 / 4096)
    assert task.shift_for((1, 4, 9, 48, 48)) == pytest.approx(math.sqrt(5184 / 4096))
    torch.testing.assert_close(times_of_a_step(task), expected(5, 4, 0.0, 1.0, 1.0))  # small: no shift
    task.models.config.sampling.shift = 5.0  # a model that names its sampling shift
    assert task.shift_for((1, 4, 1, 2, 2)) == 5.0
    torch.testing.assert_close(times_of_a_step(task), expected(5, 4, 0.0, 1.0, 5.0))


def test_the_shipped_dit_configs_train_unshifted():
    """At their sizes (and the quickstart's, whose fitted VAE is 4x) shift_for_tokens is 1."""
    task = TASKS["dit_t2v"](cfg())
    shapes = []
    for name in ("dit_stage1_image", "dit_stage2_video", "dit_stage3_hq", "dit_lora"):
        d = load_config(TrainConfig, f"configs/train/{name}.yaml", ["init_from="]).data
        shapes += [(1, 4, d.frames, d.height // f, d.width // f) for f in (8, 4)]
    shapes += [(1, 4, f, 64 // 4, 64 // 4) for f in (1, 5)]  # quickstart stage 3: 5 frames at 64 x 64
    assert [task.shift_for(s) for s in shapes] == [1.0] * len(shapes)


@pytest.mark.parametrize("bad", ["0", "-2", "nan", "fast"])
def test_a_bad_shift_is_one_line(bad):
    with pytest.raises(ConfigError, match=r"objective.shift.*auto or a finite number > 0"):
        cfg(f"objective.shift={bad}")
