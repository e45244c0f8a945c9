"""What a write produced, as every command's last line says it: ``wrote frames/ (14 PNG frames,
1024x576, 7 fps)``. Read back from the output, not from the frames handed to the writer: an odd
size is cropped for 4:2:0, non-square pixels are resampled square in a PNG or GIF, a GIF faster
than 50 fps is slowed, and one image has no rate.
"""

from __future__ import annotations

import os
from pathlib import Path

from video.media.read import probe_video
from video.media.write import GIF_MAX_FPS, IMAGE_OUTPUTS, plural


def written_size(path: str | Path, frames) -> tuple[int, int]:
    """(width, height) of what was written, read back from it: a video file's as stored (an mp4
    or webm of odd sizes drops the last row or column, :func:`video.media.write_video`); one
    image, or a PNG folder's first frame, as stored too, since frames of non-square pixels are
    resampled square there (192x128 at SAR 32:27 is written 228x128), and the frames' shape said
    the size before that. The frames' shape only where nothing readable is there."""
    from PIL import Image

    path = Path(path)
    if path.is_file() and path.suffix.lower() not in IMAGE_OUTPUTS:
        info = probe_video(path)
        return int(info["width"]), int(info["height"])
    first = path if path.is_file() else None
    if path.is_dir():
        first = min(path.glob("*.png"), default=None)  # 00000.png: write_video's names sort in frame order
    if first is not None:
        with Image.open(first) as im:  # the header only
            return im.size
    return int(frames.shape[2]), int(frames.shape[1])


def written_rate(path: str | Path, fps: float, num_frames: int) -> str:
    """The summary's ", N fps": the rate ``path`` was written at, or "" for one image (a photo
    has no rate). A GIF of several frames faster than :data:`video.media.GIF_MAX_FPS` is written
    at that rate (:func:`video.media.write_video` warns), so the summary says it, not the asked
    one: "--fps 60" then "60 fps" contradicted the warning above it."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_OUTPUTS and not Path(path).is_dir():
        return ""
    if suffix == ".gif" and num_frames > 1 and float(fps) > GIF_MAX_FPS:
        fps = GIF_MAX_FPS
    return f", {float(fps):g} fps"


def written_head(path: str | Path, frames, fps: float) -> str:
    """``wrote OUT (N frames, WxH, R fps)``: a folder of PNG frames named as one (``OUT/``, "N PNG
    frames"), the size and rate as written (:func:`written_size`, :func:`written_rate`)."""
    path = Path(path)
    w, h = written_size(path, frames)
    rate = written_rate(path, fps, len(frames))
    folder = path.is_dir()
    what = plural(len(frames), "PNG frame" if folder else "frame")
    return f"wrote {path}{os.sep if folder else ''} ({what}, {w}x{h}{rate})"
