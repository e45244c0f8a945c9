"""What a video stream's own bytes say about how its frames reference each other, read
without decoding: the encoder options x264 records in the first frame, and whether a keyframe
is an IDR picture (nothing decoded after it is shown before it). The cut detector's decoder
(:mod:`data_curation.cut_features`) uses both to skip work that cannot pay."""

from __future__ import annotations

import re


def x264_options(packet: bytes) -> dict[str, str]:
    """The ``key=value`` options x264 records in a user-data SEI of the first frame (empty for
    other encoders): they say how the file's B-frames are used as references."""
    i = packet.find(b"x264 - core")
    if i < 0:
        return {}
    text = packet[i:i + 4096].split(b"\x00", 1)[0].decode("latin-1")
    return dict(re.findall(r"(\w+)=(\S+)", text.split(" options: ", 1)[-1]))


def worth_checking(x264: dict[str, str]) -> bool:
    """Whether ``auto``'s decode-both-ways check can pay. No for an x264 file without reference
    B-frames (``bframes=0`` or ``b_pyramid=0``: skipping them all is what ``ref`` does already),
    and no for one with a B-pyramid and more than one reference (P-frames may predict from the
    pyramid's B-frames, so the check would fail; x264's ``medium`` default, and bikes.mp4).
    Other encoders: yes."""
    try:
        bframes, pyramid, ref = (int(x264[k]) for k in ("bframes", "b_pyramid", "ref"))
    except (KeyError, ValueError):
        return True
    return bframes > 0 and pyramid > 0 and ref == 1


def nal_length_size(codec: str, extradata: bytes | None) -> int:
    """Bytes of each NAL unit's length prefix in MP4-style H.264/HEVC packets (0: start codes)."""
    if not extradata or extradata[0] != 1:
        return 0
    if codec == "h264" and len(extradata) > 4:
        return (extradata[4] & 3) + 1
    if codec == "hevc" and len(extradata) > 21:
        return (extradata[21] & 3) + 1
    return 0


def is_idr(data: bytes, codec: str, length_size: int) -> bool:
    """Whether a packet holds an IDR picture: every frame decoded after it is also shown after it,
    so a piece ending there needs no packet past it (an open GOP's I-frame does not qualify)."""
    if codec not in ("h264", "hevc"):
        return False
    heads = []
    if length_size:
        i = 0
        while i + length_size < len(data):
            heads.append(data[i + length_size])
            i += length_size + int.from_bytes(data[i:i + length_size], "big")
    else:
        heads = [data[m.end()] for m in re.finditer(b"\x00\x00\x01", data) if m.end() < len(data)]
    if codec == "h264":
        return any(h & 0x1F == 5 for h in heads)
    return any((h >> 1) & 0x3F == 20 for h in heads)
