"""FVD: the Fréchet distance (``eval.frechet``) between video features of generated and
reference sets, from I3D (the usual FVD) or VideoMAE (the content-debiased variant, Ge et al.
2024). Weights come from a local path only.

I3D: a TorchScript file (``torch.jit.load``), such as StyleGAN-V's ``i3d_torchscript.pt``. Its
``forward(x, rescale, resize, return_features)`` signature is recognised and called with
``rescale=False, resize=False, return_features=True`` on clips already in its input form: short
side resized to 224 px, centre crop, values in [-1, 1], (B, 3, T, 224, 224) — as StyleGAN-V does.
A TorchScript module without those arguments is called as ``forward(x)`` on the same input and
must return (B, D) features. I3D as safetensors would need the network's code, which this
project does not carry: export it to TorchScript instead.

VideoMAE: a transformers ``VideoMAEModel`` folder; ``config.num_frames`` frames sampled evenly,
``config.image_size`` square crops, ImageNet normalisation (or the folder's
``preprocessor_config.json``), mean of the last hidden states as the feature.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from eval.frechet import frechet_distance_of_features
from eval.inputs import EvalError, torch_device

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def resize_crop(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (F, H, W, 3) -> float (F, 3, size, size) in [0, 1]: short side to ``size`` (bilinear,
    StyleGAN-V's FVD preprocessing), centre crop."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    h, w = x.shape[-2:]
    s = size / min(h, w)
    th, tw = max(size, int(np.ceil(h * s))), max(size, int(np.ceil(w * s)))
    x = F.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False)
    top, left = (th - size) // 2, (tw - size) // 2
    return x[..., top : top + size, left : left + size]


class I3DFeatures:
    """Video -> I3D feature vector, from a user's TorchScript file."""

    name = "fvd_i3d"

    def __init__(self, path: str | Path, resolution: int = 224, device: str | torch.device = "cpu"):
        path = Path(path)
        if not path.is_file():
            raise EvalError(f"I3D weights {path} not found")
        if path.suffix == ".safetensors":
            raise EvalError(f"{path.name}: I3D as safetensors needs the network code; give a TorchScript file "
                            "(e.g. StyleGAN-V's i3d_torchscript.pt)")
        device = torch_device(device)  # else a device that is not there reads as a bad file below
        try:
            self.model = torch.jit.load(str(path), map_location=device).eval()
        except RuntimeError as e:
            raise EvalError(f"{path}: not a TorchScript file ({str(e).splitlines()[0][:120]})") from None
        args = {a.name for a in self.model.forward.schema.arguments}
        self.stylegan_v = {"rescale", "resize", "return_features"} <= args
        self.resolution, self.device = resolution, torch.device(device)

    @torch.no_grad()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        x = resize_crop(frames, self.resolution) * 2 - 1  # (T, 3, S, S) in [-1, 1]
        x = x.permute(1, 0, 2, 3)[None].to(self.device)  # (1, 3, T, S, S)
        y = self.model(x, rescale=False, resize=False, return_features=True) if self.stylegan_v else self.model(x)
        return y.reshape(1, -1).double().cpu().numpy()[0]


class VideoMAEFeatures:
    """Video -> mean-pooled VideoMAE encoder state, from a local transformers folder."""

    name = "fvd_videomae"

    def __init__(self, folder: str | Path, device: str | torch.device = "cpu"):
        from transformers import VideoMAEModel

        from video.models.svd import quiet_library_logs

        quiet_library_logs()

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise EvalError(f"VideoMAE weights: {folder} is not a transformers model folder (no config.json)")
        self.model = VideoMAEModel.from_pretrained(folder, local_files_only=True).to(device).eval()
        cfg = self.model.config
        self.num_frames, self.size = cfg.num_frames, cfg.image_size
        mean, std = IMAGENET_MEAN, IMAGENET_STD
        pre = folder / "preprocessor_config.json"
        if pre.is_file():
            p = json.loads(pre.read_text())
            mean, std = p.get("image_mean", mean), p.get("image_std", std)
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)
        self.device = torch.device(device)

    @torch.no_grad()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        idx = np.linspace(0, len(frames) - 1, self.num_frames).round().astype(int)  # repeats short clips
        x = (resize_crop(frames[idx], self.size) - self.mean) / self.std  # (T, 3, S, S)
        h = self.model(pixel_values=x[None].to(self.device)).last_hidden_state  # (1, tokens, D)
        return h.mean(dim=1)[0].double().cpu().numpy()


def features(extractor, videos: list[np.ndarray]) -> np.ndarray:
    """(N, D) features of N videos, one video at a time (lengths may differ)."""
    return np.stack([extractor(v) for v in videos])


def fvd(extractor, generated: list[np.ndarray], reference: list[np.ndarray]) -> float:
    """Fréchet distance between the feature Gaussians of two video sets (2+ videos each)."""
    if len(generated) < 2 or len(reference) < 2:
        raise EvalError(f"FVD needs at least 2 generated and 2 reference videos, got {len(generated)} and {len(reference)}")
    return frechet_distance_of_features(features(extractor, generated), features(extractor, reference))
