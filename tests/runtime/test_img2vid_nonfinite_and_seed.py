"""NaN and infinity for img2vid's float settings, and seeds: refused as one line before the
weights load (NaN compared False with the minimum, so ``noise_aug=nan`` rendered a black clip
and exited 0; a seed ``torch.Generator.manual_seed`` refuses was a traceback after the load),
and ``--seed -1`` is a random seed that is printed, so the render can be repeated."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from video.runtime.img2vid import ImageToVideo, InputError

LOADED = "has random weights"  # the note printed once the tiny model has loaded
TINY = ("--model", "tiny", "--frames", "1", "--steps", "1", "--height", "64", "--width", "64")


@pytest.mark.parametrize("args,needle", [
    (["noise_aug=nan"], "--noise-aug must be a finite number >= 0"),
    (["--noise-aug", "inf"], "--noise-aug must be a finite number >= 0"),
    (["--min-cfg", "nan"], "--min-cfg must be a finite number >= 0"),
    (["max_cfg=inf"], "--max-cfg must be a finite number >= 0"),
    (["min_cfg=-inf"], "--min-cfg must be a finite number >= 0"),
])
def test_img2vid_refuses_nan_and_infinity_before_the_load(tmp_path, cli, args, needle):
    out = tmp_path / "o.png"
    p = cli("img2vid", *TINY, "--output", out, *args)
    assert p.returncode == 2 and len(p.errors) == 1 and needle in p.errors[0], p.stderr
    assert LOADED not in p.stderr and "Traceback" not in p.stderr and not out.exists()


def test_img2vid_refuses_nan_from_a_config_file(tmp_path, cli):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("noise_aug: .nan\n")
    p = cli("img2vid", *TINY, "--output", tmp_path / "o.png", "--config", cfg)
    assert p.returncode == 2 and p.errors == [
        "error: --noise-aug must be a finite number >= 0 (leave it unset for the model's default); got nan"]
    assert LOADED not in p.stderr


@pytest.mark.parametrize("kw", [dict(noise_aug_strength=float("nan")), dict(min_guidance_scale=float("inf")),
                                dict(max_guidance_scale=np.float32("nan")), dict(fps=float("nan"))])
def test_the_pipeline_refuses_nan_and_infinity(tiny_models, photo, kw):
    pipe = ImageToVideo(tiny_models)
    seen = []
    hook = pipe.models.image_encoder.register_forward_pre_hook(lambda *a: seen.append(1))
    try:
        with pytest.raises(InputError, match=f"{next(iter(kw))} must be a finite number >= "):
            pipe(photo, num_frames=1, num_inference_steps=1, height=64, width=64, **kw)
    finally:
        hook.remove()
    assert seen == []


@pytest.mark.parametrize("command", ["img2vid", "txt2vid"])
@pytest.mark.parametrize("seed", ["99999999999999999999", str(2**64), str(-2**63 - 1)])
def test_a_seed_torch_refuses_is_one_line_before_the_load(tmp_path, cli, command, seed):
    p = cli(command, *TINY, "--output", tmp_path / "o.png", "--seed", seed)
    assert p.returncode == 2 and len(p.errors) == 1, p.stderr
    assert p.errors[0].startswith("error: --seed must be a whole number from -9223372036854775808 to "
                                  "18446744073709551615, or -1 for a random seed; got ")
    assert LOADED not in p.stderr and "Traceback" not in p.stderr


def test_the_ends_of_torchs_seed_range_are_accepted():
    from video.flags import SEED_RANGE, seed_for

    for seed in (*SEED_RANGE, 0, -2):
        assert seed_for(seed) == seed
        torch.Generator().manual_seed(seed)  # what the range claims


def _frames(path):
    from PIL import Image

    return np.asarray(Image.open(path))


def test_seed_minus_one_is_a_random_seed_that_is_printed_and_repeats(tmp_path, cli):
    """A1111's -1: a new seed each run, printed; rendering with the printed seed gives the same
    frames. It used to be one fixed seed (torch's 2**64 - 1), the same video every time, unsaid."""
    p = cli("img2vid", *TINY, "--output", tmp_path / "random.png", "--seed", "-1")
    assert p.returncode == 0, p.stderr
    said = re.findall(r"^seed: (\d+) \(random; --seed \1 renders the same again\)$", p.stderr, re.M)
    assert len(said) == 1, p.stderr
    seed = int(said[0])
    assert 0 <= seed < 2**32
    p = cli("img2vid", *TINY, "--output", tmp_path / "again.png", "--seed", str(seed))
    assert p.returncode == 0 and "seed:" not in p.stderr, p.stderr
    assert np.array_equal(_frames(tmp_path / "random.png"), _frames(tmp_path / "again.png"))
