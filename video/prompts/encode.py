"""Prompt text to per-step conditioning for a transformers text encoder.

The pipeline for ``encode(prompt, negative, steps)``:

1. :func:`~video.prompts.composable.split_and` cuts the prompt into ``AND`` terms;
2. :func:`~video.prompts.schedule.schedule` turns each term (and the negative prompt, which
   is never split at ``AND``) into the text of every step;
3. each distinct text is encoded once (a dict keyed by the text): the emphasis pass gives
   weighted runs, textual-inversion names become their vectors, and the encoder's hidden
   states are weighted per token;
4. every step gets its terms' and its negative's tensors (:class:`PromptConditioning`).

Two encoder families:

* CLIP (``kind="clip"``): A1111's long-prompt scheme. 75-token chunks, each framed by BOS and
  EOS and padded to 77 (``BREAK`` ends a chunk early; a chunk that fills up moves the words
  after a comma in its last ``comma_backtrack`` tokens to the next one), encoded separately and
  concatenated: ``(1, 77 * n_chunks, C)``. At each step, ``AND`` terms with fewer chunks
  repeat their last hidden state (A1111's ``stack_conds``), and prompt and negative are padded
  with the empty prompt's chunk to one length (A1111's "pad prompt/negative prompt to be same
  length").
* T5 / UMT5 (``kind="t5"``), the Wan convention: one sequence of at most ``max_length`` (512)
  tokens ending in EOS, encoded with an attention mask over the padding, then every position
  after the real tokens set to zero: ``(1, 512, C)``. The text is cleaned and tokenized in one
  call as diffusers' ``WanPipeline`` does (brackets removed; each token weighted by the
  characters it covers: :mod:`video.prompts.t5text`), so a prompt's ids do not depend on where
  its weights change. ``BREAK`` has no meaning and is read as a space; longer prompts are
  truncated with a warning.

Weights (``weight_mode``; by default ``"a1111"`` for CLIP and ``"comfy"`` for T5 / UMT5):

* ``"a1111"``: hidden states multiplied by their token's weight, then the whole chunk (T5:
  the real tokens) rescaled so its mean is what it was before (A1111's "Original" emphasis).
  Not T5's default: UMT5's states average near zero, so the rescaling factor ``old_mean /
  new_mean`` swings wildly (on a tiny UMT5 one ``(green:1.3)`` scaled every token of its
  prompt by -3.6, another by -0.03) and a weight changed the whole prompt, sign included.
* ``"comfy"``: ComfyUI's rule, ``empty + w * (z - empty)`` at each token of weight ``w != 1``,
  where ``empty`` is the empty prompt's encoding at the same position, as this encoder computes
  it (ComfyUI's ``z_empty``); no rescaling, so a weight changes only its own tokens (and 1.0
  changes nothing). On T5 / UMT5 that encoding is EOS and then zeros (ComfyUI's UMT5 encoder
  zeroes the masked positions too, ``zero_out_masked``), so ``(word:w)`` is ``w * z`` at every
  token after the first and ``(word:0)`` a zero vector; on CLIP it is the states of BOS, EOS and
  padding.

A weight or ``AND`` term weight that float32 cannot hold (a 400-digit number, 1000 nested
``(``: 1.1 ** 1000), or weights that make the encoder's states overflow, are a one-line
:class:`PromptError` naming the part: such states would make every frame NaN (a black video).

Encoded texts are kept in a small least-recently-used cache (:attr:`PromptEncoder.cache`,
``cache_size`` texts plus the empty prompt): a long-lived pipeline (ComfyUI keeps one) would
otherwise keep every prompt it ever saw, each ``(512, 4096)`` on Wan's GPU.
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import torch

from video.prompts.chunks import BREAK, CHUNK_LENGTH, Token, Unit, chunk_units, frame_chunk
from video.prompts.composable import split_and
from video.prompts.conditioning import PromptConditioning, StepConditioning
from video.prompts.embeddings import load_embeddings, match_name_ids, name_token_table, split_on_names
from video.prompts.emphasis import Segment, parse_segments
from video.prompts.schedule import schedule, text_at_step
from video.prompts.t5text import Piece, basic_clean, join_pieces, token_weights

WeightMode = Literal["a1111", "comfy"]
# the rule each encoder kind weighs ``(word:w)`` by unless told: A1111's mean rescale stays in
# scale on CLIP's states but can flip UMT5's, whose mean sits near zero (module docstring). A DiT
# latent cache records it in its index; training from one encoded under another rule says so.
DEFAULT_WEIGHT_MODE: dict[str, WeightMode] = {"clip": "a1111", "t5": "comfy"}
EncoderKind = Literal["auto", "clip", "t5"]
FLOAT32_MAX = float(torch.finfo(torch.float32).max)
DEFAULT_CACHE_SIZE = 8  # distinct texts kept besides "": a prompt, its negative and a few schedule texts


class PromptError(ValueError):
    """A prompt that cannot become finite conditioning (a weight float32 cannot hold, or states
    that overflow): one line naming the part; the pipelines raise it as their InputError."""


def _shown(text: str, limit: int = 40) -> str:
    """A prompt part as an error names it: stripped, long ones cut with an ellipsis."""
    text = text.strip()
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def check_weight(weight: float, part: str, what: str = "weight") -> None:
    """:class:`PromptError` for a weight that is not a finite float32 number: the encoder's
    states and the guidance run in float32 or less, where it would become inf and then NaN."""
    if not math.isfinite(weight) or abs(weight) > FLOAT32_MAX:
        hint = "fewer brackets or a smaller weight" if what == "weight" else "a smaller weight"
        raise PromptError(f"prompt part {_shown(part)} has {what} {weight:.3g}, which float32 cannot hold "
                          f"(at most {FLOAT32_MAX:.3g}): use {hint}")


def apply_weights_a1111(z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``z * w`` per token, rescaled to ``z``'s original mean. ``z``: (L, C); ``weights``: (L,).

    The rescaling keeps the overall magnitude the U-Net was trained on; A1111 found that
    without it strong weights produce artifacts."""
    if bool((weights == 1).all()):
        return z
    z32 = z.float()
    scaled = z32 * weights.to(z32)[:, None]
    new_mean = scaled.mean()
    if new_mean != 0:
        scaled = scaled * (z32.mean() / new_mean)
    return scaled.to(z.dtype)


def apply_weights_comfy(z: torch.Tensor, weights: torch.Tensor, empty: torch.Tensor) -> torch.Tensor:
    """``empty + w * (z - empty)`` at tokens whose weight is not 1 (ComfyUI ``sd1_clip``).

    Weighting the difference from the empty prompt, not the raw state, means weight 0 gives
    "as if the word were absent" rather than a zero vector the model never saw."""
    changed = weights != 1
    if not bool(changed.any()):
        return z
    z32, e32 = z.float(), empty.float()
    w = weights.to(z32)[:, None]
    mixed = e32 + w * (z32 - e32)
    return torch.where(changed[:, None], mixed, z32).to(z.dtype)


@contextmanager
def _replaced_vectors(module: torch.nn.Module, fixes: list[tuple[int, int, torch.Tensor]]) -> Iterator[None]:
    """While active, ``module``'s output at ``[batch, position]`` is the given vector: how a
    textual-inversion embedding enters the encoder in place of its placeholder token."""
    if not fixes:
        yield
        return

    def hook(_module: torch.nn.Module, _args: tuple, output: torch.Tensor) -> torch.Tensor:
        output = output.clone()
        for b, pos, vector in fixes:
            output[b, pos] = vector.to(device=output.device, dtype=output.dtype)
        return output

    handle = module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def _detect_kind(text_encoder: torch.nn.Module) -> Literal["clip", "t5"]:
    model_type = str(getattr(getattr(text_encoder, "config", None), "model_type", "")).lower()
    if "t5" in model_type:
        return "t5"
    if "clip" in model_type:
        return "clip"
    raise ValueError(f"cannot tell the encoder family of model_type {model_type!r}: pass kind='clip' or 't5'")


def pad_with_empty(t: torch.Tensor, length: int, empty: torch.Tensor) -> torch.Tensor:
    """Text states ``t`` (B, L, C) followed by whole copies of the empty prompt's states ``empty``
    (1, E, C) up to ``length`` positions: A1111's "pad prompt/negative prompt to be same length"
    (CLIP lengths are multiples of 77). Shared by inference and training, so a caption is padded
    in training as a prompt is at sampling."""
    gap = length - t.shape[1]
    if gap < 0 or gap % empty.shape[1]:
        raise ValueError(f"text states of {t.shape[1]} positions cannot be padded to {length} with "
                         f"{empty.shape[1]}-position empty-prompt chunks")
    return torch.cat([t, empty.to(t).expand(t.shape[0], -1, -1).repeat(1, gap // empty.shape[1], 1)], dim=1)


class PromptEncoder:
    """Encodes prompts written in the A1111 prompt language for one tokenizer + text encoder.

    ``embeddings_dir``: textual-inversion files (see :mod:`video.prompts.embeddings`), used by
    writing their file stem in a prompt. ``embedding_key``: the tensor to take from files
    holding several (``clip_l`` / ``clip_g`` in SDXL files). ``clip_skip``: CLIP only, take the
    ``clip_skip``-th hidden state from the end through the final layer norm (1: the last).
    ``weight_mode``: how ``(word:w)`` weights the states (module docstring); None picks
    ``"a1111"`` for CLIP and ``"comfy"`` for T5 / UMT5, the one that stays local there.
    ``cache_size``: how many encoded texts :attr:`cache` keeps besides the empty prompt (least
    recently used first out), so a long-lived encoder's memory stays bounded.
    """

    def __init__(
        self,
        tokenizer,
        text_encoder: torch.nn.Module,
        *,
        kind: EncoderKind = "auto",
        weight_mode: WeightMode | None = None,
        embeddings_dir: str | Path | None = None,
        embedding_key: str | None = None,
        clip_skip: int = 1,
        comma_backtrack: int = 20,
        max_length: int = 512,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        if weight_mode not in (None, "a1111", "comfy"):
            raise ValueError(f"weight_mode must be 'a1111' or 'comfy', not {weight_mode!r}")
        if clip_skip < 1:
            raise ValueError("clip_skip counts from 1 (the last layer)")
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size}")
        self.tokenizer = tokenizer
        self.model = text_encoder
        self.kind = _detect_kind(text_encoder) if kind == "auto" else kind
        self.weight_mode: WeightMode = weight_mode or DEFAULT_WEIGHT_MODE[self.kind]
        self.clip_skip = clip_skip
        self.comma_backtrack = comma_backtrack
        self.max_length = max_length
        self.eos_id = int(tokenizer.eos_token_id)
        self.pad_id = int(tokenizer.pad_token_id) if tokenizer.pad_token_id is not None else self.eos_id
        if self.kind == "clip":
            self.bos_id = int(tokenizer.bos_token_id)
            self.comma_id = tokenizer.get_vocab().get(",</w>")
        dim = self._embedding_module().embedding_dim
        self.embeddings: dict[str, torch.Tensor] = (
            load_embeddings(embeddings_dir, dim=dim, key=embedding_key) if embeddings_dir is not None else {}
        )
        self._name_table = name_token_table(tokenizer, list(self.embeddings)) if self.kind == "clip" else {}
        self._warned_no_offsets = False
        self.cache_size = cache_size
        self.cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._empty_states: torch.Tensor | None = None

    # -- model plumbing -------------------------------------------------------------------

    def _embedding_module(self) -> torch.nn.Module:
        """The embedding layer the forward pass really calls (T5 keeps a tied copy in its stack)."""
        if self.kind == "t5":
            stack = getattr(self.model, "encoder", None)
            if getattr(stack, "embed_tokens", None) is not None:
                return stack.embed_tokens
        return self.model.get_input_embeddings()

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def _forward(
        self, ids: list[list[int]], mask: list[list[int]] | None, fixes: list[tuple[int, int, torch.Tensor]]
    ) -> torch.Tensor:
        """Raw hidden states ``(B, L, C)`` of a batch of id rows."""
        input_ids = torch.tensor(ids, dtype=torch.long, device=self.device)
        with _replaced_vectors(self._embedding_module(), fixes):
            if self.kind == "t5":
                attention = torch.tensor(mask, dtype=torch.long, device=self.device)
                return self.model(input_ids=input_ids, attention_mask=attention).last_hidden_state
            out = self.model(input_ids=input_ids, output_hidden_states=self.clip_skip > 1)
        if self.clip_skip == 1:
            return out.last_hidden_state
        final_norm = getattr(self.model, "text_model", self.model).final_layer_norm
        return final_norm(out.hidden_states[-self.clip_skip])

    # -- text to tokens -------------------------------------------------------------------

    @staticmethod
    def segments(text: str) -> list[Segment]:
        """The emphasis pass of one scheduled text, every weight checked (:func:`check_weight`)."""
        segs = parse_segments(text)
        for seg in segs:
            if not seg.is_break:
                check_weight(seg.weight, seg.text)
        return segs

    def units(self, text: str) -> list[Unit | None]:
        """The weighted token stream of one (already scheduled) text for CLIP; None marks a
        BREAK. As A1111: each weighted run is tokenized apart, and textual-inversion names are
        found in each run's token ids (:func:`~video.prompts.embeddings.match_name_ids`)."""
        segs = self.segments(text)
        words = [seg.text for seg in segs if not seg.is_break]
        ids = iter(self.tokenizer(words, add_special_tokens=False, verbose=False)["input_ids"] if words else [])
        units: list[Unit | None] = []
        for seg in segs:
            if seg.is_break:
                units.append(BREAK)
                continue
            for item in match_name_ids([int(i) for i in next(ids)], self._name_table):
                if isinstance(item, tuple):
                    units.append(tuple(Token(0, seg.weight, v) for v in self.embeddings[item[0]]))
                else:
                    units.append((Token(item, seg.weight),))
        return units

    def t5_tokens(self, text: str) -> list[Token]:
        """The weighted tokens of one (already scheduled) text for T5 / UMT5, without EOS.

        The ids are those of the one-call tokenization of the text with its brackets removed,
        cleaned as diffusers' ``prompt_clean`` (:mod:`video.prompts.t5text`); ``BREAK`` is a
        space. A textual-inversion name (a whole word) replaces the tokens its characters fell
        into. A tokenizer without character offsets (a slow one) gets each run tokenized apart,
        with a warning: for a byte-level one such as ByT5 that is the same thing."""
        pieces: list[Piece] = []
        found: list[tuple[str, float]] = []
        for seg in self.segments(text):
            if seg.is_break:
                pieces.append((" ", 1.0, -1))
                continue
            for piece in split_on_names(basic_clean(seg.text), list(self.embeddings)):
                if isinstance(piece, tuple):
                    pieces.append((piece[0], seg.weight, len(found)))
                    found.append((piece[0], seg.weight))
                else:
                    pieces.append((piece, seg.weight, -1))
        plain, weights, owners = join_pieces(pieces)
        if not plain:
            return []
        enc = self.tokenizer(plain, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        if "offset_mapping" not in enc:
            return self._t5_tokens_apart(pieces, found)
        tokens: list[Token] = []
        last = -1
        for tid, (w, occ) in zip(enc["input_ids"], token_weights(enc["offset_mapping"], plain, weights, owners),
                                 strict=True):
            if occ < 0:
                tokens.append(Token(int(tid), w))
            elif occ != last:
                name, name_weight = found[occ]
                tokens.extend(Token(0, name_weight, v) for v in self.embeddings[name])
            last = occ
        return tokens

    def _t5_tokens_apart(self, pieces: list[Piece], found: list[tuple[str, float]]) -> list[Token]:
        """The fallback for a tokenizer without offsets: each piece tokenized on its own."""
        if not self._warned_no_offsets:
            self._warned_no_offsets = True
            warnings.warn(f"{type(self.tokenizer).__name__} gives no character offsets (not a fast tokenizer): "
                          "each weighted run is tokenized apart, which can add word-start tokens where weights "
                          "change", stacklevel=4)
        plain, weights, owners = join_pieces(pieces)
        runs: list[tuple[str, float, int]] = []
        for k, ch in enumerate(plain):
            if runs and (weights[k], owners[k]) == runs[-1][1:]:
                runs[-1] = (runs[-1][0] + ch, weights[k], owners[k])
            else:
                runs.append((ch, weights[k], owners[k]))
        texts = [t for t, _, occ in runs if occ < 0]
        ids = iter(self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"] if texts else [])
        tokens: list[Token] = []
        for _, w, occ in runs:
            if occ < 0:
                tokens.extend(Token(int(i), w) for i in next(ids))
            else:
                name, name_weight = found[occ]
                tokens.extend(Token(0, name_weight, v) for v in self.embeddings[name])
        return tokens

    # -- encoding -------------------------------------------------------------------------

    def _empty(self) -> torch.Tensor:
        """The empty prompt's states as this encoder computes them, one chunk / one sequence:
        comfy's anchor (ComfyUI's ``z_empty``). T5 / UMT5: ``encode_text("")``, EOS then zeros
        (ComfyUI's UMT5 encoder zeroes masked positions too), not the raw states under the mask."""
        if self.kind == "t5":
            return self.encode_text("")[0]
        if self._empty_states is None:
            ids, _, _ = frame_chunk([], self.bos_id, self.eos_id, self.pad_id)
            self._empty_states = self._forward([ids], None, [])[0]
        return self._empty_states

    def _weigh(self, z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        if bool((weights == 1).all()):  # before _empty(): encoding "" itself weighs nothing
            return z
        if self.weight_mode == "comfy":
            return apply_weights_comfy(z, weights, self._empty()[: z.shape[0]])
        return apply_weights_a1111(z, weights)

    def _encode_clip(self, text: str) -> torch.Tensor:
        chunks = chunk_units(self.units(text), CHUNK_LENGTH, self.comma_id, self.comma_backtrack)
        framed = [frame_chunk(c, self.bos_id, self.eos_id, self.pad_id) for c in chunks]
        fixes = [(b, pos, vec) for b, (_, _, fx) in enumerate(framed) for pos, vec in fx]
        states = self._forward([ids for ids, _, _ in framed], None, fixes)
        out = [
            self._weigh(states[b], torch.tensor(w, device=states.device)) for b, (_, w, _) in enumerate(framed)
        ]
        return torch.cat(out, dim=0)[None]

    def _encode_t5(self, text: str) -> torch.Tensor:
        tokens = self.t5_tokens(text)
        if len(tokens) > self.max_length - 1:
            warnings.warn(
                f"prompt has {len(tokens)} tokens; truncated to {self.max_length - 1} (+ EOS)", stacklevel=3
            )
            tokens = tokens[: self.max_length - 1]
        n = len(tokens) + 1
        ids = [t.id for t in tokens] + [self.eos_id] + [self.pad_id] * (self.max_length - n)
        mask = [1] * n + [0] * (self.max_length - n)
        fixes = [(0, pos, t.vector) for pos, t in enumerate(tokens) if t.vector is not None]
        states = self._forward([ids], [mask], fixes)[0]
        weights = torch.tensor([t.weight for t in tokens] + [1.0], device=states.device)
        out = torch.zeros_like(states)
        out[:n] = self._weigh(states[:n], weights)
        return out[None]

    def encode_text(self, text: str) -> torch.Tensor:
        """Hidden states ``(1, L, C)`` of one scheduled text (no ``AND``, no ``[a:b:t]``
        left), kept in :attr:`cache` while it is among the ``cache_size`` most recent texts
        (the empty prompt always). States that are not finite are a :class:`PromptError`."""
        states = self.cache.get(text)
        if states is None:
            states = self._encode_clip(text) if self.kind == "clip" else self._encode_t5(text)
            _check_finite(states, text)
            self.cache[text] = states
        self.cache.move_to_end(text)
        while len(self.cache) > self.cache_size + ("" in self.cache):
            del self.cache[next(k for k in self.cache if k != "")]
        return states

    def _padded(self, t: torch.Tensor, length: int, how: str, memo: dict) -> torch.Tensor:
        """``t`` (1, L, C) brought to ``length`` positions: ``"last"`` repeats its last hidden
        state (A1111's ``stack_conds`` for ``AND`` terms of one step), ``"empty"`` appends the
        empty prompt's chunks (its "pad prompt/negative prompt to be same length"). Memoised,
        so a step that reuses a text reuses the same tensor."""
        if t.shape[1] == length:
            return t
        key = (id(t), length, how)
        if key not in memo:
            if how == "last":
                extra = t[:, -1:].expand(-1, length - t.shape[1], -1)
                memo[key] = (t, torch.cat([t, extra], dim=1))  # t kept alive: its id stays its own
            else:
                memo[key] = (t, pad_with_empty(t, length, self.encode_text("")))
        return memo[key][1]

    def encode(self, prompt: str, negative: str = "", steps: int = 20) -> PromptConditioning:
        """Per-step conditioning for ``steps`` sampling steps; see :class:`PromptConditioning`.

        CLIP tensors of one step are brought to one length as A1111 does: ``AND`` terms with
        fewer 75-token chunks repeat their last hidden state up to the longest term's length,
        then terms and negative are padded with empty-prompt chunks to the longer of the two
        (T5 tensors all have ``max_length`` positions already)."""
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        terms = []
        for text, weight in split_and(prompt):
            check_weight(weight, text, "AND term weight")
            terms.append((schedule(text, steps), weight))
        uncond_schedule = schedule(negative, steps)
        texts = {text for entries, _ in terms for _, text in entries} | {t for _, t in uncond_schedule}
        tensors = {text: self.encode_text(text) for text in sorted(texts)}
        memo: dict = {}
        per_step = []
        for step in range(1, steps + 1):
            conds = [tensors[text_at_step(entries, step)] for entries, _ in terms]
            uncond = tensors[text_at_step(uncond_schedule, step)]
            n = max(c.shape[1] for c in conds)
            conds = [self._padded(c, n, "last", memo) for c in conds]
            n = max(n, uncond.shape[1])
            conds = [self._padded(c, n, "empty", memo) for c in conds]
            per_step.append(StepConditioning(tuple(zip(conds, (w for _, w in terms), strict=True)),
                                             self._padded(uncond, n, "empty", memo)))
        return PromptConditioning(tuple(per_step))


def _check_finite(states: torch.Tensor, text: str) -> None:
    """:class:`PromptError` for encoded states that are not finite, naming the most heavily
    weighted part (weights finite in float32 can still overflow the states, ``(cat:1e37)``),
    or, with no weight, the encoder's dtype (T5 overflows in float16)."""
    if bool(torch.isfinite(states).all()):
        return
    loudest = max((s for s in parse_segments(text) if not s.is_break), key=lambda s: abs(s.weight), default=None)
    if loudest is not None and loudest.weight != 1:
        raise PromptError(f"prompt part {_shown(loudest.text)} has weight {loudest.weight:.3g}, which makes the text "
                          "encoder's states overflow (inf or NaN): use a smaller weight")
    raise PromptError(f"the text encoder's states for {_shown(text)} are not finite in {states.dtype} (T5 encoders "
                      "overflow in float16: load it in bfloat16 or float32)")


__all__ = ["PromptEncoder", "PromptError", "apply_weights_a1111", "apply_weights_comfy", "check_weight"]
