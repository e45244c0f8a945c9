"""CLIP aesthetics, caption and caption-image similarity, from LOCAL weights only.

- ``aesthetic``: the LAION aesthetic MLP (:mod:`~data_curation.scorers.aesthetic`, safetensors)
  on the L2-normalised CLIP image embedding, averaged over first/middle/last frames (SVD and
  Open-Sora filter on it).
- ``caption``: a transformers captioning model (BLIP, GIT, a vision encoder-decoder...) on the
  middle frame, loaded by the class its ``config.json`` names and run with ``generate``: not
  through ``pipeline("image-to-text")``, which transformers 5 maps to "image-text-to-text", a
  task that refuses an image without a prompt (every clip became an error row).
- ``clip_score``: cosine similarity of the caption's text embedding and the mean image
  embedding of the first, middle and last key frames (SVD drops the bottom half by this).

Key frames are at most 512 px on their long side (:data:`~data_curation.clip_frames.KEY_MAX_SIDE`).
CLIP sees them as eval's CLIP-SIM does (:func:`eval.clip_sim.square_pixel_values`: centre
square, SVD's resize, the folder's own mean and std), so one model scores alike in both. Models
run on the CPU in float32 (a half checkpoint too: transformers 5 kept its dtype), one clip at
a time, in each worker.

With no weights configured the columns are null and one warning says so: CI has no weights,
and a curation run must never crash for want of a model. A folder that loads but cannot do the
job is refused when the scorer is built, before any source is read: no tokenizer (transformers 5
builds a stand-in of a few special tokens instead of failing: every caption was '' and every
clip_score null, or every text embedded alike), a model that does not generate text as the
captioner, weights that are a Git LFS pointer.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

_WARNED = False


def _preprocess(frames: list[np.ndarray], size: int, mean: tuple[float, ...], std: tuple[float, ...]):
    """RGB uint8 frames of one shape -> (n, 3, size, size) CLIP input, as eval prepares them."""
    from eval.clip_sim import square_pixel_values

    return square_pixel_values(np.stack(frames), size, mean, std)


def load_problem(path: str, e: BaseException) -> str:
    """Why the transformers folder ``path`` did not load, in one line: a weight file that holds
    no weights (a Git LFS pointer, an empty or cut-short file: :func:`video.models.sniff.header_problem`)
    named as such (the library said "header too large"), else :func:`transformers_load_error`."""
    from video.models.components import transformers_load_error
    from video.models.sniff import header_problem

    for f in sorted(Path(path).glob("*.safetensors")):
        if (why := header_problem(f)) is not None:
            return f"{f.name}: {why}"
    return transformers_load_error(path, e)


def tokenizer_problem(tokenizer, vocab: int | None) -> str | None:
    """Why ``tokenizer`` is not the model's own (None when it may be): far fewer tokens than the
    model's text vocabulary. transformers 5 builds a stand-in of a few special tokens from a
    folder without tokenizer files rather than failing."""
    n = len(tokenizer)
    if vocab and n < vocab // 2:
        return (f"its tokenizer has {n} tokens for a {vocab}-token model: the folder lacks the tokenizer files "
                "(tokenizer.json, vocab.txt, ...); save the tokenizer into it with the model")
    return None


def _text_vocab(config) -> int | None:
    """The vocabulary size of the model's text part (the decoder of an encoder-decoder)."""
    try:
        return getattr(config.get_text_config(decoder=True), "vocab_size", None)
    except (AttributeError, TypeError, ValueError):
        return getattr(config, "vocab_size", None)


def warn_if_no_weights(recipe, always: bool = False) -> bool:
    """True when the recipe gives the clip scorer no weights; the first time in a process (or
    ``always``), a warning says that its columns stay null and names the recipe's rules on them,
    which are therefore not applied. ``always``: the run's driver says it on every run (a second
    run in one process was silent); Ray workers' warnings do not reach the terminal."""
    global _WARNED
    m = recipe.models if recipe is not None else None
    if m is not None and (m.clip or m.captioner):
        return False
    if always or not _WARNED:
        ruled = list(dict.fromkeys(r.column for r in getattr(recipe, "rules", None) or [] if r.column in Scorer.columns))
        unapplied = f"; recipe rules on {', '.join(ruled)} are not applied" if ruled else ""
        warnings.warn("clip scorer: no local weights configured (models.clip / models.captioner); "
                      f"aesthetic, clip_score and caption stay null{unapplied}", stacklevel=2)
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

        from video.models.svd import quiet_library_logs

        quiet_library_logs()  # transformers' "Loading weights" bars: --quiet shows none
        what = f"models.captioner {path}: cannot load a captioning model"
        try:
            cfg = AutoConfig.from_pretrained(path, local_files_only=True)
            cls = next((c for a in cfg.architectures or [] if (c := getattr(transformers, a, None))), None)
            cls = cls or getattr(transformers, "AutoModelForImageTextToText", None) or \
                transformers.AutoModelForVision2Seq
            self.model = cls.from_pretrained(path, local_files_only=True, use_safetensors=True).float().eval()
        except Exception as e:  # a library's long error: one line naming the folder
            raise ValueError(f"{what} ({load_problem(path, e)})") from e
        if not self.model.can_generate():  # a CLIP folder: else every clip failed on .generate
            raise ValueError(f"{what} ({type(self.model).__name__} does not generate text; give a captioner such "
                             "as BLIP or GIT)")
        try:
            self.processor = AutoProcessor.from_pretrained(path, local_files_only=True)
            self.decoder = self.processor if hasattr(self.processor, "batch_decode") else \
                transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        except Exception as e:
            raise ValueError(f"{what} ({load_problem(path, e)})") from e
        why = tokenizer_problem(getattr(self.decoder, "tokenizer", None) or self.decoder, _text_vocab(cfg))
        if why is not None:
            raise ValueError(f"{what} ({why})")

    def __call__(self, rgb: np.ndarray) -> str:
        import torch
        from PIL import Image

        inputs = self.processor(images=Image.fromarray(rgb), return_tensors="pt")
        with torch.no_grad():
            ids = self.model.generate(**inputs, max_new_tokens=self.MAX_NEW_TOKENS)
        return self.decoder.batch_decode(ids, skip_special_tokens=True)[0].strip()


class Scorer:
    # 3: CLIP sees eval's pixels (centre square, SVD's resize, the folder's mean and std), not a
    # Lanczos crop normalised with OpenAI's numbers whatever the folder said; float32 always
    name, version, inputs = "clip", 3, ("keys",)
    columns = {"aesthetic": "float64", "clip_score": "float64", "caption": "string"}

    def __init__(self, recipe=None):
        self.model = self.tokenizer = self.head = self.captioner = None
        if warn_if_no_weights(recipe):
            return
        from video.models.svd import quiet_library_logs

        quiet_library_logs()  # transformers' "Loading weights" bars: --quiet shows none
        m = recipe.models
        if m.clip:
            self._load_clip(m.clip)
        if m.aesthetic_head:
            from data_curation.scorers.aesthetic import head_input_dim, load_head

            self.head = load_head(m.aesthetic_head)
            dim = self.model.config.projection_dim if self.model is not None else None
            if dim is not None and head_input_dim(self.head) != dim:
                raise ValueError(f"aesthetic head {m.aesthetic_head} takes {head_input_dim(self.head)}-d embeddings; "
                                 f"the CLIP model gives {dim} (the LAION head wants ViT-L/14: 768)")
        if m.captioner:
            self.captioner = Captioner(m.captioner)

    def _load_clip(self, path: str) -> None:
        """The CLIP model, its own tokenizer (a stand-in scored every caption alike, and a long
        caption failed every clip: its length limit was 10^30) and its normalisation."""
        from transformers import AutoTokenizer, CLIPModel

        from eval.clip_sim import clip_normalisation

        what = f"models.clip {path}: cannot load a CLIP model"
        try:
            self.model = CLIPModel.from_pretrained(path, local_files_only=True, use_safetensors=True).float().eval()
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        except Exception as e:  # a library's long error: one line naming the folder
            raise ValueError(f"{what} ({load_problem(path, e)})") from e
        why = tokenizer_problem(self.tokenizer, self.model.config.text_config.vocab_size)
        if why is not None:
            raise ValueError(f"{what} ({why})")
        self.mean, self.std = clip_normalisation(path)

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
            emb = self.model.get_image_features(pixel_values=_preprocess(clip.keys, size, self.mean, self.std))
            emb = getattr(emb, "pooler_output", emb)
            if self.head is not None:
                from data_curation.scorers.aesthetic import aesthetic_score

                out["aesthetic"] = float(aesthetic_score(self.head, emb).mean())
            emb = torch.nn.functional.normalize(emb.float(), dim=-1)
            if out["caption"]:
                # the model's own context, whatever the tokenizer's model_max_length says
                tok = self.tokenizer([out["caption"]], padding=True, truncation=True, return_tensors="pt",
                                     max_length=self.model.config.text_config.max_position_embeddings)
                txt = self.model.get_text_features(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
                txt = torch.nn.functional.normalize(getattr(txt, "pooler_output", txt).float(), dim=-1)
                img = torch.nn.functional.normalize(emb.mean(0, keepdim=True), dim=-1)
                out["clip_score"] = float((img * txt).sum())
        return out
