"""What a weights file is by its first bytes: safetensors, a pickle, or neither. The one home of
these rules, so ``video models``, ``video info``, ``--model``, ``--lora`` and the ComfyUI loader
agree about a file (three sniffers disagreed: a .safetensors file whose header length ends in
0x80 was listed as pickled, a safetensors LoRA named ``.bin`` was refused unread).

Nothing here unpickles: the bytes are compared, never loaded. The safetensors test comes first
because a safetensors file starts with its header length, 8 little-endian bytes that can be
anything a pickle starts with (0x80 in about 1 file in 32); its 9th byte, the header's ``{``,
is what tells it apart.
"""

from __future__ import annotations

from pathlib import Path

# ComfyUI reads ``.sft`` as safetensors too (folder_paths.supported_pt_extensions); any case.
SAFETENSORS_SUFFIXES = (".safetensors", ".sft")
# Suffixes of torch.save / pickle files (refused by the loaders: loading a pickle can run code).
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")
MAX_HEADER = 100_000_000  # the largest header safetensors reads (its MAX_HEADER_SIZE)


def _head(path: str | Path, n: int = 9) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def _claims(head: bytes) -> bool:
    return head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= MAX_HEADER


def claims_safetensors(path: str | Path) -> bool:
    """Whether ``path`` starts as a safetensors file does (a header length safetensors accepts,
    then ``{``), whole or cut short: a file that does and does not read is a damaged safetensors
    file, not a pickle whose first bytes its header length happened to match."""
    return _claims(_head(path))


def has_safetensors_header(path: str | Path) -> bool:
    """Whether ``path`` starts with a whole safetensors header: an 8-byte little-endian length
    that safetensors accepts and that fits in the file, then ``{``. Cheap (9 bytes and a stat);
    a truncated file whose header is cut short is not one (:func:`claims_safetensors` is)."""
    head = _head(path)
    if not _claims(head):
        return False
    try:
        size = Path(path).stat().st_size
    except OSError:
        return False
    return 8 + int.from_bytes(head[:8], "little") <= size


def looks_pickled(path: str | Path) -> bool:
    """Whether ``path``'s bytes are torch.save's or pickle's: a zip archive (``PK\\x03\\x04``,
    torch.save's default) or a pickle of protocol 2 to 5 (PROTO 0x80, its number, then an
    opcode, never 0). Never for a file that starts as safetensors (:func:`claims_safetensors`),
    whose header length may begin with those bytes. Protocols 0 and 1 have no marker: only
    their suffix (:data:`PICKLE_SUFFIXES`) tells."""
    head = _head(path)
    if _claims(head):
        return False
    return head.startswith(b"PK\x03\x04") or (len(head) > 2 and head[0] == 0x80 and 2 <= head[1] <= 5
                                                and head[2] != 0)


def is_pickle_name(path: str | Path) -> bool:
    """Whether ``path``'s suffix is a pickle's (:data:`PICKLE_SUFFIXES`, any case)."""
    return Path(path).suffix.lower() in PICKLE_SUFFIXES


def is_pickled(path: str | Path) -> bool:
    """A pickle by its bytes, or by its suffix unless its bytes say safetensors (a safetensors
    file renamed ``.bin`` is safetensors; a truncated one too, as :func:`claims_safetensors`)."""
    return looks_pickled(path) or (is_pickle_name(path) and not claims_safetensors(path))


__all__ = ["MAX_HEADER", "PICKLE_SUFFIXES", "SAFETENSORS_SUFFIXES", "claims_safetensors", "has_safetensors_header",
           "is_pickle_name", "is_pickled", "looks_pickled"]
