"""Tiny ncnn networks written by the tests: the layers Real-ESRGAN's conversions use, random
weights, and the same network in PyTorch as the independent reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FEATURES = 48  # 3 colours x 4^2: PixelShuffle(4) of 48 channels at half size is RGB at twice the size


def unshuffle_graph(folder: Path, name: str = "x2unshuffle", seed: int = 0) -> tuple[Path, Path, dict]:
    """A Real-ESRGAN x2plus-like graph (``.param`` + fp32 ``.bin``): pixel-unshuffle by 2 (ncnn
    ``Reorg`` mode 0, PyTorch's channel order, as pnnx converts ``F.pixel_unshuffle``), one 3x3
    convolution 12 -> 48 with bias, pixel-shuffle by 4: x2 out, input sizes in steps of 2.
    Returns (param, bin, {"weight", "bias"})."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 0.1, (FEATURES, 12, 3, 3)).astype(np.float32)
    bias = rng.normal(0.5, 0.1, FEATURES).astype(np.float32)
    param, bin_ = folder / f"{name}.param", folder / f"{name}.bin"
    param.write_text("7767517\n4 4\n"
                     "Input            in         0 1 data\n"
                     "Reorg            unshuffle  1 1 data u 0=2\n"
                     f"Convolution      conv       1 1 u c 0={FEATURES} 1=3 4=1 5=1 6={weight.size}\n"
                     "PixelShuffle     shuffle    1 1 c output 0=4\n")
    bin_.write_bytes(np.uint32(0).tobytes() + weight.tobytes() + bias.tobytes())  # tag 0: raw fp32
    return param, bin_, {"weight": weight, "bias": bias}


def torch_reference(frame: np.ndarray, weights: dict, multiple: int = 2) -> np.ndarray:
    """The graph of :func:`unshuffle_graph` in PyTorch on uint8 (H, W, 3), as Real-ESRGAN's
    ``RealESRGANer`` runs an x2plus: reflect-pad to a multiple of 2 at the bottom and right,
    run, crop to twice the input; uint8 (2H, 2W, 3)."""
    import torch
    import torch.nn.functional as F

    h, w = frame.shape[:2]
    x = torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255.0
    x = F.pad(x, (0, -w % multiple, 0, -h % multiple), mode="reflect")
    y = F.conv2d(F.pixel_unshuffle(x, 2), torch.from_numpy(weights["weight"]), torch.from_numpy(weights["bias"]),
                 padding=1)
    y = F.pixel_shuffle(y, 4)[0, :, :2 * h, :2 * w].clamp(0, 1)
    return (y * 255.0).round().byte().permute(1, 2, 0).numpy()
