"""CLIP aesthetics, caption and caption-image similarity, from LOCAL weights only.

- ``aesthetic``: the LAION aesthetic MLP (:mod:`~data_curation.scorers.aesthetic`, safetensors)
  on the L2-normalised CLIP image embedding, averaged over first/middle/last frames (SVD and
  Open-Sora filter on it).
- ``caption``: a transformers captioning model (BLIP, GIT, a vision encoder-decoder...) on the
  middle frame, loaded by the class its ``config.json`` names and run with ``generate``: not
  through ``pipeline("image-to-text")``, which transformers 5 maps to "image-text-to-text", a
  task that refuses an image without a prompt (every clip became an error row).
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


def warn_if_no_weights(recipe) -> bool:
    """True when the recipe gives the clip scorer no weights; the first time, a warning says
    that its columns stay null. Called by the run's driver too: Ray workers' warnings do not
    reach the terminal."""
    global _WARNED
    m = recipe.models if recipe is not None else None
    if m is not None and (m.clip or m.captioner):
        return False
    if not _WARNED:
        warnings.warn("clip scorer: no local weights configured (models.clip / models.captioner); "
                      "aesthetic, clip_score and caption stay null", stacklevel=2)
        _WARNED = True
    return True




class Captioner:
    """A local captioning model: the class its config's ``architectures`` names (else
    AutoModelForImageTextToText / AutoModelForVision2Seq, whichever this transformers has), its
    processor, and ``generate``. Slow (PIL) image processors work: no torchvision needed."""

    MAX_NEW_TOKENS = 30

    def __init__(self, path: str) -> None:
        import transformers
        from transformers import AutoConfig, AutoProcessor

        try:
            cfg = AutoConfig.from_pretrained(path, local_files_only=True)
            cls = next((c for a in cfg.architectures or [] if (c := getattr(transformers, a, None))), None)
            cls = cls or getattr(transformers, "AutoModelForImageTextToText", None) or \
                transformers.AutoModelForVision2Seq
            self.model = cls.from_pretrained(path, local_files_only=True, use_safetensors=True).eval()
            self.processor = AutoProcessor.from_pretrained(path, local_files_only=True)
            self.decoder = self.processor if hasattr(self.processor, "batch_decode") else \
                transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        except Exception as e:  # a library's long error: one line naming the folder
            from video.models.components import transformers_load_error

            raise ValueError(f"models.captioner {path}: cannot load a captioning model ({transformers_load_error(path, e)})") from e

    def __call__(self, rgb: np.ndarray) -> str:
        import torch
        from PIL import Image

        inputs = self.processor(images=Image.fromarray(rgb), return_tensors="pt")
        with torch.no_grad():
            ids = self.model.generate(**inputs, max_new_tokens=self.MAX_NEW_TOKENS)
        return self.decoder.batch_decode(ids, skip_special_tokens=True)[0].strip()


class Scorer:
    name, version, inputs = "clip", 2, ("keys",)
    columns = {"aesthetic": "float64", "clip_score": "float64", "caption": "string"}

    def __init__(self, recipe=None):
        self.model = self.tokenizer = self.head = self.captioner = None
        if warn_if_no_weights(recipe):
            return
        m = recipe.models
        if m.clip:
            from transformers import CLIPModel

            try:
                self.model = CLIPModel.from_pretrained(m.clip, local_files_only=True, use_safetensors=True).eval()
            except Exception as e:  # a library's long error: one line naming the folder
                from video.models.components import transformers_load_error

                raise ValueError(f"models.clip {m.clip}: cannot load a CLIP model ({transformers_load_error(m.clip, e)})") from e
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
            self.captioner = Captioner(m.captioner)

    def score(self, clip) -> dict:
        out = {"aesthetic": None, "clip_score": None, "caption": None}
        if self.model is None and self.captioner is None:
            return out  # no weights (svd_lvd ships none): torch is not imported (1.9 s, ~190 MB a worker)
        import torch

        if self.captioner is not None:
            out["caption"] = self.captioner(clip.keys[1])
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
