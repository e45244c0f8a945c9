"""Stability's single files declare no frame count: ``svd_xt.safetensors`` ran as SVD (14
frames, CFG 1.0->2.5, UNet num_frames 14) and every 25-frame run warned of drift it was trained
for; ``--model-config svd_xt`` changed the sampling but kept the UNet's 14, so the default run
warned falsely too. A file under Stability's XT names is read as SVD-XT (with a note), a given
config sets the UNet's frame count, and the warning for a file read as SVD says it was a guess.

The published architecture is 2.25B parameters; these files are the tiny model's networks in
the same sgm layout without our config entry, read with the tiny architecture standing for the
published one (:data:`video.models.sgm.PUBLISHED_ARCHITECTURE`): the same code path, in seconds."""

from __future__ import annotations

import warnings

import pytest
import torch

from video.models import sgm
from video.models.detect import detect_kind
from video.models.sgm import save_sgm_checkpoint
from video.runtime.img2vid import ImageToVideo

SMALL = dict(num_inference_steps=1, height=64, width=64, output_type="latent")


@pytest.fixture
def published_tiny(monkeypatch):
    """Files without our config entry read with the tiny networks' shapes."""
    monkeypatch.setattr(sgm, "PUBLISHED_ARCHITECTURE", "tiny")


def _render(pipe, photo, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a drift warning fails the run
        return pipe(photo, generator=torch.Generator().manual_seed(0), **SMALL, **kw)


@pytest.mark.parametrize("name", ["svd_xt.safetensors", "svd_xt_1_1.safetensors", "svd-xt.sft"])
def test_stability_xt_file_names_run_as_svd_xt(tmp_path, tiny_models, photo, published_tiny, capfd, name):
    path = save_sgm_checkpoint(tiny_models, tmp_path / name, write_config=False)
    pipe = ImageToVideo.from_pretrained(path)
    s = pipe.config.sampling
    assert (s.num_frames, s.min_guidance_scale, s.max_guidance_scale) == (25, 1.5, 3.0)
    assert pipe.models.unet.config.num_frames == 25
    assert _render(pipe, photo).shape[1] == 25  # the default run: 25 frames, no drift warning
    err = capfd.readouterr().err
    assert err.count("note: ") == 1 and f"{name}: read as SVD-XT (25 frames, CFG 1.5->3.0) by its file name" in err
    assert detect_kind(path)["kind"] == "svd_xt"


def test_a_given_config_sets_the_unets_frames(tmp_path, tiny_models, photo, published_tiny):
    path = save_sgm_checkpoint(tiny_models, tmp_path / "my_model.safetensors", write_config=False)
    pipe = ImageToVideo.from_pretrained(path, config="svd_xt")
    assert pipe.models.unet.config.num_frames == 25 and pipe.config.sampling.min_guidance_scale == 1.5
    assert _render(pipe, photo).shape[1] == 25
    # a config names the file for what it is: the XT name does not override it
    named = save_sgm_checkpoint(tiny_models, tmp_path / "svd_xt.safetensors", write_config=False)
    assert ImageToVideo.from_pretrained(named, config="svd").models.unet.config.num_frames == 14


def test_a_file_read_as_svd_says_its_frame_count_was_a_guess(tmp_path, tiny_models, photo, published_tiny):
    path = save_sgm_checkpoint(tiny_models, tmp_path / "my_model.safetensors", write_config=False)
    pipe = ImageToVideo.from_pretrained(path)
    assert pipe.models.unet.config.num_frames == 14 and pipe.config.sampling.max_guidance_scale == 2.5
    with pytest.warns(UserWarning, match=r"more than the 14 of SVD, which this file was read as .*--model-config "
                                         r"svd_xt") as caught:
        pipe(photo, num_frames=16, generator=torch.Generator().manual_seed(0), **SMALL)
    assert not any("trained on" in str(w.message) for w in caught)
    found = detect_kind(path)
    assert found["kind"] == "svd" and "--frames decides" not in found["detail"]
    assert "read as SVD unless --model-config svd_xt" in found["detail"]


def test_declared_frames_win_over_the_name(tmp_path, tiny_models):
    """Our writer's config (8 frames) is the file's own word: its XT name changes nothing."""
    path = save_sgm_checkpoint(tiny_models, tmp_path / "svd_xt.safetensors")
    pipe = ImageToVideo.from_pretrained(path)
    assert pipe.models.unet.config.num_frames == 8 and pipe.config.sampling.num_frames == 8
    assert detect_kind(path)["kind"] == "svd"


def test_info_says_the_frames_an_xt_named_file_is_read_with(tmp_path, tiny_models, cli):
    import json

    path = save_sgm_checkpoint(tiny_models, tmp_path / "svd_xt.safetensors", write_config=False)
    info = json.loads(cli("info", path, "--json").stdout)
    assert (info["kind"], info["frames"]) == ("svd_xt", 25) and "by its file name" in info["detail"], info
    other = save_sgm_checkpoint(tiny_models, tmp_path / "other.safetensors", write_config=False)
    info = json.loads(cli("info", other, "--json").stdout)
    assert info["kind"] == "svd" and "--frames decides" not in info["detail"], info
