"""Tiny, randomly initialised text encoders and tokenizers built in memory: nothing downloaded.

The CLIP tokenizer is a real byte-level BPE (CLIP's byte alphabet, each byte also with the
``</w>`` end-of-word mark) with a handful of merges, so words like ``cat`` are one token and
anything else falls back to one token per character, exactly as the real tokenizer does."""

from __future__ import annotations

import torch

WORDS = ["cat", "dog", "red", "photo", "sky", "house", "hill", "mystyle"]


def _byte_alphabet() -> list[str]:
    """CLIP's bytes_to_unicode table: 256 printable stand-ins for the 256 byte values."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def _merges_for(word: str) -> list[tuple[str, str]]:
    """Left-to-right merges that build ``word</w>`` from its characters."""
    parts = list(word[:-1]) + [word[-1] + "</w>"]
    merges, acc = [], parts[0]
    for p in parts[1:]:
        merges.append((acc, p))
        acc += p
    return merges


def make_clip_tokenizer(pad_token: str = "<|endoftext|>"):
    from transformers import CLIPTokenizer

    chars = _byte_alphabet()
    vocab: dict[str, int] = {}
    for c in chars + [c + "</w>" for c in chars]:
        vocab[c] = len(vocab)
    merges: list[tuple[str, str]] = []
    for word in WORDS:
        for m in _merges_for(word):
            if m not in merges:
                merges.append(m)
                vocab.setdefault(m[0] + m[1], len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=merges, pad_token=pad_token)


def make_clip_model(tokenizer, seed: int = 0, layers: int = 2):
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    config = CLIPTextConfig(
        vocab_size=len(tokenizer.get_vocab()),
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=layers,
        num_attention_heads=4,
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = CLIPTextModel(config).eval()
    # A freshly built final LayerNorm (weight 1, bias 0) makes every output row's mean 0 up to
    # rounding, so A1111's mean restoration (z.mean() / weighted.mean()) divided rounding noise
    # by rounding noise, and tests passed or failed by the CPU's summation order. A trained
    # CLIP's states have a mean away from 0; a bias gives the tiny one that too.
    with torch.no_grad():
        getattr(model, "text_model", model).final_layer_norm.bias.uniform_(0.2, 0.6)  # transformers 5 flattened it
    return model


def make_t5_tokenizer():
    """A SentencePiece-style unigram tokenizer (T5's ``▁`` word marks), WordPiece-free."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [("▁" + w, -1.0) for w in WORDS + ["a", "of", "in"]]
    pieces += [(c, -5.0) for c in "abcdefghijklmnopqrstuvwxyz,.:()[]"]
    return T5Tokenizer(vocab=pieces, extra_ids=0)


def make_t5_model(tokenizer, cls_name: str = "UMT5EncoderModel", seed: int = 0):
    import transformers

    torch.manual_seed(seed)
    config_cls = transformers.UMT5Config if cls_name.startswith("UMT5") else transformers.T5Config
    config = config_cls(
        vocab_size=len(tokenizer.get_vocab()),
        d_model=32,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return getattr(transformers, cls_name)(config).eval()
