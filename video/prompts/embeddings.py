"""Textual-inversion embeddings from a folder, referenced in prompts by file name.

``embeddings/easynegative.safetensors`` is used by writing ``easynegative`` in a prompt; its
vectors take the place of the tokens the word would have had.

Where a name is recognised depends on the encoder family:

* CLIP: A1111's rule (``find_embedding_at_position``). The name is tokenized alone and its
  token ids are looked for in each weighted run's ids, the longest name first at each position
  (:func:`name_token_table`, :func:`match_name_ids`). CLIP's tokenizer lowercases and splits
  letters from digits and punctuation, so ``MyStyle``, ``mystyle2``, ``mystyle_v`` and
  ``2mystyle`` all contain ``mystyle``, while ``mystyles`` (one word, other tokens) does not.
* T5 / UMT5 (A1111 has none): whole words, ignoring case (:func:`split_on_names`), since a
  SentencePiece word's ids change with what precedes it (``▁`` marks a word start).

Formats:

* ``.safetensors``: the tensor under ``emb_params`` (A1111's format), under a key you name
  (e.g. ``clip_l`` for SDXL files), or the file's only tensor;
* ``.pt`` / ``.bin``: loaded with ``torch.load(weights_only=True)`` so a file can hold tensors
  but never run code: A1111's ``{"string_to_param": {"*": tensor}}``, a dict with
  ``emb_params`` or one tensor, or a bare tensor. Anything else is refused, never unpickled.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import torch

EMBEDDING_SUFFIXES = (".safetensors", ".pt", ".bin")


def _pick_tensor(obj: object, key: str | None, path: Path) -> torch.Tensor:
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, dict):
        if "string_to_param" in obj and isinstance(obj["string_to_param"], dict) and obj["string_to_param"]:
            return _pick_tensor(next(iter(obj["string_to_param"].values())), None, path)
        for name in (key, "emb_params"):
            if name is not None and isinstance(obj.get(name), torch.Tensor):
                return obj[name]
        tensors = [v for v in obj.values() if isinstance(v, torch.Tensor)]
        if len(tensors) == 1:
            return tensors[0]
        if {"clip_l", "clip_g"} <= set(map(str, obj)):  # A1111/kohya's SDXL pair, one per SDXL text encoder
            raise ValueError(f"{path.name}: an SDXL embedding (clip_l and clip_g): not for this text encoder")
        raise ValueError(f"{path.name}: no 'emb_params' and not exactly one tensor (keys: {sorted(map(str, obj))})")
    raise ValueError(f"{path.name}: holds a {type(obj).__name__}, not a tensor")


def _load_weights_only(path: Path) -> object:
    """``torch.load(weights_only=True)`` without torch's "Detected pickle protocol N ... please
    file an issue" warning, which every file pickled with a protocol other than torch's default
    2 raises: it is torch's note to its own developers, and a user can do nothing about it
    (protocol 3 then loads; 4 and 5 are refused, and the caller says so). Still weights_only:
    a file the restricted unpickler refuses raises, nothing else is unpickled."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
        return torch.load(path, map_location="cpu", weights_only=True)


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of ``path``; a file that does not read is one ValueError naming it
    (:func:`video.models.svd.damaged_safetensors`, the one home of that line)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except SafetensorError as e:
        from video.models.svd import damaged_safetensors

        raise damaged_safetensors(path, e) from None


def load_embedding_file(path: str | Path, dim: int | None = None, key: str | None = None) -> torch.Tensor:
    """The vectors of one embedding file, shape ``(n_vectors, dim)``, float32 on the CPU.

    Raises ValueError when the file has no usable tensor or its width is not ``dim``; a
    ``.safetensors`` file that does not read (empty, truncated, another format under that name)
    too, as :class:`~video.models.svd.DamagedSafetensors` naming it, so that
    :func:`load_embeddings` skips it: safetensors' own error names no file and stopped every
    render, even one whose prompt did not use that embedding."""
    path = Path(path)
    if path.suffix == ".safetensors":
        obj: object = _load_safetensors(path)
    elif path.suffix in (".pt", ".bin"):
        try:
            obj = _load_weights_only(path)
        except Exception as e:  # an unpickling refusal: the file wants to run code
            raise ValueError(f"{path.name}: not loadable with weights_only=True ({e.__class__.__name__})") from e
    else:
        raise ValueError(f"{path.name}: not one of {EMBEDDING_SUFFIXES}")
    vectors = _pick_tensor(obj, key, path).detach().to(torch.float32)
    vectors = vectors.reshape(1, -1) if vectors.ndim == 1 else vectors.reshape(-1, vectors.shape[-1])
    if vectors.shape[0] == 0:
        raise ValueError(f"{path.name}: no vectors")
    if dim is not None and vectors.shape[1] != dim:
        raise ValueError(f"{path.name}: vectors are {vectors.shape[1]} wide, the text encoder's are {dim}")
    return vectors


def load_embeddings(folder: str | Path, dim: int | None = None, key: str | None = None) -> dict[str, torch.Tensor]:
    """Every usable embedding under ``folder`` (recursively), by file stem.

    A file that cannot be used (wrong width, unknown layout, pickled code, a damaged
    safetensors file) is skipped with a warning naming it rather than failing the run; when two
    files share a stem the first in sorted path order wins."""
    found: dict[str, torch.Tensor] = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix not in EMBEDDING_SUFFIXES or not path.is_file():
            continue
        if path.stem in found:
            warnings.warn(f"embedding {path} ignored: {path.stem!r} is already loaded", stacklevel=2)
            continue
        try:
            found[path.stem] = load_embedding_file(path, dim, key)
        except ValueError as e:
            warnings.warn(f"embedding skipped: {e}", stacklevel=2)
    return found


def split_on_names(text: str, names: list[str]) -> list[str | tuple[str]]:
    """``text`` cut at whole-word, case-insensitive occurrences of ``names``: plain pieces are
    str, an occurrence is a 1-tuple holding the name as given in ``names``. The T5 rule; CLIP
    matches token ids instead (:func:`match_name_ids`).

    Longer names are tried first, so ``style-v2`` wins over ``style`` where both exist.

    >>> split_on_names("a photo in mystyle, sharp", ["mystyle"])
    ['a photo in ', ('mystyle',), ', sharp']
    """
    if not names or not text:
        return [text] if text else []
    ordered = sorted(names, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, ordered)) + r")(?!\w)", re.IGNORECASE)
    by_lower = {}
    for name in ordered:
        by_lower.setdefault(name.lower(), name)
    out: list[str | tuple[str]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append(text[pos:m.start()])
        out.append((by_lower[m.group(1).lower()],))
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


NameTable = dict[int, list[tuple[tuple[int, ...], str]]]


def name_token_table(tokenizer, names: list[str]) -> NameTable:
    """A1111's lookup table: each name's token ids (the name tokenized alone, no BOS/EOS),
    grouped by first id, longest first. Where two names tokenize alike the first one listed
    keeps the ids (A1111 finds the first registered); a name with no tokens is left out."""
    table: NameTable = {}
    seen: set[tuple[int, ...]] = set()
    ids_of = tokenizer(list(names), add_special_tokens=False, verbose=False)["input_ids"] if names else []
    for name, ids in zip(names, ids_of, strict=True):
        key = tuple(int(i) for i in ids)
        if key and key not in seen:
            seen.add(key)
            table.setdefault(key[0], []).append((key, name))
    for entries in table.values():
        entries.sort(key=lambda e: len(e[0]), reverse=True)  # stable: ties keep their order
    return table


def match_name_ids(ids: list[int], table: NameTable) -> list[int | tuple[str]]:
    """``ids`` with every occurrence of a name's ids replaced by the 1-tuple ``(name,)``,
    scanning left to right and taking at each position the longest name that starts there
    (A1111's ``find_embedding_at_position``; matches never overlap).

    >>> match_name_ids([5, 7, 8, 9], {7: [((7, 8), "ab"), ((7,), "a")]})
    [5, ('ab',), 9]
    """
    out: list[int | tuple[str]] = []
    pos = 0
    while pos < len(ids):
        for key, name in table.get(ids[pos], ()):
            if tuple(ids[pos:pos + len(key)]) == key:
                out.append((name,))
                pos += len(key)
                break
        else:
            out.append(ids[pos])
            pos += 1
    return out


__all__ = ["load_embedding_file", "load_embeddings", "split_on_names", "name_token_table", "match_name_ids",
           "EMBEDDING_SUFFIXES"]
