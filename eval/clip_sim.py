"""CLIP-SIM: how well frames match their prompt (cosine of CLIP text and image embeddings,
averaged over frames, Wu et al. 2021) and how alike consecutive frames look to CLIP (temporal
consistency). A transformers ``CLIPModel`` and its tokenizer from one local folder.

Pixels are prepared in torch (short side crop to a square, then SVD's CLIP resize and
normalisation from ``video.models.image_encoder``), so no transformers image processor is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from eval.inputs import EvalError
from video.models.image_encoder import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, clip_pixel_values


def _pooled(out) -> torch.Tensor:
    """get_*_features returns a tensor (transformers 4) or an output whose pooler_output is projected (5)."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output



class ClipSim:
    def __init__(self, folder: str | Path, device: str | torch.device = "cpu", batch: int = 32):
        from transformers import AutoTokenizer, CLIPModel

        from video.models.svd import quiet_library_logs

        quiet_library_logs()

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise EvalError(f"CLIP weights: {folder} is not a transformers model folder (no config.json)")
        try:  # safetensors only, as every other weight (README): a .bin is a pickle, which can run code
            self.model = CLIPModel.from_pretrained(folder, local_files_only=True, use_safetensors=True)
        except OSError as e:
            from video.models.components import transformers_load_error

            raise EvalError(f"CLIP weights: {folder}: {transformers_load_error(folder, e)}") from e
        self.model = self.model.to(device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.size = self.model.config.vision_config.image_size
        self.mean, self.std = OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
        pre = folder / "preprocessor_config.json"
        if pre.is_file():
            p = json.loads(pre.read_text())
            self.mean, self.std = tuple(p.get("image_mean", self.mean)), tuple(p.get("image_std", self.std))
        self.device, self.batch = torch.device(device), batch

    def pixel_values(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (F, H, W, 3) -> CLIP input (F, 3, size, size): centre square, resize, normalise."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
        h, w = x.shape[-2:]
        s = min(h, w)
        x = x[..., (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        return clip_pixel_values(x, self.size, self.mean, self.std)

    @torch.no_grad()
    def image_embeddings(self, frames: np.ndarray) -> torch.Tensor:
        """Unit-norm image embeddings (F, D)."""
        out = [_pooled(self.model.get_image_features(pixel_values=self.pixel_values(frames[i : i + self.batch])
                                                     .to(self.device)))
               for i in range(0, len(frames), self.batch)]
        return torch.nn.functional.normalize(torch.cat(out).float(), dim=-1).cpu()

    @torch.no_grad()
    def text_embedding(self, prompt: str) -> torch.Tensor:
        """Unit-norm text embedding (D,); prompts longer than the model's context are truncated."""
        tok = self.tokenizer([prompt], padding=True, truncation=True, return_tensors="pt").to(self.device)
        t = _pooled(self.model.get_text_features(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"]))
        return torch.nn.functional.normalize(t.float(), dim=-1)[0].cpu()

    def scores(self, frames: np.ndarray, prompt: str | None = None) -> tuple[dict, dict]:
        """({clip_text, clip_frame}, per-frame curves); clip_text only with a prompt. clip_frame is
        None for a one-frame clip (no pair of frames to compare: not applicable, not perfect)."""
        img = self.image_embeddings(frames)
        step = (img[1:] * img[:-1]).sum(-1)
        scalars = {"clip_frame": float(step.mean()) if len(step) else None}
        curves = {"clip_frame": step.tolist()}
        if prompt is not None:
            per = img @ self.text_embedding(prompt)
            scalars["clip_text"] = float(per.mean())
            curves["clip_text"] = per.tolist()
        return scalars, curves
