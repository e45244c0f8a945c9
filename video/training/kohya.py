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
:meth:`KohyaFolder.describe`, rather than padded with copies of their last frame.
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


def caption_text(path: Path, warned: set[Path]) -> str:
    """:func:`read_caption`, stripped; a file that is not valid UTF-8 warns, naming it, once per
    file in ``warned`` (every repeat and epoch reads it again). A latin-1 ``café`` crashed the
    run and every resume of it with a UnicodeDecodeError that named no file."""
    cap, valid = read_caption(path)
    if not valid and path not in warned:
        warned.add(path)
        warnings.warn(f"caption {path} is not valid UTF-8: its bad bytes read as U+FFFD (save it as UTF-8)",
                      stacklevel=3)
    return cap.strip()


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
    still clip of ``frames`` frames (motion 0), a clip gives ``frames`` frames at ``fps``."""

    def __init__(self, root: str | Path, frames: int, height: int, width: int, fps: float = 8.0,
                 keep_tokens: int = 0, shuffle: bool = False, seed: int = 0):
        from video.media import MediaError

        root = Path(root)
        if not root.is_dir():
            raise MediaError(f"kohya dataset {str(root)!r} is not a folder")
        self.frames, self.height, self.width, self.fps = frames, height, width, fps
        self.files: list[tuple[Path, str]] = []  # (media, fallback caption)
        self.folders: list[tuple[str, int, int]] = []  # (name, items, repeats)
        self.short: list[Path] = []  # clips with fewer than ``frames`` frames at ``fps``: left out
        index: list[int] = []
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            parsed = parse_folder_name(sub.name)
            if parsed is None:
                warnings.warn(f"kohya dataset: skipping {sub.name}/ (no repeats prefix like 10_name)", stacklevel=2)
                continue
            repeats, words = parsed
            media = sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
            short = [m for m in media if m.suffix.lower() in VIDEO_SUFFIXES and self._clip_frames(m) < frames]
            self.short += short
            media = [m for m in media if m not in short]
            self.folders.append((sub.name, len(media), repeats))
            for m in media:
                index += [len(self.files)] * repeats
                self.files.append((m, words))
        if not index:
            raise MediaError(f"no images or clips in N_name/ folders under {root}" +
                             (f" ({len(self.short)} clips shorter than data.frames={frames})" if self.short else ""))
        self.index = index
        self.keep_tokens, self.shuffle, self.seed = keep_tokens, shuffle, seed
        self._steps: dict[int, int] = {}  # thread id -> step: loader threads may load different steps
        self._warned: set[Path] = set()  # caption files already reported as not UTF-8

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
        return [path, path.with_suffix(".txt")]

    def caption(self, i: int) -> str:
        path, words = self.files[self.index[i]]
        txt = path.with_suffix(".txt")
        cap = caption_text(txt, self._warned) if txt.is_file() else words
        if self.shuffle:
            cap = shuffle_tags(cap, self.keep_tokens, np.random.default_rng((self.seed, self.step, i)))
        return cap

    def __getitem__(self, i: int) -> dict:
        path, _ = self.files[self.index[i]]
        if path.suffix.lower() in IMAGE_SUFFIXES:
            from video.media import image_to_tensor

            x = image_to_tensor(path, self.height, self.width) * 2 - 1  # (1, 3, H, W)
            return {"video": x.expand(self.frames, -1, -1, -1).contiguous(), "caption": self.caption(i),
                    "fps": self.fps, "motion": 0.0}
        return {"video": self._clip(path), "caption": self.caption(i), "fps": self.fps, "motion": 0.0}

    def _clip(self, path: Path) -> torch.Tensor:
        from video.media import probe_video
        from video.training.data import read_frames, resize_cover

        info = probe_video(path)
        n, src_fps = info["num_frames"], info["fps"] or self.fps
        step = max(1.0, src_fps / self.fps)
        idx = [min(int(round(k * step)), n - 1) for k in range(self.frames)]
        x = torch.from_numpy(read_frames(path, idx)).permute(0, 3, 1, 2).float() / 255.0
        return resize_cover(x, self.height, self.width) * 2 - 1
