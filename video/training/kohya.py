"""Kohya-style dataset folders (sd-scripts' DreamBooth layout) for LoRA training:

    root/10_mychar/a.png + a.txt     10 repeats per epoch, caption "mychar, red hair, smile"
    root/10_mychar/b.mp4 + b.txt     clips sit beside images
    root/3_background/c.jpg          no .txt: the caption is the folder's class words, "background"
    root/5_sks_dog/d.png             no .txt: "sks_dog", underscores kept (sd-scripts' extract_dreambooth_params)

Folders without an ``N_`` prefix are skipped (as sd-scripts does). One epoch is every item
``repeats`` times, so ``len(dataset)`` = sum(items x repeats) and a run of ``epochs`` takes
``ceil(len x epochs / (batch x grad_accum))`` steps. Caption tags (comma-separated) are shuffled
after the first ``keep_tokens`` (sd-scripts ``shuffle_caption`` / ``keep_tokens``), with a
generator seeded by (seed, step, index): each repeat of an item and each epoch gets its own
order, and the trainer's step (:meth:`KohyaFolder.set_step`) makes a resumed run read the same.
Captions are read as UTF-8 whatever the locale (sd-scripts opens them with ``encoding="utf-8"``);
a file that is not valid UTF-8 warns, naming it, and is read with U+FFFD for the bad bytes.
Clips with fewer than ``frames`` frames at ``fps`` (from their headers) are left out, counted in
:meth:`KohyaFolder.describe`, rather than padded with copies of their last frame. A clip's
window of ``frames`` frames starts at its first frame (``clip_window="start"``, the default
here) or, with ``clip_window="random"`` (``data.clip_window``, as manifest clips read it), anywhere
it fits, drawn by a generator seeded by (seed, step, index): each repeat and epoch sees another
part of the clip, and a resume reads the same. Items have sizes for aspect and frame buckets
(:meth:`KohyaFolder.native_size`, from headers): an image is a still of ``frames`` frames at
the size it shows at, a clip its frame count at ``fps`` and its size as shown (upright, and an
anamorphic clip as wide as its SAR makes it, as it is also loaded).

As sd-scripts: files and folders whose names start with ``.`` are skipped (macOS ``._x.jpg``
AppleDouble files, ``.cache/``), captions are the ``caption_extension`` file beside the media
(``.txt``; sd-scripts' BLIP/GIT scripts write ``.caption``) and only its first non-empty line, and
``0_name/`` folders are not trained (sd-scripts: "num_repeats is less than 1"); each case warns once.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import torch

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
VIDEO_SUFFIXES = {".mp4", ".webm", ".mov", ".mkv", ".avi", ".gif"}
_REPEATS = re.compile(r"^(\d+)_(.+)$")


def parse_folder_name(name: str) -> tuple[int, str] | None:
    """``"10_mychar"`` -> ``(10, "mychar")``, ``"10_sks_dog"`` -> ``(10, "sks_dog")``; ``None``
    when there is no repeat prefix. The class words keep their underscores, as sd-scripts'
    ``extract_dreambooth_params`` does (``"_".join(tokens[1:])``): a rare token such as ``sks_dog``
    is one identifier, and a fallback caption that differs from sd-scripts' trains another prompt."""
    m = _REPEATS.match(name)
    return (int(m.group(1)), m.group(2)) if m else None


def read_caption(path: Path) -> tuple[str, bool]:
    """The text of caption file ``path`` as UTF-8 (a leading byte-order mark dropped), whatever
    the locale: sd-scripts reads captions as UTF-8, and ``read_text()`` without an encoding
    would crash on the first non-ASCII tag under ``LC_ALL=C``. Returns ``(text, valid)``:
    invalid bytes become U+FFFD and ``valid`` is False, so the caller can warn about the file."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8-sig", errors="replace"), False


CAPTION_EXTENSIONS = (".txt", ".caption")  # the ones sd-scripts' tools write; another beside the media is noted


def caption_lines(text: str) -> list[str]:
    """The non-empty lines of a caption file's text, stripped (``\n``, ``\r\n`` or ``\r``, as
    Python's text mode reads them: sd-scripts' ``readlines``)."""
    return [ln.strip() for ln in re.split(r"\r\n|\r|\n", text) if ln.strip()]


def caption_text(path: Path, warned: set[Path]) -> str:
    """The caption in file ``path``: its first non-empty line (sd-scripts trains one line: a
    second one joined in put a newline inside a tag, which shuffling then moved); a file that is
    not valid UTF-8 warns, naming it, once per file in ``warned`` (every repeat and epoch reads it
    again). A latin-1 ``café`` crashed the run and every resume of it with a UnicodeDecodeError
    that named no file."""
    cap, valid = read_caption(path)
    if not valid and path not in warned:
        warned.add(path)
        warnings.warn(f"caption {path} is not valid UTF-8: its bad bytes read as U+FFFD (save it as UTF-8)",
                      stacklevel=3)
    lines = caption_lines(cap)
    return lines[0] if lines else ""


def is_hidden(path: Path, root: Path) -> bool:
    """Whether ``path`` (under ``root``) or a folder between them starts with ``.``: macOS
    ``._name.jpg`` (AppleDouble resource forks, not images), ``.DS_Store``, ``.cache/``
    thumbnails. sd-scripts' glob skips them too; training one warned "unreadable" and took its
    repeats from the next file."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def check_captions(media: list[Path], extension: str, fallback: str) -> None:
    """One warning per kind of caption trouble among ``media``'s caption files (``extension``
    beside each), each with a count and one file: files with several lines (only the first is
    the caption), and media without one but with another common caption file beside them (a
    ``.caption`` that ``data.caption_extension`` does not name). ``fallback``: what such an item
    trains on instead. Reads every caption file once (a start reads them for empty ones too)."""
    many, other = [], []
    for m in media:
        cap = m.with_suffix(extension)
        if cap.is_file():
            if len(caption_lines(read_caption(cap)[0])) > 1:
                many.append(cap)
            continue
        found = [m.with_suffix(e) for e in CAPTION_EXTENSIONS if e != extension and m.with_suffix(e).is_file()]
        if found:
            other.append(found[0])
    if many:
        warnings.warn(f"{len(many)} caption files have more than one line: only the first non-empty line is the "
                      f"caption, as in sd-scripts (e.g. {many[0]})", stacklevel=3)
    if other:
        warnings.warn(f"{len(other)} images or clips have no {extension} caption but a {other[0].suffix} file beside "
                      f"them (e.g. {other[0]}): they train on {fallback}; set data.caption_extension="
                      f"{other[0].suffix} to read those", stacklevel=3)


def shuffle_tags(caption: str, keep_tokens: int, rng: np.random.Generator) -> str:
    """Shuffle the comma-separated tags after the first ``keep_tokens``, which stay in place."""
    tags = [t.strip() for t in caption.split(",") if t.strip()]
    head, tail = tags[:keep_tokens], tags[keep_tokens:]
    order = rng.permutation(len(tail))
    return ", ".join(head + [tail[i] for i in order])


def epoch_steps(items: int, epochs: int, batch_size: int) -> int:
    """Optimizer steps for ``epochs`` passes over ``items`` (repeats included), ``batch_size``
    items per step (batch x grad_accum)."""
    return math.ceil(items * epochs / batch_size)


class KohyaFolder(torch.utils.data.Dataset):
    """Items ``{"video": (F, 3, H, W) in [-1, 1], "caption", "fps", "motion"}``; an image is a
    still clip of ``frames`` frames (motion 0), a clip gives ``frames`` frames at ``fps`` from a
    window chosen by ``clip_window`` (see the module), its motion unknown (NaN: trained with the
    fixed motion id, :meth:`video.training.tasks.SVDImageToVideo.motion_ids`)."""

    def __init__(self, root: str | Path, frames: int, height: int, width: int, fps: float = 8.0,
                 keep_tokens: int = 0, shuffle: bool = False, seed: int = 0, caption_extension: str = ".txt",
                 clip_window: str = "start"):
        from video.media import MediaError
        from video.training.manifest_clips import CLIP_WINDOWS

        if clip_window not in CLIP_WINDOWS:
            raise ValueError(f"data.clip_window must be {' or '.join(CLIP_WINDOWS)}; got {clip_window!r}")
        root = Path(root)
        if not root.is_dir():
            raise MediaError(f"kohya dataset {str(root)!r} is not a folder")
        self.frames, self.height, self.width, self.fps = frames, height, width, fps
        self.clip_window = clip_window
        self._headers: dict[int, dict] = {}  # file -> its clip's frames, fps, shown size and pixel aspect
        self.caption_extension = caption_extension
        self.files: list[tuple[Path, str]] = []  # (media, fallback caption)
        self.folders: list[tuple[str, int, int]] = []  # (name, items, repeats)
        self.short: list[Path] = []  # clips with fewer than ``frames`` frames at ``fps``: left out
        zero: list[str] = []  # 0_name/ folders with media: not trained
        index: list[int] = []
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            parsed = parse_folder_name(sub.name)
            if parsed is None:
                warnings.warn(f"kohya dataset: skipping {sub.name}/ (no repeats prefix like 10_name)", stacklevel=2)
                continue
            repeats, words = parsed
            media = media_files(sub)
            if repeats < 1:
                if media:
                    zero.append(sub.name)
                    warnings.warn(f"kohya dataset: {sub.name}/ has 0 repeats: its {len(media)} files are not trained "
                                  "(as sd-scripts: num_repeats is less than 1)", stacklevel=2)
                continue
            short = [m for m in media if m.suffix.lower() in VIDEO_SUFFIXES and self._clip_frames(m) < frames]
            self.short += short
            media = [m for m in media if m not in short]
            self.folders.append((sub.name, len(media), repeats))
            for m in media:
                index += [len(self.files)] * repeats
                self.files.append((m, words))
        if not index:
            raise MediaError(_nothing_to_train(root, zero, self.short, frames))
        check_captions([m for m, _ in self.files], caption_extension, "their folder's words")
        self.index = index
        self.keep_tokens, self.shuffle, self.seed = keep_tokens, shuffle, seed
        self._steps: dict[int, int] = {}  # thread id -> step: loader threads may load different steps
        self._warned: set[Path] = set()  # caption files already reported as not UTF-8

    def file_key(self, i: int) -> int:
        """The file item ``i`` reads: the repeats of one file share it, so an unreadable file is
        decoded and warned of once (:class:`video.training.loading.ItemLoader`), not once a repeat."""
        return self.index[i]

    def _clip_frames(self, path: Path) -> int:
        """Frames ``path`` has at ``fps``, from its header without decoding (every start and
        resume reads every clip's header); an unreadable header, or one without a count or
        duration, counts as long enough (loading it warns and moves on:
        :class:`video.training.loading.ItemLoader`)."""
        from video.media import MediaError, header_frames

        try:
            n, fps = header_frames(path)
        except (MediaError, OSError):
            return self.frames
        if not n:
            return self.frames
        step = max(1.0, (fps or self.fps) / self.fps)
        return int((n - 1) // step) + 1

    def set_step(self, step: int) -> None:
        """The trainer's step: tag shuffles are seeded by it, so each epoch reads new orders.
        Per thread: ``num_workers`` threads load the next step while this one trains."""
        import threading

        self._steps[threading.get_ident()] = step

    @property
    def step(self) -> int:
        import threading

        return self._steps.get(threading.get_ident(), 0)

    def __len__(self) -> int:
        return len(self.index)

    def describe(self) -> str:
        per = "; ".join(f"{n}: {k} items x {r} repeats" for n, k, r in self.folders)
        short = (f"; {len(self.short)} clips shorter than {self.frames} frames at {self.fps:g} fps left out"
                 if self.short else "")
        return f"kohya {per} = {len(self)} per epoch{short}"

    def sources(self, i: int) -> list[Path]:
        """The image or clip and its caption file (named even when absent: one written later
        replaces the folder's class words)."""
        path, _ = self.files[self.index[i]]
        return [path, path.with_suffix(self.caption_extension)]

    def file_caption(self, f: int) -> str:
        """File ``f``'s caption, unshuffled: its caption file's first line, else its folder's words."""
        path, words = self.files[f]
        txt = path.with_suffix(self.caption_extension)
        return caption_text(txt, self._warned) if txt.is_file() else words

    def caption(self, i: int) -> str:
        cap = self.file_caption(self.index[i])
        if self.shuffle:
            cap = shuffle_tags(cap, self.keep_tokens, np.random.default_rng((self.seed, self.step, i)))
        return cap

    def __getitem__(self, i: int) -> dict:
        return self.load(i, self.frames, self.height, self.width)

    def native_size(self, i: int) -> tuple[int, int, int]:
        """(frames, height, width) of item ``i`` as loaded, for the buckets, from headers: an
        image is a still of ``frames`` frames at the size it shows at (EXIF orientation
        applied); a clip has its frame count at ``fps`` and its size as shown (upright; an
        anamorphic one as wide as its SAR makes it). An unreadable file is a MediaError."""
        f = self.index[i]
        path, _ = self.files[f]
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return (self.frames, *image_size(path))
        head = self._header(f)
        return head["frames_at_fps"], head["height"], head["width"]

    def load(self, i: int, frames: int, height: int, width: int) -> dict:
        """Item ``i`` at ``frames`` frames of ``height x width`` (a bucket's, or the dataset's)."""
        path, _ = self.files[self.index[i]]
        if path.suffix.lower() in IMAGE_SUFFIXES:
            from video.media import image_to_tensor

            x = image_to_tensor(path, height, width) * 2 - 1  # (1, 3, H, W)
            return {"video": x.expand(frames, -1, -1, -1).contiguous(), "caption": self.caption(i),
                    "fps": self.fps, "motion": 0.0}
        return {"video": self._clip(i, frames, height, width), "caption": self.caption(i), "fps": self.fps,
                "motion": float("nan")}  # no score: the fixed motion id (an image is a still: 0)

    def _header(self, f: int) -> dict:
        """File ``f``'s clip as its header gives it, read once: frame count (the container's, or
        duration x rate for WebM and Matroska, which store none: counting decoded the whole file
        at every load; the reader stops at the clip's last frame whatever the estimate), fps,
        size as shown and pixel aspect."""
        if f not in self._headers:
            from video.media import header_frames, probe_video

            path, _ = self.files[f]
            info = probe_video(path, count=False)  # the first frame only: its rotation
            n, fps = header_frames(path)
            n = n or info["num_frames"] or probe_video(path)["num_frames"]  # no count nor duration: counted
            fps = fps or self.fps
            h, w = (info["width"], info["height"]) if info["rotation"] in (90, 270) else (info["height"], info["width"])
            aspect = _ratio(info["sar"])
            self._headers[f] = {"frames": n, "fps": fps, "height": h, "width": max(1, round(w * aspect)),
                                "aspect": aspect, "frames_at_fps": int((n - 1) // max(1.0, fps / self.fps)) + 1}
        return self._headers[f]

    def _clip(self, i: int, frames: int, height: int, width: int) -> torch.Tensor:
        from video.training.data import read_frames, resize_cover
        from video.training.manifest_clips import window_start

        path, _ = self.files[self.index[i]]
        head = self._header(self.index[i])
        step = max(1.0, head["fps"] / self.fps)
        first = window_start(self.clip_window, (self.seed, self.step, i), 0, head["frames"], step, frames)
        idx = [min(first + int(round(k * step)), head["frames"] - 1) for k in range(frames)]
        x = torch.from_numpy(read_frames(path, idx)).permute(0, 3, 1, 2).float() / 255.0
        return resize_cover(x, height, width, head["aspect"]) * 2 - 1


def _ratio(sar: str | None) -> float:
    """A pixel's width over its height from ``"num:den"`` (None: square)."""
    if not sar:
        return 1.0
    num, den = (int(v) for v in sar.split(":"))
    return num / den


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) an image shows at, from its header (its EXIF orientation applied, as
    loading applies it); a file PIL cannot identify is a MediaError naming it."""
    from PIL import Image, UnidentifiedImageError

    from video.media import MediaError
    from video.training.data import exif_orientation

    try:
        with Image.open(path) as im:  # reads the header only
            w, h = im.size
            turned = exif_orientation(im) in (5, 6, 7, 8)  # transposed or turned by 90 degrees
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise MediaError(f"{path} is not an image we can read ({e.__class__.__name__})") from None
    return (w, h) if turned else (h, w)


def media_files(folder: Path) -> list[Path]:
    """The images and clips directly in ``folder``, sorted, hidden names skipped (:func:`is_hidden`)."""
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES and not p.name.startswith("."))


def _nothing_to_train(root: Path, zero: list[str], short: list[Path], frames: int) -> str:
    """Why a kohya folder has no item, and what to give instead: its files are all in ``0_x/``
    folders, ``root`` is itself one ``N_name/`` folder (its parent is the dataset), or its media
    sit directly in it."""
    if zero:
        return (f"kohya dataset {root}: the only folders with images or clips have 0 repeats "
                f"({', '.join(z + '/' for z in zero[:3])}): give them 1 or more (e.g. 1_{zero[0].split('_', 1)[1]})")
    if parse_folder_name(root.name) is not None and media_files(root):
        return (f"kohya dataset {root} is itself an N_name/ folder: give its parent folder as data.path "
                f"(data.path={root.parent})")
    loose = f"; the {len(media_files(root))} files directly in it need an N_name/ folder" if media_files(root) else ""
    return (f"no images or clips in N_name/ folders under {root}" +
            (f" ({len(short)} clips shorter than data.frames={frames})" if short else "") + loose)
