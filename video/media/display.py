"""How a decoded frame is meant to be shown: the display matrix phones store rotation (and
mirrors) in, the pixel aspect ratio, and HDR colour tags.

Pure functions over PyAV frames and streams, shared by every reader (whole clips, manifest
frames, the curation scorers), so a clip looks the same everywhere it is read.
"""

from __future__ import annotations

import numpy as np


def rotation_of(frame) -> int:
    """Degrees counterclockwise (0, 90, 180, 270) by which a decoded PyAV frame's display matrix
    turns it (how phones store portrait video); 0 without one. 90 and 270 swap width and
    height; a mirror (which PyAV reports as a rotation of 180) is in :func:`display_ops`."""
    return round(getattr(frame, "rotation", 0) or 0) % 360 // 90 * 90


def display_matrix(frame) -> tuple[int, ...] | None:
    """The nine 32-bit entries of a decoded PyAV frame's display matrix side data (16.16 fixed
    point), None without one.

    Read through a side-data container of our own, never ``frame.side_data``: PyAV caches that
    one on the frame, and it points back at the frame, a reference cycle that kept every frame
    read so (and with it its decoder: threads, frame pool) alive until the garbage collector
    ran: a Ray worker reading clips grew from 19 to 201 threads. Ours is freed on return."""
    import av

    try:
        container = av.sidedata.sidedata.SideDataContainer(frame)
    except (AttributeError, TypeError):  # a PyAV without it: its cached container (the cycle)
        container = getattr(frame, "side_data", ())
    try:
        for sd in container:
            if sd.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
                return tuple(int(v) for v in np.frombuffer(bytes(sd), dtype="=i4")[:9])
    except (AttributeError, ValueError):
        pass
    return None


def display_ops(matrix: tuple[int, ...] | None) -> list[str]:
    """What ffmpeg's autorotate does for a display matrix, as a list of "hflip", "vflip",
    "transpose" (rows become columns), "clock" and "cclock" (90 degree turns), applied in
    order; [] for none or an angle off the quarter turns (left as stored). Follows
    fftools/ffmpeg_filter.c: theta is minus ``av_display_rotation_get``, and the matrix's
    signs pick between a turn and a turn with a mirror, so a mirrored clip is mirrored (it was
    turned 180 degrees when only the rotation angle was read)."""
    if matrix is None:
        return []
    m = [v / 65536.0 for v in matrix]
    s0, s1 = np.hypot(m[0], m[3]), np.hypot(m[1], m[4])
    if s0 == 0 or s1 == 0:
        return []
    theta = -round(-np.degrees(np.arctan2(m[1] / s1, m[0] / s0)))
    theta -= 360 * np.floor(theta / 360 + 0.9 / 360)
    if abs(theta - 90) < 1:
        return ["transpose"] if matrix[3] > 0 else ["clock"]
    if abs(theta - 180) < 1:
        return (["hflip"] if matrix[0] < 0 else []) + (["vflip"] if matrix[4] < 0 else [])
    if abs(theta - 270) < 1:
        return ["clock", "vflip"] if matrix[3] < 0 else ["cclock"]
    if abs(theta) < 1:
        return ["vflip"] if matrix[4] < 0 else []
    return []


def apply_ops(rgb: np.ndarray, ops: list[str]) -> np.ndarray:
    """(H, W, C) turned and mirrored by :func:`display_ops`' list, in order."""
    for op in ops:
        rgb = {"hflip": lambda a: a[:, ::-1], "vflip": lambda a: a[::-1], "transpose": lambda a: a.transpose(1, 0, 2),
               "clock": lambda a: np.rot90(a, -1), "cclock": lambda a: np.rot90(a, 1)}[op](rgb)
    return np.ascontiguousarray(rgb)


def _width_subsampled_deep(fmt) -> bool:
    """A YUV format of more than 8 bits whose chroma is half width (4:2:0, 4:2:2; planar or not)."""
    comps = [] if fmt.is_rgb or fmt.has_palette or getattr(fmt, "is_bayer", False) else list(fmt.components)
    chroma = [c for c in comps if c.is_chroma]
    return bool(chroma) and max(c.bits for c in comps) > 8 and chroma[0].width < comps[0].width


def to_rgb24(frame, width: int | None = None, height: int | None = None, threads: int = 0) -> np.ndarray:
    """A decoded PyAV frame as uint8 (height, width, 3) RGB (its own size by default), as
    ``frame.to_ndarray(format="rgb24")`` gives it (libswscale, bilinear when scaling), bit for
    bit, except in one case that call gets wrong.

    That case: more than 8 bits with half-width chroma (10-bit 4:2:0 and 4:2:2, what phones and
    cameras write), kept at its own size. The libswscale of PyAV 18 (9.5) converts it through its
    scaler, whose chroma filter, the identity here, reads each pixel pair's chroma one sample to
    the right: every vertical colour edge came two pixels early (up to 110 levels off ffmpeg's
    own decode). 8-bit formats take a direct converter and 4:4:4 has no chroma to place, so they
    are untouched; scaled sizes place chroma the same way at every depth, so a 10-bit clip still
    scales as its 8-bit twin. So that case is converted in two steps that each place chroma
    right: to 16-bit 4:2:2 (4:2:0's chroma brought to full height, bicubic, as ffmpeg's own rgb24
    conversion interpolates it; 16 bits so no rounding is added), then to RGB with point
    sampling, where the chroma filter is a true identity: equal to ffmpeg's rgb24 decode. An odd
    width (VP9, AV1; never H.264 or HEVC 4:2:0/4:2:2) makes libswscale interpolate chroma
    across, where point sampling would be worse than today's call, so it keeps that call.
    ``threads``: libswscale's (0: its choice, about one per core)."""
    kept = width in (None, frame.width) and height in (None, frame.height)
    if not (kept and frame.width % 2 == 0 and _width_subsampled_deep(frame.format)):
        return frame.to_ndarray(format="rgb24", width=width, height=height, threads=threads)
    from av.video.reformatter import Interpolation

    full = frame.reformat(format="yuv422p16le", interpolation=Interpolation.BICUBIC, threads=threads)
    return full.to_ndarray(format="rgb24", interpolation=Interpolation.POINT, threads=threads)


def upright(frame, threads: int = 0) -> np.ndarray:
    """A decoded PyAV frame as uint8 (H, W, 3) RGB (:func:`to_rgb24`), turned and mirrored as its
    display matrix says (:func:`display_ops`, as ffmpeg's autorotate), so that it looks as a
    player shows it. ``threads``: libswscale's for the conversion to RGB (0: its choice, about
    one per core; a Ray task of one CPU asks for 1, as for its decoder)."""
    rgb = to_rgb24(frame, threads=threads)
    ops = display_ops(display_matrix(frame))
    return apply_ops(rgb, ops) if ops else rgb


def sar_of(stream, turned: bool = False) -> str | None:
    """A PyAV video stream's sample (pixel) aspect ratio as "num:den", None for square or
    untagged pixels: an anamorphic source (DV's 32:27) keeps it in what is written from it
    (:func:`write_video`'s ``sar``). ``turned``: the frames are read turned a quarter (a
    90/270 degree display rotation), so a pixel's width and height swap."""
    r = stream.sample_aspect_ratio or getattr(stream.codec_context, "sample_aspect_ratio", None)
    if not r or r.numerator <= 0 or r.denominator <= 0 or r.numerator == r.denominator:
        return None
    return f"{r.denominator}:{r.numerator}" if turned else f"{r.numerator}:{r.denominator}"


HDR_TRANSFERS = {16: "HDR, PQ (smpte2084)", 18: "HDR, HLG (arib-std-b67)"}  # AVColorTransferCharacteristic
BT2020 = 9  # AVCOL_PRI_BT2020 and AVCOL_SPC_BT2020_NCL; 10: AVCOL_SPC_BT2020_CL


def hdr_transfer(frame) -> str | None:
    """What makes a decoded PyAV frame more than SDR BT.709, in words: an HDR transfer (PQ or
    HLG), else BT.2020 primaries or matrix (wide gamut; HDR files whose transfer tag was lost
    carry only this); None for SDR. Such frames are read as their code values, untouched."""
    kind = HDR_TRANSFERS.get(int(getattr(frame, "color_trc", 0) or 0))
    if kind is None and (int(getattr(frame, "color_primaries", 0) or 0) == BT2020
                         or int(getattr(frame, "colorspace", 0) or 0) in (BT2020, BT2020 + 1)):
        kind = "BT.2020 wide gamut, possibly HDR"
    return kind
