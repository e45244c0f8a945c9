"""CLIP aesthetics, caption and caption-image similarity, from LOCAL weights only.

- ``aesthetic``: the LAION aesthetic MLP (:mod:`~data_curation.scorers.aesthetic`, safetensors)
  on the L2-normalised CLIP image embedding, averaged over first/middle/last frames (SVD and
  Open-Sora filter on it).
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
            from data_curation.scorers.aesthetic import head_input_dim, load_head

            self.head = load_head(m.aesthetic_head)
            dim = self.model.config.projection_dim if self.model is not None else None
            if dim is not None and head_input_dim(self.head) != dim:
                raise ValueError(f"aesthetic head {m.aesthetic_head} takes {head_input_dim(self.head)}-d embeddings; "
                                 f"the CLIP model gives {dim} (the LAION head wants ViT-L/14: 768)")
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
            if self.head is not None:
                from data_curation.scorers.aesthetic import aesthetic_score

                out["aesthetic"] = float(aesthetic_score(self.head, emb).mean())
            emb = torch.nn.functional.normalize(emb.float(), dim=-1)
            if out["caption"] and self.tokenizer is not None:
                tok = self.tokenizer([out["caption"]], padding=True, truncation=True, return_tensors="pt")
                txt = self.model.get_text_features(**tok)
                txt = torch.nn.functional.normalize(getattr(txt, "pooler_output", txt).float(), dim=-1)
                img = torch.nn.functional.normalize(emb.mean(0, keepdim=True), dim=-1)
                out["clip_score"] = float((img * txt).sum())
        return out
