"""A video or image file given where a model goes (a render, a training clip, the ``--image``),
told by its first bytes: `video models`, `video info`, the loaders and the ComfyUI loader's
drop-down name it so rather than "unrecognised file" or "damaged safetensors"."""

from __future__ import annotations

from pathlib import Path

from video.models.sniff import claims_safetensors, looks_pickled

# First bytes of the video and image formats a model path may be given by mistake (a render, a
# training clip, the --image): (bytes, offset, "video" or "image", format name).
_MEDIA_MAGIC = ((b"\x1aE\xdf\xa3", 0, "video", "Matroska/WebM"), (b"GIF87a", 0, "video", "GIF"),
                (b"GIF89a", 0, "video", "GIF"), (b"\x89PNG\r\n\x1a\n", 0, "image", "PNG"),
                (b"\xff\xd8\xff", 0, "image", "JPEG"), (b"II*\x00", 0, "image", "TIFF"),
                (b"MM\x00*", 0, "image", "TIFF"))
_ISO_IMAGE_BRANDS = (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1")  # ISO media boxes holding images


def media_format(path: str | Path) -> tuple[str, str] | None:
    """("video" | "image", format) when the file ``path`` is a video or image by its first bytes
    (:func:`_media_format`), else None; never for bytes that start a safetensors header or a
    pickle (:func:`~video.models.sniff.claims_safetensors`, :func:`~video.models.sniff.looks_pickled`),
    whose first bytes may be anything. Cheap: 12 bytes and a stat. The one test of `video
    models`, `video info` and the ComfyUI loader's drop-down: an MP4 saved as ``.safetensors``
    was "truncated or damaged safetensors file (header too large)" here while its ``.ckpt``
    copy was media."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
        size = Path(path).stat().st_size
    except OSError:
        return None
    if claims_safetensors(path) or looks_pickled(path):
        return None
    return _media_format(head, size)


def _media_format(head: bytes, size: int) -> tuple[str, str] | None:
    """("video" | "image", format) from a file's first 12 bytes and its size, or None. Read from
    the bytes, not the name, as every kind here is; only for bytes that are neither a
    safetensors header nor a pickle's (:func:`media_format`: a header length may start with any
    bytes). BMP's two-letter magic counts only with the file size its header records."""
    if head[:2] == b"BM" and int.from_bytes(head[2:6], "little") == size:
        return "image", "BMP"
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free"):  # ISO base media: MP4, MOV, AVIF, HEIC
        if head[8:12] in _ISO_IMAGE_BRANDS:
            return "image", "AVIF/HEIC"
        return "video", "MP4" if head[4:8] == b"ftyp" and head[8:12] != b"qt  " else "MOV"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"WEBP"):
        return ("video", "AVI") if head[8:12] == b"AVI " else ("image", "WebP")
    return next(((what, name) for magic, at, what, name in _MEDIA_MAGIC if head[at:at + len(magic)] == magic), None)


def _media_detail(p: Path, what: str, name: str) -> str:
    if what == "video":
        return f"a video file ({name}), not a model (`curate probe {p}` describes it)"
    return f"an image file ({name}), not a model"
