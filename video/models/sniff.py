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

import os
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
    """Whether ``path``'s bytes are torch.save's or pickle's: a zip archive holding a
    ``data.pkl`` (torch.save's default format, :func:`_torch_zip`) or a pickle of protocol 2 to
    5 (PROTO 0x80, its number, then an opcode, never 0). Never for a file that starts as
    safetensors (:func:`claims_safetensors`), whose header length may begin with those bytes.
    Protocols 0 and 1 have no marker: :func:`is_pickled` reads them where the suffix says pickle."""
    head = _head(path)
    if _claims(head):
        return False
    if head.startswith(b"PK\x03\x04"):
        return _torch_zip(path)
    return len(head) > 2 and head[0] == 0x80 and 2 <= head[1] <= 5 and head[2] != 0


def _torch_zip(path: str | Path) -> bool:
    """Whether the zip archive ``path`` holds a pickle (``ARCHIVE/data.pkl``, torch.save's first
    entry): read from its first entry's name, so a download cut short still is one, else from
    its table of contents. Any other zip named ``.pt`` is not pickled."""
    import zipfile

    head = _head(path, 30 + 256)
    name_len = int.from_bytes(head[26:28], "little")
    if head[30:30 + name_len].endswith(b"data.pkl"):
        return True
    try:
        with zipfile.ZipFile(path) as z:
            return any(n == "data.pkl" or n.endswith("/data.pkl") for n in z.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _old_protocol(path: str | Path) -> bool:
    """Whether ``path`` reads as a pickle of protocol 0 or 1, which has no marker: it starts with
    MARK, EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE or GLOBAL (``cmodule\\n``) and ends with STOP
    (``.``), as every pickle does. An empty file, a text file or a Git LFS pointer named
    ``.ckpt`` did not: it was called pickled by its suffix alone."""
    head = _head(path, 256)
    if not head or head[:1] not in (b"(", b"}", b"]", b")", b"c") or (head[:1] == b"c" and b"\n" not in head):
        return False
    try:
        with open(path, "rb") as f:
            f.seek(-1, 2)
            return f.read(1) == b"."
    except OSError:
        return False


LFS_POINTER = b"version https://git-lfs"  # how a Git LFS pointer file starts (git-lfs' spec)
LFS_NOTE = "a Git LFS pointer, not the weights: fetch them with `git lfs pull`"


def not_weights(path: str | Path) -> str | None:
    """Why the regular file ``path`` holds no weights whatever its name says: "empty file (0
    bytes)", or a Git LFS pointer (:data:`LFS_NOTE`: a clone without ``git lfs`` has these in
    place of every model file); None for anything else (a FIFO too: never opened). Both were
    "pickled" (named ``.ckpt``) or a "damaged safetensors file (header too large)"."""
    import stat

    try:
        st = Path(path).stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if st.st_size == 0:
        return "empty file (0 bytes)"
    return LFS_NOTE if _head(path, len(LFS_POINTER)) == LFS_POINTER else None


def broken_link(path: str | Path) -> str | None:
    """"a broken link (-> TARGET)" for a link to nothing (a hub-cache snapshot whose blob is gone),
    the words ``--model`` uses for one; None for anything else. Opening it was "No such file or
    directory" in ``video info`` and a "damaged safetensors header" in ``video models``."""
    p = Path(path)
    if not p.is_symlink() or p.exists():
        return None
    try:
        return f"a broken link (-> {os.readlink(p)})"
    except OSError:
        return "a broken link"


def header_problem(path: str | Path) -> str | None:
    """Why the safetensors file ``path`` does not hold what its header says, read from the header
    alone (8 bytes, then the header's JSON; no tensor data): no weights at all
    (:func:`not_weights`), a header that is cut short or not JSON, or a file shorter than the
    end of its last tensor (a download cut short). None where it holds up. Cheap enough for
    ``video models`` to check every part of every folder it lists."""
    import json

    why = broken_link(path) or not_weights(path)
    if why is not None:
        return why
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            n = int.from_bytes(f.read(8), "little")
            if size < 8 or n > MAX_HEADER or 8 + n > size:
                return f"truncated or damaged safetensors file ({size} bytes, header of {n})"
            header = json.loads(f.read(n))
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return "damaged safetensors header (not the JSON it should be)"
    need = 8 + n + max(ends, default=0)
    return f"truncated: {size:,} bytes of {need:,}" if size < need else None


def is_pickle_name(path: str | Path) -> bool:
    """Whether ``path``'s suffix is a pickle's (:data:`PICKLE_SUFFIXES`, any case)."""
    return Path(path).suffix.lower() in PICKLE_SUFFIXES


def is_pickled(path: str | Path) -> bool:
    """A pickle by its bytes (:func:`looks_pickled`), or, under a pickle's suffix, a pickle of
    protocol 0 or 1 (:func:`_old_protocol`). The suffix alone is not enough: an empty file, a
    text file or a Git LFS pointer named ``.ckpt`` was "pickled: convert it to .safetensors"."""
    return looks_pickled(path) or (is_pickle_name(path) and not claims_safetensors(path) and _old_protocol(path))


__all__ = ["LFS_NOTE", "MAX_HEADER", "PICKLE_SUFFIXES", "SAFETENSORS_SUFFIXES", "broken_link", "claims_safetensors",
           "has_safetensors_header", "header_problem", "is_pickle_name", "is_pickled", "looks_pickled", "not_weights"]
