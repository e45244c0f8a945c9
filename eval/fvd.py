"""FVD: the Fréchet distance (``eval.frechet``) between video features of generated and
reference sets, from I3D (the usual FVD) or VideoMAE (after the content-debiased variant of
Ge et al. 2024, not on its scale: see below). Weights come from a local path only.

Which frames: every clip, generated or reference, is cut to its first ``num_frames``
consecutive frames (16 by default, as the original TF FVD and StyleGAN-V's default use), the
same frame count on both sides whatever the clips' lengths. A frame count is a duration only
at one frame rate (16 frames: 0.67 s at 24 fps, 2 s at 8 fps), so the runner first takes every
k-th frame of the faster side where one rate is k times the other, the step PSNR's alignment
takes (``eval.runner.fvd_clip``); at rates that are not whole multiples it takes the faster
side's frames nearest the slower side's frame times (within half a frame), and a note says so. A clip shorter than ``num_frames`` is an EvalError
(no padding: repeated frames would read as a still ending); the runner turns it into a note
and skips that FVD. Fewer videos per side than the features' dimensions give rank-deficient
covariances and a number that depends on N (published FVDs use 2048 videos per side): the
runner notes it and reports N beside the FVD.

I3D: a TorchScript file (``torch.jit.load``), such as StyleGAN-V's ``i3d_torchscript.pt``. Its
``forward(x, rescale, resize, return_features)`` signature is recognised and called with
``rescale=False, resize=False, return_features=True`` on clips already in its input form: each
frame squashed to 224x224 (bilinear, half-pixel centres, no antialiasing, aspect ratio not kept:
what StyleGAN-V's ``resize=True`` does, and what the original TF FVD's ``resize_bilinear`` to
224x224 does up to its corner convention), values in [-1, 1], (B, 3, T, 224, 224). A
TorchScript module without those arguments is called as ``forward(x)`` on the same input and
must return (B, D) features. I3D as safetensors would need the network's code, which this
project does not carry: export it to TorchScript instead.

VideoMAE: a transformers ``VideoMAEModel`` folder; the first ``config.num_frames`` consecutive
frames (the model's input length; the same rule as I3D's), ``config.image_size`` square crops
(short side resized, centre crop: approximately VideoMAE's own image processor, which resizes
with PIL's antialiased bilinear filter where this uses torch's bilinear without antialiasing),
ImageNet normalisation (or the folder's ``preprocessor_config.json``), mean of the last hidden
states as the feature. That is not content-debiased FVD's scale: cd-FVD (Ge et al. 2024, the
``cd-fvd`` package) feeds a VideoMAE-v2 ViT-g (its SSv2-finetuned checkpoint) 224x224 squashed
frames in [0, 1] unnormalised, and takes ``fc_norm`` of the mean-pooled tokens; this model and
these features differ, so ``fvd_videomae`` compares runs of this code, not published cd-FVDs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from eval.frechet import frechet_distance_of_features, nonfinite_rows
from eval.inputs import EvalError, is_size_error, model_error_line, short_line, torch_device

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
FVD_FRAMES = 16  # frames per clip: the original TF FVD's and StyleGAN-V's


def first_frames(frames: np.ndarray, n: int, what: str = "FVD") -> np.ndarray:
    """The first ``n`` frames of a clip: FVD's fixed-length sample (StyleGAN-V's default takes a
    clip's first frames too). Fewer than ``n`` is an EvalError: padding would add a still ending
    that the features would score as content."""
    if n < 1:
        raise EvalError(f"{what}: the clip length must be at least 1 frame, got {n}")
    if len(frames) < n:
        raise EvalError(f"{what} compares the first {n} frames of every clip; this one has {len(frames)}")
    return frames[:n]


def resize_squash(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (F, H, W, 3) -> float (F, 3, size, size) in [0, 1]: every frame resized to
    size x size, aspect ratio not kept (bilinear, align_corners=False, no antialiasing), as
    StyleGAN-V's I3D does with ``resize=True`` and TF FVD with ``resize_bilinear``."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def resize_crop(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (F, H, W, 3) -> float (F, 3, size, size) in [0, 1]: short side to ``size`` (bilinear),
    centre crop: VideoMAE's input preparation (I3D's FVD squashes instead: :func:`resize_squash`)."""
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

    def __init__(self, path: str | Path, resolution: int = 224, device: str | torch.device = "cpu",
                 num_frames: int = FVD_FRAMES):
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
            raise EvalError(f"{path}: not a TorchScript file ({short_line(e)})") from None
        args = {a.name for a in self.model.forward.schema.arguments}
        self.stylegan_v = {"rescale", "resize", "return_features"} <= args
        self.path, self.resolution, self.device = path, resolution, torch.device(device)
        self.label = f"I3D {path}"  # which model, for a note about its features
        if num_frames < 1:
            raise EvalError(f"--fvd-frames must be at least 1, got {num_frames}")
        self.num_frames = num_frames

    @torch.no_grad()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        clip = first_frames(frames, self.num_frames, self.name)
        x = resize_squash(clip, self.resolution) * 2 - 1  # (T, 3, S, S) in [-1, 1]
        x = x.permute(1, 0, 2, 3)[None].to(self.device)  # (1, 3, T, S, S)
        try:
            y = self.model(x, rescale=False, resize=False, return_features=True) if self.stylegan_v else self.model(x)
        except (RuntimeError, TypeError) as e:
            # I3D's temporal kernels and pooling need enough frames (the frame size is fixed at the
            # resolution): only torch's input-size errors get that advice; a wrong call signature or
            # any other failure is the file's, said with the error's own line
            hint = f"; use a longer clip length (--fvd-frames, default {FVD_FRAMES})" if is_size_error(e) else ""
            raise EvalError(f"{self.name}: {self.path} failed on {self.num_frames}-frame "
                            f"{self.resolution}x{self.resolution} clips ({model_error_line(e)}){hint}") from None
        return y.reshape(1, -1).double().cpu().numpy()[0]


class VideoMAEFeatures:
    """Video -> mean-pooled VideoMAE encoder state, from a local transformers folder (not
    cd-FVD's features: see the module docstring)."""

    name = "fvd_videomae"

    def __init__(self, folder: str | Path, device: str | torch.device = "cpu"):
        from transformers import VideoMAEModel

        from video.models.svd import quiet_library_logs

        quiet_library_logs()

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise EvalError(f"VideoMAE weights: {folder} is not a transformers model folder (no config.json)")
        from video.models.components import transformers_load_error

        try:  # safetensors only, as every other weight: a .bin is a pickle, which can run code
            self.model = VideoMAEModel.from_pretrained(folder, local_files_only=True, use_safetensors=True)
        except OSError as e:
            raise EvalError(f"VideoMAE weights: {folder}: {transformers_load_error(folder, e)}") from e
        self.model = self.model.to(device).eval()
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
        self.label = f"VideoMAE {folder}"  # which model, for a note about its features

    @torch.no_grad()
    def __call__(self, frames: np.ndarray) -> np.ndarray:
        clip = first_frames(frames, self.num_frames, self.name)  # the model's length, I3D's rule
        x = (resize_crop(clip, self.size) - self.mean) / self.std  # (T, 3, S, S)
        h = self.model(pixel_values=x[None].to(self.device)).last_hidden_state  # (1, tokens, D)
        return h.mean(dim=1)[0].double().cpu().numpy()


def features(extractor, videos: list[np.ndarray]) -> np.ndarray:
    """(N, D) features of N videos, one video at a time (lengths may differ)."""
    return np.stack([extractor(v) for v in videos])


def fvd(extractor, generated: list[np.ndarray], reference: list[np.ndarray]) -> float:
    """Fréchet distance between the feature Gaussians of two video sets (2+ videos each)."""
    if len(generated) < 2 or len(reference) < 2:
        raise EvalError(f"FVD needs at least 2 generated and 2 reference videos, got {len(generated)} and {len(reference)}")
    g, r = features(extractor, generated), features(extractor, reference)
    bad = nonfinite_features(extractor, g, r)
    if bad:
        raise EvalError(bad)
    return frechet_distance_of_features(g, r)


def nonfinite_features(extractor, generated: np.ndarray, reference: np.ndarray) -> str | None:
    """Why no Fréchet distance can come from these features, when some are NaN or infinite (a
    broken or overflowing model), naming the extractor and how many videos each side lost;
    None when all are finite. Leaving those videos out would compare other sets than asked."""
    bad_g, bad_r = nonfinite_rows(generated), nonfinite_rows(reference)
    if not bad_g and not bad_r:
        return None
    label = getattr(extractor, "label", None) or getattr(extractor, "name", type(extractor).__name__)
    return (f"{label} gave features that are not finite (NaN or inf) for {bad_g} of {len(generated)} generated "
            f"and {bad_r} of {len(reference)} reference videos")
