"""The LAION aesthetic predictor head: an MLP on the L2-normalised CLIP ViT-L/14 image embedding,
trained on ratings (1-10) of SAC, LAION-Logos and AVA (christophschuhmann/improved-aesthetic-predictor,
``simple_inference.py``). Its layers, as numbered in the published state dict::

    layers.0 Linear(768, 1024) - 1 Dropout - 2 Linear(1024, 128) - 3 Dropout - 4 Linear(128, 64)
    - 5 Dropout - 6 Linear(64, 16) - 7 Linear(16, 1)

No activations between them (the original's are commented out), and dropout is off at
inference: the forward is the chain of affine maps. A single ``weight``/``bias`` pair (a linear
probe) is the same thing with one layer.

The weights are published as a pickled ``.pth``; we only read safetensors. Convert it once, on a
file you trust, with PyTorch's restricted loader (no code runs while loading)::

    import torch
    from safetensors.torch import save_file
    sd = torch.load("sac+logos+ava1-l14-linearMSE.pth", map_location="cpu", weights_only=True)
    save_file({k: v.contiguous() for k, v in sd.items()}, "aesthetic_mlp.safetensors")

and set ``models.aesthetic_head`` to the ``.safetensors`` file.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

_LAYER = re.compile(r"^(?:layers\.)?(\d+)\.weight$")


def load_head(path: str | Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The head's affine layers ``[(weight (out, in), bias (out,)), ...]`` in order, checked to
    chain. Accepts the LAION layout (``layers.N.weight``/``bias``) or one ``weight``/``bias``.
    A file that holds no weights (a Git LFS pointer, an empty, cut-short or damaged file) is a
    ValueError naming it: safetensors said only "header too large", in a traceback."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from video.models.sniff import header_problem

    if (why := header_problem(path)) is not None:
        raise ValueError(f"models.aesthetic_head {path}: {why}")
    try:
        sd = load_file(str(path))
    except SafetensorError as e:
        raise ValueError(f"models.aesthetic_head {path}: not a safetensors file ({e})") from None
    if set(sd) == {"weight", "bias"}:
        layers = [(sd["weight"], sd["bias"])]
    else:
        idx = sorted(int(m.group(1)) for k in sd if (m := _LAYER.match(k)))
        prefix = "layers." if any(k.startswith("layers.") for k in sd) else ""
        try:
            layers = [(sd[f"{prefix}{i}.weight"], sd[f"{prefix}{i}.bias"]) for i in idx]
        except KeyError as e:
            raise ValueError(f"{path}: aesthetic head has a weight without its bias ({e.args[0]})") from None
        if not layers or len(sd) != 2 * len(layers):
            raise ValueError(f"{path}: not an aesthetic head (expected 'weight'/'bias' or 'layers.N.weight'/"
                             f"'layers.N.bias'; found {', '.join(sorted(sd)[:6])})")
    for (w0, _), (w1, _) in zip(layers, layers[1:], strict=False):
        if w1.shape[1] != w0.shape[0]:
            raise ValueError(f"{path}: aesthetic head layers do not chain ({tuple(w0.shape)} then {tuple(w1.shape)})")
    if layers[-1][0].shape[0] != 1:
        raise ValueError(f"{path}: aesthetic head must end in one output, got {layers[-1][0].shape[0]}")
    return [(w.float(), b.float()) for w, b in layers]


def head_input_dim(layers: list[tuple[torch.Tensor, torch.Tensor]]) -> int:
    return int(layers[0][0].shape[1])


def aesthetic_score(layers: list[tuple[torch.Tensor, torch.Tensor]], emb: torch.Tensor) -> torch.Tensor:
    """Scores (n,) of image embeddings (n, d): L2-normalised, then the affine chain."""
    x = torch.nn.functional.normalize(emb.float(), dim=-1)
    for w, b in layers:
        x = x @ w.T + b
    return x[:, 0]
