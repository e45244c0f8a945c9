"""Reading the frames an edit works on: video files, folders of images, one image, arrays, and
a file's frame rate and pixel shape, without torch.

Split from :mod:`video.edit.mask` so that commands which only read and write pixels
(``video upscale`` with its ncnn or bicubic models) start without loading torch (about 1.5 s
and 250 MB); :mod:`video.edit.mask` re-exports every name here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from video.media import MediaError, load_image, natural_key, read_video_timed
from video.media.read import (
    animated_image,
    animated_image_fps,
    check_regular,
    read_animated_image,
    unreadable,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")  # animated: a video (is_still)


def _image_files(folder: Path) -> list[Path]:
    """The frames of a folder, in natural order; hidden names skipped: macOS's AppleDouble
    ``._00000.png`` (its metadata on exFAT / network drives, as :mod:`video.atomic` reads it)
    stopped the whole folder as "not an image we can read"."""
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")),
                   key=lambda p: natural_key(p.name))
    if not files:
        raise MediaError(f"{folder}: no image files (.png, .jpg, ...) in this folder")
    return files


def is_still(path: Path) -> bool:
    """Whether the file ``path`` is read as one still image: an image suffix and one frame. An
    animated WebP or APNG is a video, timed by its frame delays, as a GIF is (read as a still,
    it was cut to its first frame without a word)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not animated_image(path)


def load_frames(source, max_frames: int | None = None, alpha: bool = False) -> np.ndarray:
    """A video as uint8 (F, H, W, 3) from an array ((F, H, W, 3), or one (H, W, 3) frame), a
    list of PIL images or arrays, a video file (upright: :func:`video.media.read_video`), a folder
    of images (in natural order, :func:`video.media.natural_key`) or one image file.
    ``max_frames``: at most the first ones of a file or folder, reading no more (``--frames``)."""
    return load_frames_timed(source, max_frames, alpha)[0]


def load_frames_timed(source, max_frames: int | None = None,
                      alpha: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`load_frames`, and for a video file each frame's time in seconds from its start
    (:func:`video.media.read_video_timed`: a variable-rate clip is written back at these
    times); None for the other sources, which have no timing of their own. ``alpha``: the
    frames of an animated image or of a video with transparency (a GIF, APNG, ProRes 4444, a
    WebM with alpha) keep it, (F, H, W, 4), for a mask; else it is laid on white, one warning."""
    torch = sys.modules.get("torch")  # no tensor exists unless torch is loaded: reading files never loads it
    if torch is not None and isinstance(source, torch.Tensor):
        source = source.cpu().numpy()
    if isinstance(source, np.ndarray):
        arr = source[None] if source.ndim == 3 else source
        if arr.ndim != 4 or arr.shape[-1] not in (3, 4):
            raise MediaError(f"video array must be (F, H, W, 3), got shape {source.shape}")
        if arr.dtype != np.uint8:
            if arr.dtype.kind == "f" and arr.max() <= 1.0:
                arr = arr * 255.0
            arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(arr[..., :3]), None
    if isinstance(source, (list, tuple)):
        if not source:
            raise MediaError("empty list of frames")
        frames = [np.asarray(load_image(f)) for f in source]
        check_same_size([f.shape[:2] for f in frames], source, "frames of a video")
        return np.stack(frames), None
    if isinstance(source, Image.Image):
        return np.asarray(source.convert("RGB"))[None], None
    path = Path(source)
    check_regular(path)  # a FIFO hung the reader; it was "not found" here
    if path.is_dir():
        return load_frames_timed([str(p) for p in _image_files(path)[:max_frames]])
    if not path.is_file():
        raise MediaError(f"{path} not found: give a video file, a folder of images, or an image")
    if is_still(path):
        return np.asarray(load_image(path))[None], None
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return read_animated_image(path, max_frames, keep_alpha=alpha)  # alpha: a mask's RGBA frames
    try:
        frames, times = read_video_timed(path, max_frames, keep_alpha=alpha)  # a GIF's, ProRes 4444's, VP9's
    except MediaError:
        raise  # its own reason ("no video stream"), not replaced by the class name
    except Exception as e:  # PyAV raises its own error classes for unreadable files
        raise unreadable(path, e) from None
    if len(frames) == 0:
        raise MediaError(f"{path}: no frames")
    return frames, times


def check_same_size(sizes: list[tuple[int, int]], names, what: str) -> None:
    """One MediaError line naming the first frame whose (H, W) differs from the first one's,
    and both sizes (W x H), so a stray file in a folder of frames is found at once."""
    for i, size in enumerate(sizes[1:], 1):
        if tuple(size) != tuple(sizes[0]):
            def name(k):
                n = names[k] if k < len(names) else k
                return Path(n).name if isinstance(n, (str, Path)) else f"frame {k}"
            raise MediaError(f"{what} must all have the same size: {name(i)} is {size[1]}x{size[0]}, "
                             f"{name(0)} {sizes[0][1]}x{sizes[0][0]}")


def read_timed_through(path: str | Path, until: float, rate: float,
                       alpha: bool = False) -> tuple[np.ndarray, np.ndarray, bool]:
    """A video file's first frames and their times (:func:`load_frames_timed`), decoded up to the
    first frame at or after ``until`` seconds, so the frame nearest any time up to ``until`` is
    among them and no further ones are read (``rate``: the file's average rate, to guess how
    many; a variable-rate file is read further when the guess falls short). ``whole``: whether
    the file ended before that frame, its frames then all there."""
    need = max(2, int(np.ceil(until * rate)) + 2)
    while True:
        frames, times = load_frames_timed(path, need, alpha)
        if len(frames) < need:
            return frames, times, True
        if times[-1] >= until:
            return frames, times, False
        need *= 2


def _file_probe(source) -> dict:
    """``probe_video`` of a video *file*; {} for arrays, images, folders and unreadable files
    (load_frames says what is wrong with those)."""
    if not isinstance(source, (str, Path)):
        return {}
    p = Path(source)
    if not p.is_file() or is_still(p):
        return {}
    if p.suffix.lower() in IMAGE_SUFFIXES:  # an animated WebP or APNG: ffmpeg reads neither's timing
        return {"fps": animated_image_fps(p)}
    from video.media import probe_video

    try:
        return probe_video(p)
    except MediaError:
        return {}


def video_fps(source) -> float | None:
    """The frame rate of a video *file* (None for arrays, images, folders, or a file without one)."""
    return _file_probe(source).get("fps") or None


def video_sar(source) -> str | None:
    """The pixel aspect ratio ("num:den", as read upright) of a video *file*, None for square
    pixels and for arrays, images and folders: an anamorphic input's output is tagged with it."""
    return _file_probe(source).get("sar")


__all__ = ["IMAGE_SUFFIXES", "check_same_size", "is_still", "load_frames", "load_frames_timed", "read_timed_through",
           "video_fps", "video_sar"]
