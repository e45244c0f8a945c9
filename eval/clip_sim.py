"""CLIP-SIM: how well frames match their prompt (cosine of CLIP text and image embeddings,
averaged over frames, Wu et al. 2021) and how alike consecutive frames look to CLIP (temporal
consistency). A transformers ``CLIPModel`` and its tokenizer from one local folder.

Pixels are prepared in torch (short side crop to a square, then SVD's CLIP resize and
normalisation from ``video.models.image_encoder``), so no transformers image processor is needed.

Scale: ``clip_text`` and ``clip_frame`` are plain cosine similarities, -1..1 (random CLIP
pairs sit near 0.1-0.3), averaged over frames or frame pairs: not CLIPScore's 100 * max(cos, 0)
(Hessel et al. 2021), nor 2.5 * max(cos, 0). Prompts are scored as the plain text a generation
meant (:func:`plain_prompt`): the project's prompt syntax (``(red:1.3)``, ``[a:b:0.5]``,
``a AND b``) would otherwise be tokenized literally, brackets and numbers included.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from eval.inputs import EvalError
from video.models.image_encoder import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, clip_pixel_values

PROMPT_STEPS = 20  # a scheduled prompt is scored with its text at the last of these: `video prompt`'s default


def _pooled(out) -> torch.Tensor:
    """get_*_features returns a tensor (transformers 4) or an output whose pooler_output is projected (5)."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output



def plain_prompt(prompt: str, steps: int = PROMPT_STEPS) -> str:
    """The text a prompt in the project's language (``video.prompts``) asks for, without its
    syntax: ``AND`` terms joined with ", " (their guidance weights dropped), a schedule
    (``[a:b:t]``, ``[x:t]``, ``[a|b]``) at its last of ``steps`` steps (the text the final,
    detail-setting steps used; ``video prompt "..."`` lists it as its last step range), emphasis
    brackets and weights removed (``(red:1.3)`` -> ``red``), escapes undone, ``BREAK`` a space.

    >>> plain_prompt("a (red:1.3) car, [sunny:rainy:0.5] AND a dog:0.5")
    'a red car, rainy, a dog'

    A prompt that is syntax alone (``(((``, ``AND``) would leave no text, and CLIP would score
    the frames against the empty string: it is scored as written instead."""
    import warnings

    from video.prompts.composable import split_and
    from video.prompts.emphasis import parse_segments
    from video.prompts.schedule import schedule

    with warnings.catch_warnings():  # the warning of a trailing ":9" is about guidance, not this score
        warnings.simplefilter("ignore")
        terms = split_and(prompt)
    texts = []
    for term, _ in terms:
        final = schedule(term, steps)[-1][1]
        words = "".join(" " if seg.is_break else seg.text for seg in parse_segments(final))
        texts.append(" ".join(words.split()))
    plain = ", ".join(t for t in texts if t)
    return plain or " ".join(prompt.split())  # a prompt of syntax alone ("(((", "AND"): scored as written


def clip_normalisation(folder: str | Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) from the folder's ``preprocessor_config.json`` (OpenAI's where it has none):
    a CLIP fine-tune may normalise otherwise, and its embeddings are only right with its own.
    Shared with curate's clip scorer (:mod:`data_curation.scorers.clip`), so that one model
    scores the same frames alike in both."""
    mean, std = OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
    pre = Path(folder) / "preprocessor_config.json"
    if pre.is_file():
        p = json.loads(pre.read_text())
        mean, std = tuple(p.get("image_mean", mean)), tuple(p.get("image_std", std))
    return mean, std


def square_pixel_values(frames: np.ndarray, size: int, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 (F, H, W, 3) -> CLIP input (F, 3, size, size): the centre square, resized and
    normalised as SVD's CLIP image encoder does (:func:`clip_pixel_values`)."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    h, w = x.shape[-2:]
    s = min(h, w)
    x = x[..., (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return clip_pixel_values(x, size, mean, std)


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
        self.mean, self.std = clip_normalisation(folder)
        self.device, self.batch = torch.device(device), batch

    def pixel_values(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (F, H, W, 3) -> CLIP input (F, 3, size, size): :func:`square_pixel_values`."""
        return square_pixel_values(frames, self.size, self.mean, self.std)

    @torch.no_grad()
    def image_embeddings(self, frames: np.ndarray) -> torch.Tensor:
        """Unit-norm image embeddings (F, D)."""
        out = [_pooled(self.model.get_image_features(pixel_values=self.pixel_values(frames[i : i + self.batch])
                                                     .to(self.device)))
               for i in range(0, len(frames), self.batch)]
        return torch.nn.functional.normalize(torch.cat(out).float(), dim=-1).cpu()

    @torch.no_grad()
    def text_embedding(self, prompt: str) -> torch.Tensor:
        """Unit-norm text embedding (D,) of :func:`plain_prompt` of ``prompt`` (its weights and
        brackets are not words); prompts longer than the model's context are cut to it (the
        model's own ``max_position_embeddings``: a tokenizer without ``model_max_length`` cut
        nothing, and a long prompt failed "Sequence length must be less than ...")."""
        tok = self.tokenizer([plain_prompt(prompt)], padding=True, truncation=True, return_tensors="pt",
                             max_length=self.model.config.text_config.max_position_embeddings).to(self.device)
        t = _pooled(self.model.get_text_features(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"]))
        return torch.nn.functional.normalize(t.float(), dim=-1)[0].cpu()

    def scores(self, frames: np.ndarray, prompt: str | None = None) -> tuple[dict, dict]:
        """({clip_text, clip_frame}, per-frame curves), cosines in -1..1 (see the module
        docstring); clip_text only with a prompt. clip_frame is None for a one-frame clip (no
        pair of frames to compare: not applicable, not perfect)."""
        img = self.image_embeddings(frames)
        step = (img[1:] * img[:-1]).sum(-1)
        scalars = {"clip_frame": float(step.mean()) if len(step) else None}
        curves = {"clip_frame": step.tolist()}
        if prompt is not None:
            per = img @ self.text_embedding(prompt)
            scalars["clip_text"] = float(per.mean())
            curves["clip_text"] = per.tolist()
        return scalars, curves
