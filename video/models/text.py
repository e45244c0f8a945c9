"""Text encoders and tokenizers for text-to-video: loading from a local folder (CLIP text,
T5 or UMT5 encoders in the transformers layout) and the tiny offline pair for smoke runs."""

from __future__ import annotations

from pathlib import Path

import torch

BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def build_tiny_tokenizer(style: str = "clip"):
    """A byte-level tokenizer built offline (no vocabulary files): every byte is one token, so
    any prompt tokenizes and chunking is easy to reason about. ``style="clip"`` has CLIP's
    ``<|startoftext|>``/``<|endoftext|>``; ``style="t5"`` has T5's ``</s>`` and ``<pad>`` and
    appends ``</s>`` as T5 tokenizers do."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    specials = [BOS, EOS] if style == "clip" else ["<pad>", "</s>"]
    for sp in specials:
        vocab[sp] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    if style == "clip":
        return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=EOS,
                                       unk_token=EOS, model_max_length=77)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", vocab["</s>"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<pad>",
                                   model_max_length=512)


def build_tiny_clip_text(vocab_size: int, hidden: int = 32, seed: int = 0):
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    cfg = CLIPTextConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
                         bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1)
    return CLIPTextModel(cfg).eval()


def load_text_encoder(folder: str | Path, dtype: torch.dtype = torch.float32, variant: str | None = None):
    """A transformers text encoder from a local folder, by its config's model type: the
    ``variant`` where the folder has it, else its plain files, else its only variant (a
    ``text_encoder/`` holding only ``model.fp16.safetensors``), as for the other parts
    (:func:`video.models.components.pick_variant`); a weight missing from the files is an
    error, not a random one."""
    from transformers import AutoConfig, CLIPTextModel, T5EncoderModel, UMT5EncoderModel

    from video.models.components import load_transformers_part

    folder = Path(folder).expanduser()
    if not folder.name:  # "." : its parent and name are needed below
        folder = folder.resolve()
    kind = AutoConfig.from_pretrained(folder).model_type
    cls = {"clip_text_model": CLIPTextModel, "clip": CLIPTextModel, "t5": T5EncoderModel,
           "umt5": UMT5EncoderModel}.get(kind)
    if cls is None:
        raise ValueError(f"{folder}: text encoder type {kind!r} is not supported (CLIP, T5, UMT5)")
    return load_transformers_part(cls, folder.parent, folder.name, dtype, variant).eval()


def load_tokenizer(folder: str | Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(Path(folder))
