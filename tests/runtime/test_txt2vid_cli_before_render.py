"""``video txt2vid`` refusing what it can before the weights load or the render, and saying only
what applies to the model:

- a ``--height`` / ``--width`` the output cannot hold (H.264: 16384 pixels a side) was refused
  only after loading, denoising and decoding the whole clip (100000 x 100000 ran out of memory
  first); now before the model is even looked up, and a model's own default size before the
  denoise;
- the out-of-memory line named ``--vae-tiling on`` for our DiT's image VAE, where the flag does
  nothing, and the flag was taken there without a word;
- ``--negative ""`` could not clear a model's default negative prompt (an empty value read as
  "not given");
- ``--model tiny-svd`` was "not found", as if no such model existed.
Real tiny models, written here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from video.runtime.render_cli import memory_line, txt2vid_knobs
from video.runtime.txt2vid import TextToVideo, build_tiny, save_t2v

NOTE = "random weights"  # printed right after tiny's weights load
H264 = "frames are at most 16384 pixels on a side"


def _ours(path, **sampling):
    """The tiny model saved in our layout, with ``sampling`` defaults changed."""
    m = build_tiny()
    for k, v in sampling.items():
        setattr(m.config.sampling, k, v)
    return save_t2v(m, path)


def _ours_on_wan_vae(path):
    """The tiny DiT on a tiny Wan video VAE (4 latent channels, 8x spatial, 4x temporal)."""
    from diffusers import AutoencoderKLWan

    from video.models.latents import VideoVAELatents

    m = build_tiny()
    vae = AutoencoderKLWan(base_dim=32, z_dim=4, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True], latents_mean=[0.0] * 4, latents_std=[1.0] * 4)
    m.latents = VideoVAELatents(vae.eval())
    return save_t2v(m, path)


@pytest.mark.parametrize("size, said", [
    (["--height", "16", "--width", "16400"], "got 16400x16"),
    (["--height", "100000", "--width", "100000"], "got 100000x100000"),
    (["--width", "16401"], "got --width 16401"),  # the model's height unknown yet: the flag named
])
def test_a_size_the_output_cannot_hold_is_refused_before_the_model_is_looked_up(cli, tmp_path, size, said):
    # a model that does not exist: the size is what is wrong first, whatever the model is
    r = cli("txt2vid", "--model", tmp_path / "no-such-model", "--steps", "1", "--frames", "2", *size,
            "--output", tmp_path / "wide.mp4")
    assert r.returncode == 2 and len(r.errors) == 1, r.stderr
    assert H264 in r.errors[0] and said in r.errors[0], r.errors
    r = cli("txt2vid", "--model", "tiny", "--steps", "1", "--frames", "2", *size, "--output", tmp_path / "wide.mp4")
    assert r.returncode == 2 and NOTE not in r.stderr and "denoise" not in r.stderr, r.stderr
    assert H264 in r.errors[0], r.errors


def test_a_size_that_fits_another_format_is_not_refused(cli, tmp_path):
    """16400 wide fits a .webm (65536): nothing refuses it before the render (the tiny model
    renders it; 16 pixels high and one step keep that short)."""
    r = cli("txt2vid", "--model", "tiny", "--steps", "1", "--frames", "1", "--height", "16", "--width", "16400",
            "--output", tmp_path / "wide.webm")
    assert r.returncode == 0, r.stderr
    assert "16400x16" in r.stdout


def test_the_models_own_size_is_checked_before_the_denoise(cli, tmp_path):
    model = _ours(tmp_path / "wide-model", width=16400, height=16)
    r = cli("txt2vid", "--model", model, "--steps", "1", "--frames", "1", "--output", tmp_path / "o.mp4")
    assert r.returncode == 2 and "denoise" not in r.stderr, r.stderr
    assert r.errors == [f"error: cannot write o.mp4: H.264 (mp4) {H264}, got 16400x16 (.webm takes up to 65536, "
                        "a folder of PNGs any size)"]


def test_vae_tiling_is_named_only_where_the_latents_tile(tmp_path):
    from video.runtime.txt2vid import load_t2v

    image_vae = build_tiny().latents
    video_vae = load_t2v(_ours_on_wan_vae(tmp_path / "wan-vae")).latents
    assert txt2vid_knobs(image_vae) == ()
    assert "--vae-tiling on" not in memory_line(5, 64, 64, "cuda:0", txt2vid_knobs(image_vae), ())
    assert memory_line(5, 64, 64, "cpu", txt2vid_knobs(video_vae), ()).endswith(
        "to use less: fewer --frames, a smaller --width / --height, --vae-tiling on (the VAE in tiles)")


def test_out_of_memory_on_a_video_vae_model_names_vae_tiling(cli, tmp_path, monkeypatch):
    """The machine running out is given here, as tests/test_img2vid_size_and_memory.py gives it
    for the tiny model (a real failure takes minutes of denoising first)."""
    model = _ours_on_wan_vae(tmp_path / "wan-vae")

    def no_room(self, *a, **k):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 6497501184 bytes.")

    monkeypatch.setattr(TextToVideo, "__call__", no_room)
    r = cli("txt2vid", "--model", model, "--frames", "5", "--height", "2048", "--width", "4096",
            "--output", tmp_path / "o.mp4")
    assert r.returncode == 2 and "warning" not in r.stderr, r.stderr
    assert r.errors == ["error: out of memory rendering 5 frames at 4096x2048 (width x height) on cpu; to use less: "
                        "fewer --frames, a smaller --width / --height, --vae-tiling on (the VAE in tiles)"]


@pytest.mark.parametrize("value, warned", [("on", True), ("off", True), ("auto", False)])
def test_vae_tiling_given_for_an_image_vae_is_a_warning(cli, tmp_path, value, warned):
    r = cli("txt2vid", "--model", "tiny", "--steps", "1", "--frames", "1", "--height", "16", "--width", "16",
            "--vae-tiling", value, "--output", tmp_path / "o.png")
    assert r.returncode == 0, r.stderr
    said = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert said == ([f"warning: --vae-tiling {value} does nothing for this model: its image VAE decodes frame by "
                     "frame, without tiles (tiling is for Wan's video VAE)"] if warned else []), r.stderr


def _png(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_an_empty_negative_prompt_clears_the_models_default(cli, tmp_path):
    model = _ours(tmp_path / "negative-model", negative_prompt="blurry, dark")
    pipe = TextToVideo.from_pretrained(model)
    kw = dict(num_frames=1, height=16, width=16, num_inference_steps=2)

    def reference(negative):
        return pipe("a red kite", negative_prompt=negative, generator=torch.Generator().manual_seed(0), **kw)[0]

    none, default = reference(""), reference(None)
    assert not np.array_equal(none, default)  # the default negative prompt changes this render
    flags = ["--model", model, "--prompt", "a red kite", "--frames", "1", "--height", "16", "--width", "16",
             "--steps", "2"]
    (tmp_path / "c.yaml").write_text('negative: ""\n')
    for extra, want in [((), default), (("--negative", ""), none), (("negative=",), none),
                        (("--config", tmp_path / "c.yaml"), none), (("negative=null",), default)]:
        out = tmp_path / f"o{len(list(tmp_path.glob('o*.png')))}.png"
        r = cli("txt2vid", *flags, *extra, "--output", out)
        assert r.returncode == 0, r.stderr
        assert np.array_equal(_png(out), want), extra


@pytest.mark.parametrize("name", ["tiny-svd", "builtin:tiny-svd"])
def test_the_image_to_video_builtin_given_to_txt2vid_points_at_img2vid(cli, name):
    r = cli("txt2vid", "--model", name)
    assert r.returncode == 2
    assert r.errors == [f"error: tiny-svd is the built-in image-to-video model: render it with `video img2vid "
                        f"--model {name} ...` (txt2vid's built-in is tiny)"]
    r = cli("img2vid", "--model", "t2v_tiny")  # the converse: txt2vid's tiny by its config name
    assert r.returncode == 2 and "(video txt2vid --model tiny)" in r.errors[0], r.errors
