"""img2vid review 22: a CPU render too large for the RAM is refused before it starts (Linux
overcommits, so it was killed without a word); float16 time ids past 65504 (an all-black clip);
a damaged weight file of a diffusers folder named before any part loads; a text-to-video folder
refused before the libraries import; one frame with a guidance ramp runs unguided; the GIF note,
the "windows of 1 frame" and the help texts."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from video.runtime.img2vid import ImageToVideo, NotEnoughMemory, Timings
from video.runtime.memory import available_memory

H, W = 128, 192  # the tiny model's default size


def g():
    return torch.Generator().manual_seed(0)


@pytest.fixture(scope="module")
def pipe(tiny_models):
    return ImageToVideo(tiny_models)


def unet_frame_bytes(c0: int, height: int, width: int, items: int = 1) -> int:
    """The traced UNet peak per latent frame, written out (video.runtime.memory's docstring:
    27 x c0 float32 activations per latent position), per batch item."""
    return items * 27 * c0 * (height // 8) * (width // 8) * 4


def frames_past_ram(c0: int) -> int:
    """A frame count whose single, unguided UNet pass alone needs twice the RAM available now."""
    free = available_memory()
    if free is None:
        pytest.skip("this machine does not say its available memory")
    return 2 * (free // unet_frame_bytes(c0, H, W) + 1)


@pytest.fixture()
def no_render(monkeypatch):
    """Fails the test as soon as the render would start (encoding the image, then the denoise):
    the refusal must come before, and without it the test must not run the machine out of memory."""
    def started(*a, **k):
        raise AssertionError("the render started")

    monkeypatch.setattr(ImageToVideo, "denoiser_for", started)


@pytest.mark.filterwarnings("ignore:.*more than the 8 this model was trained on")
def test_a_cpu_render_past_the_ram_is_refused_before_it_starts(pipe, no_render):
    c0 = pipe.models.unet.config.block_out_channels[0]
    frames = frames_past_ram(c0)
    with pytest.raises(MemoryError) as e:
        pipe(Image.new("RGB", (W, H)), num_frames=frames, num_inference_steps=1, height=H, width=W,
             min_guidance_scale=1.0, max_guidance_scale=1.0)  # unguided: one batch item
    assert isinstance(e.value, NotEnoughMemory)
    assert e.value.needed >= unet_frame_bytes(c0, H, W) * frames > e.value.available
    assert str(e.value).startswith(f"{frames} frames at {W}x{H} (width x height) need about ")


def test_the_guided_pair_counts_twice_and_what_fits_passes(pipe):
    """The check's boundary: half the RAM as one item passes, the guided pair of twice that does
    not; a render of the test suite's size runs through it."""
    c0 = pipe.models.unet.config.block_out_channels[0]
    half = frames_past_ram(c0) // 4  # about half the RAM available
    pipe.check_room(half, H, W, items=1, decode=False)
    with pytest.raises(NotEnoughMemory):
        pipe.check_room(4 * half, H, W, items=2, decode=False)
    frames = pipe(Image.new("RGB", (W, H), (200, 90, 40)), num_frames=2, num_inference_steps=1, height=64,
                  width=64, generator=g())
    assert frames.shape == (2, 64, 64, 3)


def test_the_cli_says_the_refusal_in_one_line(cli, tiny_diffusers_dir, tmp_path, no_render):
    c0 = json.loads((tiny_diffusers_dir / "unet" / "config.json").read_text())["block_out_channels"][0]
    frames = frames_past_ram(c0)
    r = cli("img2vid", "--model", tiny_diffusers_dir, "--frames", frames, "--steps", "1",
            "--output", tmp_path / "x.mp4")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    head = f"error: out of memory rendering {frames} frames at {W}x{H} (width x height) on cpu (about "
    assert len(r.errors) == 1 and r.errors[0].startswith(head), r.stderr
    assert r.errors[0].endswith(" GiB available); to use less: fewer --frames, a smaller --width / --height, "
                                "a smaller --decode-chunk (1: the least in the VAE decode)")
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("kw", [{"motion_bucket_id": 70000}, {"fps": 70000}], ids=["motion", "fps"])
def test_float16_time_ids_past_65504_render_a_picture(kw):
    """In float16 the micro-conditioning 70000 was inf: an all-black clip. The float32 run of the
    same weights is the reference."""
    torch.manual_seed(0)
    half = ImageToVideo.from_pretrained("tiny", dtype=torch.float16)
    full = ImageToVideo.from_pretrained("tiny", dtype=torch.float32)
    image = Image.new("RGB", (64, 64), (200, 90, 40))
    args = dict(num_frames=2, num_inference_steps=1, height=64, width=64, **kw)
    a, b = half(image, generator=g(), **args), full(image, generator=g(), **args)
    assert b.std() > 10  # a picture
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 3


LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 4096\n"


@pytest.mark.parametrize("part, damage, why", [
    ("vae/diffusion_pytorch_model.safetensors", lambda b: b"", "empty file (0 bytes)"),
    ("image_encoder/model.safetensors", lambda b: b"", "empty file (0 bytes)"),
    ("unet/diffusion_pytorch_model.safetensors", lambda b: LFS, "a Git LFS pointer"),
    ("image_encoder/model.safetensors", lambda b: b[:len(b) // 2], "truncated"),
], ids=["empty-vae", "empty-encoder", "lfs-unet", "cut-encoder"])
def test_a_damaged_part_file_is_named_before_any_part_loads(tiny_diffusers_dir, tmp_path, monkeypatch,
                                                            part, damage, why):
    from video.models import components
    from video.models.svd import CheckpointError, load_svd

    folder = shutil.copytree(tiny_diffusers_dir, tmp_path / "svd")
    f = folder / part
    f.write_bytes(damage(f.read_bytes()))
    loaded = []
    for name in ("load_diffusers_part", "load_transformers_part"):
        real = getattr(components, name)
        monkeypatch.setattr(components, name, lambda *a, real=real, **k: loaded.append(a[2]) or real(*a, **k))
    with pytest.raises(CheckpointError) as e:
        load_svd(folder)
    assert str(e.value).startswith(f"{f}: {why}")
    assert loaded == []  # not after the UNet (gigabytes for SVD-XT)


def test_a_text_to_video_folder_is_refused_before_the_libraries_load(tmp_path, monkeypatch):
    from video.models import svd
    from video.runtime.txt2vid import build_tiny, save_t2v

    folder = save_t2v(build_tiny(), tmp_path / "t2v")
    quieted = []
    monkeypatch.setattr(svd, "quiet_library_logs", lambda: quieted.append(1))  # it imports both (6 s)
    with pytest.raises(svd.CheckpointError, match="is a text-to-video model"):
        svd.load_svd(folder)
    assert quieted == []


def test_one_frame_with_a_guidance_ramp_is_unguided(pipe):
    """linspace(1, 2.5, 1) is [1.0]: the unconditional branch was run only to be weighted by 0."""
    from video.diffusion import FramewiseLinearCFG

    assert not FramewiseLinearCFG(1.0, 2.5, num_frames=1).enabled
    assert FramewiseLinearCFG(1.5, 1.0, num_frames=1).enabled and FramewiseLinearCFG(1.0, 2.5, num_frames=2).enabled
    batches = []
    hook = pipe.models.unet.register_forward_pre_hook(lambda mod, a: batches.append(a[0].shape[0]))
    try:
        image = Image.new("RGB", (64, 64), (200, 90, 40))
        args = dict(num_frames=1, num_inference_steps=2, height=64, width=64)
        ramp = pipe(image, generator=g(), min_guidance_scale=1.0, max_guidance_scale=2.5, **args)
        assert batches == [1, 1]
        plain = pipe(image, generator=g(), min_guidance_scale=1.0, max_guidance_scale=1.0, **args)
    finally:
        hook.remove()
    assert np.array_equal(ramp, plain)


def test_an_animated_image_is_read_as_its_first_frame_with_a_note(tmp_path):
    from video.media import load_image

    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    gif = tmp_path / "anim.gif"
    first, *rest = [Image.new("RGB", (16, 16), c) for c in colours]
    first.save(gif, save_all=True, append_images=rest, duration=100)
    with pytest.warns(UserWarning, match=r"^anim\.gif has 3 frames \(an animated image\): only its first frame"):
        im = load_image(gif)
    assert im.getpixel((8, 8)) == colours[0]
    still = tmp_path / "still.png"
    first.save(still)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_image(still)


def test_windows_of_one_frame_and_the_help_texts():
    from video.config import load_model_config
    from video.runtime.config import IMG2VID_FLAGS

    assert "(windows of 1 frame)" in str(Timings(decode_chunk=1, frames=3))
    assert "(windows of 3 frames)" in str(Timings(decode_chunk=3, frames=5))
    for flag, key in (("--min-cfg", "min_guidance_scale"), ("--max-cfg", "max_guidance_scale")):
        for name, label in (("svd", "SVD"), ("svd_xt", "SVD-XT")):
            value = getattr(load_model_config(name).sampling, key)
            assert f"{value:g} {label}" in IMG2VID_FLAGS[flag][1]
    for flag in ("--height", "--width"):
        assert "never below one step" in IMG2VID_FLAGS[flag][1]
