"""CLIP aesthetics, caption and caption-image similarity, from LOCAL weights only.

- ``aesthetic``: a linear head (safetensors ``weight`` (1, D), ``bias`` (1,)) on the
  L2-normalised CLIP image embedding, averaged over first/middle/last frames (the LAION
  predictor idea; SVD and Open-Sora filter on it).
- ``caption``: a transformers image-to-text model on the middle frame.
- ``clip_score``: cosine similarity of the caption's text embedding and the mean image
  embedding (SVD drops the bottom half by this).

With no weights configured the columns are null and one warning says so: CI has no weights,
and a curation run must never crash for want of a model.
"""

from __future__ import annotations

import warnings

import numpy as np

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
_WARNED = False


def _preprocess(frames: list[np.ndarray], size: int):
    """RGB uint8 frames -> (n, 3, size, size) tensor: short side to ``size``, centre crop, CLIP norm."""
    import torch
    from PIL import Image

    from video.media import resize_center_crop

    out = [(np.asarray(resize_center_crop(Image.fromarray(f), size, size), np.float32) / 255 - CLIP_MEAN) / CLIP_STD
           for f in frames]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


class Scorer:
    name, version, inputs = "clip", 1, ("keys",)
    columns = {"aesthetic": "float64", "clip_score": "float64", "caption": "string"}

    def __init__(self, recipe=None):
        global _WARNED
        m = recipe.models if recipe is not None else None
        self.model = self.tokenizer = self.head = self.captioner = None
        if m is None or not (m.clip or m.captioner):
            if not _WARNED:
                warnings.warn("clip scorer: no local weights configured (models.clip / models.captioner); "
                              "aesthetic, clip_score and caption stay null", stacklevel=2)
                _WARNED = True
            return
        if m.clip:
            from transformers import CLIPModel

            self.model = CLIPModel.from_pretrained(m.clip, local_files_only=True).eval()
            try:
                from transformers import AutoTokenizer

                self.tokenizer = AutoTokenizer.from_pretrained(m.clip, local_files_only=True)
            except (OSError, ValueError):
                self.tokenizer = None
        if m.aesthetic_head:
            from safetensors.torch import load_file

            self.head = load_file(m.aesthetic_head)
        if m.captioner:
            from transformers import pipeline

            self.captioner = pipeline("image-to-text", model=m.captioner, local_files_only=True)

    def score(self, clip) -> dict:
        import torch

        out = {"aesthetic": None, "clip_score": None, "caption": None}
        if self.captioner is not None:
            from PIL import Image

            out["caption"] = self.captioner(Image.fromarray(clip.keys[1]))[0]["generated_text"].strip()
        if self.model is None:
            return out
        with torch.no_grad():
            size = self.model.config.vision_config.image_size
            emb = self.model.get_image_features(pixel_values=_preprocess(clip.keys, size))
            emb = getattr(emb, "pooler_output", emb)
            emb = torch.nn.functional.normalize(emb.float(), dim=-1)
            if self.head is not None:
                out["aesthetic"] = float((emb @ self.head["weight"].float().T + self.head["bias"].float()).mean())
            if out["caption"] and self.tokenizer is not None:
                tok = self.tokenizer([out["caption"]], padding=True, truncation=True, return_tensors="pt")
                txt = self.model.get_text_features(**tok)
                txt = torch.nn.functional.normalize(getattr(txt, "pooler_output", txt).float(), dim=-1)
                img = torch.nn.functional.normalize(emb.mean(0, keepdim=True), dim=-1)
                out["clip_score"] = float((img * txt).sum())
        return out
