"""LPIPS (Zhang et al. 2018) from a user's TorchScript file: this project carries no backbone
(AlexNet/VGG would need torchvision), so export once where the ``lpips`` package is installed::

    m = lpips.LPIPS(net="alex").eval(); x = torch.zeros(1, 3, 64, 64)
    torch.jit.trace(m, (x, x)).save("lpips_alex.pt")

The module is called as ``model(x, y)`` on (N, 3, H, W) images in [-1, 1] and returns one
distance per image ((N,) or (N, 1, 1, 1)).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from eval.inputs import EvalError, is_size_error, model_error_line, short_line, torch_device


class LPIPS:
    def __init__(self, path: str | Path, device: str | torch.device = "cpu", batch: int = 16):
        path = Path(path)
        if not path.is_file():
            raise EvalError(f"LPIPS weights {path} not found")
        device = torch_device(device)  # else a device that is not there reads as a bad file below
        try:
            self.model = torch.jit.load(str(path), map_location=device).eval()
        except RuntimeError as e:
            raise EvalError(f"{path}: not a TorchScript file ({short_line(e)})") from None
        self.path, self.device, self.batch = path, torch.device(device), batch

    @torch.no_grad()
    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-frame distances of two equal uint8 (F, H, W, 3) stacks. The network failing
        (frames too small for AlexNet's pooling, a module with another call signature) is an
        EvalError naming the file: the user's weights or frames, not a bug to trace."""
        if a.shape != b.shape:
            raise ValueError(f"lpips needs equal shapes, got {a.shape} and {b.shape}")

        def prep(x: np.ndarray) -> torch.Tensor:
            return (torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float() / 127.5 - 1).to(self.device)

        try:
            out = [self.model(prep(a[i : i + self.batch]), prep(b[i : i + self.batch])).reshape(-1)
                   for i in range(0, len(a), self.batch)]
        except (RuntimeError, TypeError) as e:
            h, w = a.shape[1:3]
            hint = "; the frames are too small for this network (compare larger ones, or leave out --lpips)"
            raise EvalError(f"{self.path}: LPIPS failed on {w}x{h} frames ({model_error_line(e)})"
                            + (hint if is_size_error(e) else "")) from None
        return torch.cat(out).double().cpu().numpy()
