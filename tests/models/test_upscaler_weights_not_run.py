"""PyTorch Real-ESRGAN weights: `video info` told a RealESRGAN_x4plus.pth to "convert to
.safetensors", and `video upscale` then refused the .safetensors too (it runs ncnn conversions
only). Their detail now says they are not run here and what `video upscale` takes instead (the
built-in network of the same architecture where there is one), `video models` marks them
"(not supported here)" as it does other models nothing here runs, and `video upscale` refuses a
file that is no ncnn model by what it is, not as "PyTorch Real-ESRGAN weights" whatever it was."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file
from test_detect import _rrdb_state_dict  # tests/models is on sys.path

from video.models.detect import detect_kind, list_models

BUILTIN_X4PLUS = ("; not run here: `video upscale` takes ncnn .param + .bin (the built-in realesrgan-x4plus is "
                  "this network)")
CONVERT = "; not run here: `video upscale` takes ncnn .param + .bin: convert it to ncnn (pnnx) and give the .param"


def _rrdb(blocks: int, in_channels: int = 3, feat: int = 4) -> dict:
    return _rrdb_state_dict(feat, blocks, in_channels)


@pytest.fixture
def models(tmp_path):
    up = tmp_path / "upscale_models"
    up.mkdir()
    torch.save({"params_ema": _rrdb(23)}, up / "RealESRGAN_x4plus.pth")
    save_file(_rrdb(23), str(up / "RealESRGAN_x4plus.safetensors"))
    save_file(_rrdb(23, in_channels=12), str(up / "RealESRGAN_x2plus.safetensors"))
    save_file({"encoder.conv_in.weight": torch.zeros(4, 3, 3, 3), "decoder.conv_out.weight": torch.zeros(3, 4, 3, 3),
               "quant_conv.weight": torch.zeros(8, 8, 1, 1)}, str(up / "sd_vae.safetensors"))
    lora = "lora_unet_down_blocks_0_attentions_0_proj_in"
    save_file({f"{lora}.lora_down.weight": torch.zeros(4, 32), f"{lora}.lora_up.weight": torch.zeros(32, 4),
               f"{lora}.alpha": torch.tensor(4.0)}, str(up / "style_lora.safetensors"))
    return tmp_path


def test_detail_says_not_run_here_and_names_the_builtin(models):
    up = models / "upscale_models"
    pth = detect_kind(up / "RealESRGAN_x4plus.pth")
    assert pth["kind"] == "upscaler" and pth["detail"] == (
        "Real-ESRGAN RRDBNet (23 RRDB blocks), pytorch weights (read with torch.load(weights_only=True)) "
        "(not supported here)" + BUILTIN_X4PLUS)
    assert detect_kind(up / "RealESRGAN_x4plus.safetensors")["detail"].endswith(BUILTIN_X4PLUS)
    x2 = detect_kind(up / "RealESRGAN_x2plus.safetensors")["detail"]  # no built-in x2plus: convert it
    assert x2 == "Real-ESRGAN RRDBNet (23 RRDB blocks), pytorch weights (not supported here)" + CONVERT


def test_models_marks_them_not_supported(models):
    rows = {r["name"]: r for r in list_models(models)}
    for name in ("RealESRGAN_x4plus.pth", "RealESRGAN_x4plus.safetensors", "RealESRGAN_x2plus.safetensors"):
        assert rows[name]["kind"] == "upscaler" and "(not supported here)" in rows[name]["detail"], rows[name]


def test_info_no_longer_says_convert_to_safetensors(models, cli):
    p = cli("info", models / "upscale_models" / "RealESRGAN_x4plus.pth", "--json")
    assert p.returncode == 0, p.stderr
    detail = json.loads(p.stdout)["detail"]
    assert "convert to .safetensors" not in detail and detail.endswith(BUILTIN_X4PLUS), detail


@pytest.mark.parametrize("name,said", [
    ("RealESRGAN_x4plus.safetensors", "Real-ESRGAN RRDBNet (23 RRDB blocks), pytorch weights (not supported here)"
                                      + BUILTIN_X4PLUS),
    ("sd_vae.safetensors", "not an ncnn model (vae: AutoencoderKL (image VAE), single file); `video upscale --model` "
                           "takes an ncnn .param with its .bin beside it"),
    ("style_lora.safetensors", "not an ncnn model (lora: kohya layout (lora_down/lora_up), UNet/transformer, 1 "
                               "layer); `video upscale --model` takes an ncnn .param with its .bin beside it"),
])
def test_upscale_refuses_by_what_it_is(models, cli, tmp_path, name, said):
    import numpy as np
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "in.png")
    for model in (models / "upscale_models" / name, name):  # a path, and a name in upscale_models/
        p = cli("upscale", tmp_path / "in.png", "--model", model, "--models-dir", models, "-o", tmp_path / "o.png")
        assert p.returncode == 2 and p.errors == [f"error: {models / 'upscale_models' / name}: {said}"], p.stderr
        assert "PyTorch Real-ESRGAN" not in p.stderr
