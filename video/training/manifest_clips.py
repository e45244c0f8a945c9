"""Kept clips of a ``curate`` manifest as training items (``data.kind=manifest``).

Each item is a window of ``frames`` frames at ``fps`` inside its clip's span: with
``data.clip_window=random`` (the default) the window's first frame is drawn anew each time the
item is loaded, uniformly over the span, from a generator seeded by (run seed, step, item), so
every epoch sees other parts of a clip while a resume, any number of processes and loader
threads load the same frames; ``start`` takes the span's start every time (what training did
before, and what the latent cache stores). Frames are shown as a player shows them: turned
upright and, for an anamorphic source, stretched to square pixels (its SAR), in the bucket
sizes too. The checks made when the manifest loads, before the run folder is made: media files
that are not found (none: the folders looked in; some: files gone, their clips left out),
sources slower than ``data.fps`` (trained faster than real time), and motion scores measured
otherwise than ``objective.motion_scale`` assumes. The table itself is read by
:mod:`video.training.manifest_rows`; what items read of it, column by column (:func:`row_columns`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import torch

from video.training.manifest_rows import (
    check_columns,
    check_not_all_failed,
    manifest_file,
    query,
    usable_rows,
)

CLIP_WINDOWS = ("random", "start")  # data.clip_window
SLOW_TOLERANCE = 1.01  # a source this much slower than data.fps (29.97 for 30) is not said to be sped up


def _say(line: str) -> None:
    from video.training.buckets import _talks

    if _talks():
        print(line)


class ManifestClips(torch.utils.data.Dataset):
    """Kept clips of a ``curate`` manifest, ``frames`` frames sampled at ``fps`` from a window of
    each clip's [start_frame, end_frame) (``clip_window``: see the module) with random access
    (decord when installed, else PyAV). A clip with fewer than ``frames`` frames at ``fps`` is
    left out (``drop_short``; counted in :meth:`describe`) rather than padded with copies of its
    last frame; frame buckets pass ``drop_short=False`` and drop by their own counts. A clip
    whose media file is not found is left out too (``drop_missing``; counted), rather than
    replaced at each load by the next readable clip, which then counted twice; a reader that
    names each clip's missing file itself (eval) passes ``drop_missing=False``. ``seed``: the
    run's, which seeds the windows with the step the trainer sets (:meth:`set_step`).

    What items read of their rows (span, frame count at ``fps``, media file, size, rotation) is
    computed once per column, each distinct media path resolved and looked for once and each
    file's pixel aspect read once: row by row, a 50k-row manifest took seconds to open and
    tens of seconds to bucket."""

    def __init__(self, manifest: str | Path, frames: int, height: int, width: int, fps: float = 8.0,
                 where: str | None = None, drop_short: bool = True, clip_window: str = "random", seed: int = 0,
                 drop_missing: bool = True):
        from data_curation.manifest import (
            RUN_DIR_KEY,
            is_missing,
            media_bases,
            parquet_metadata,
            read_parquet,
        )

        if clip_window not in CLIP_WINDOWS:
            raise ValueError(f"data.clip_window must be {' or '.join(CLIP_WINDOWS)}; got {clip_window!r}")
        manifest = manifest_file(manifest)
        table = read_parquet(manifest).to_pandas()
        check_columns(table, manifest)
        check_not_all_failed(table, manifest)
        ok = table["error"].map(is_missing) if "error" in table else True  # no error column: no errors
        table = table[table["keep"].fillna(False).astype(bool) & ok]
        if where:
            table = query(table, where, manifest)
        if table.empty:
            raise ValueError(f"{manifest}: no kept clips{' matching ' + where if where else ''}")
        table, self.unusable = usable_rows(table, manifest)
        self.rows = table.reset_index(drop=True)
        self.frames, self.height, self.width, self.fps = frames, height, width, fps
        self.clip_window, self.seed = clip_window, seed
        self.manifest, self.root = manifest, manifest.parent
        self.run_dir = parquet_metadata(manifest, RUN_DIR_KEY)
        self.bases = media_bases(manifest)  # where relative media paths are looked for
        self._steps: dict[int, int] = {}  # thread id -> step: loader threads may load different steps
        self._aspects: dict[tuple[Path, bool], float] = {}  # (media path, turned) -> pixel aspect
        self._col = row_columns(self.rows, fps, self.root, self.run_dir, self.bases)
        self.short = self.missing = 0
        if drop_short:
            long_enough = self._col["frames"] >= frames
            self.short = int((~long_enough).sum())
            if self.short == len(self.rows):
                raise ValueError(f"{manifest}: all {self.short} kept clips are shorter than data.frames={frames} "
                                 f"at data.fps={fps:g}: lower them, or use data.frame_buckets")
            self._keep(long_enough)
        self._check_media(drop_missing)
        self._warn_slow_sources()

    def _keep(self, mask: np.ndarray) -> None:
        """Only the rows where ``mask`` is true, in :attr:`rows` and the per-row columns alike."""
        self.rows = self.rows[mask].reset_index(drop=True)
        self._col = {k: v[mask] for k, v in self._col.items()}

    def __len__(self) -> int:
        return len(self.rows)

    def describe(self) -> str:
        return f"manifest {len(self)} clips" + (
            f"; {self.short} shorter than {self.frames} frames at {self.fps:g} fps left out" if self.short else "") + (
            f"; {self.missing} whose media file is not found left out" if self.missing else "") + (
            f"; {self.unusable} with unusable cells left out" if self.unusable else "")

    def set_step(self, step: int) -> None:
        """The trainer's step, which seeds the windows (:meth:`window_start`). Per thread:
        ``num_workers`` threads load the next step while this one trains."""
        self._steps[threading.get_ident()] = step

    @property
    def step(self) -> int:
        return self._steps.get(threading.get_ident(), 0)

    def _step(self, src_fps: float) -> float:
        return max(1.0, src_fps / self.fps)

    def frame_indices(self, start: int, end: int, src_fps: float, frames: int | None = None) -> list[int]:
        step = self._step(src_fps)
        idx = [start + int(round(k * step)) for k in range(frames or self.frames)]
        return [min(i, end - 1) for i in idx]

    def window_start(self, i: int, start: int, end: int, src_fps: float, frames: int) -> int:
        """The first frame of item ``i``'s window of ``frames`` frames in [start, end):
        ``start`` for ``clip_window=start`` (or a clip no longer than the window); else drawn
        uniformly from every start whose window fits, by a generator seeded by (seed, step, i):
        the same on every process, loader thread and resume of that step, another each epoch."""
        return window_start(self.clip_window, (self.seed, self.step, i), start, end, self._step(src_fps), frames)

    def media_path(self, i: int) -> Path:
        """The file item ``i`` reads: its extracted clip when curate wrote one, else its source;
        a relative path looked for in :attr:`bases` (:func:`data_curation.manifest.media_bases`)."""
        return self._col["path"][i]

    def sources(self, i: int) -> list[Path]:
        """The clip's media file. Not the manifest: ``curate run`` rewrites it on every run, a
        no-op rerun too, so its fingerprint would rebuild a whole latent cache; what its row
        decides is in :meth:`row_key`."""
        return [self.media_path(i)]

    def row_key(self, i: int) -> str:
        """sha256 of what item ``i``'s manifest row decides (:meth:`_plan`: media path, clip or
        source by reference, span, source fps, caption, motion): equal for an equal row in a
        rewritten manifest, changed by an edited caption or span. What the latent cache
        fingerprints of the manifest."""
        import hashlib
        import json

        return hashlib.sha256(json.dumps(self._plan(i), sort_keys=True).encode()).hexdigest()

    def _plan(self, i: int) -> dict:
        """What ``load(i, ...)`` takes from item ``i``'s row, besides the frames, size and fps it
        is asked for: one place, so :meth:`row_key` covers every column the loader reads."""
        from data_curation.manifest import is_missing

        c = self._col
        caption, motion = c["caption"][i], c["motion"][i]
        return {"media": str(c["path"][i]), "by_reference": not c["clip"][i],
                "start": int(c["start"][i]), "end": int(c["end"][i]), "fps": float(c["fps"][i]),
                "caption": "" if is_missing(caption) else str(caption).strip(),
                "motion": None if is_missing(motion) else float(motion)}

    def pixel_aspect(self, i: int) -> float:
        """Width over height of one of item ``i``'s pixels as a player shows it (its file's SAR,
        from the header, once per file): 1 for square, untagged or unreadable (the load reports
        the file). A source read by reference and turned a quarter has its pixel's sides swapped."""
        key = (self._col["path"][i], bool(self._col["turned"][i] and not self._col["clip"][i]))  # clips: upright
        if key not in self._aspects:
            self._aspects[key] = file_pixel_aspect(*key)
        return self._aspects[key]

    def native_size(self, i: int) -> tuple[int, int, int]:
        """Frames the clip has at the target fps (no repeats of its last frame), and its size as
        shown: the manifest's width and height are the coded ones, and a clip with a rotation
        of 90 or 270 degrees (a phone filming upright) is read upright, so portrait; an
        anamorphic one is as wide as its pixel shape makes it (the buckets go by what is shown)."""
        c = self._col
        h, w = int(c["height"][i]), int(c["width"][i])
        if c["turned"][i]:
            h, w = w, h
        return int(c["frames"][i]), h, max(1, round(w * self.pixel_aspect(i)))

    def __getitem__(self, i: int) -> dict:
        return self.load(i, self.frames, self.height, self.width)

    def load(self, i: int, frames: int, height: int, width: int) -> dict:
        from video.training.data import read_frames, resize_cover

        plan = self._plan(i)
        first = self.window_start(i, plan["start"], plan["end"], plan["fps"], frames)
        idx = self.frame_indices(first, plan["end"], plan["fps"], frames)
        by_grid = plan["fps"] if plan["by_reference"] else None  # a source by reference: indices on its grid
        x = torch.from_numpy(read_frames(Path(plan["media"]), idx, by_grid)).permute(0, 3, 1, 2).float() / 255.0
        x = resize_cover(x, height, width, self.pixel_aspect(i))
        motion = float("nan") if plan["motion"] is None else plan["motion"]  # no score: the fixed motion id
        return {"video": x * 2 - 1, "caption": plan["caption"], "fps": self.fps, "motion": motion}

    def _check_media(self, drop: bool) -> None:
        """Every distinct media file is looked for once, before the run folder is made. None
        found is a FileNotFoundError: with relative paths, a manifest moved away from the folder
        curate ran in, or re-saved by pandas, which drops the folder it records (said with the
        folders looked in and what to do); with absolute ones, files that are gone. Some not
        found (the others were, where the same folders were searched) are files deleted or
        moved since curation: one warning with the count and the first few, and their clips
        are left out (``drop``) rather than replaced at each load by another clip."""
        paths, stored = self._col["path"], self._col["stored"]
        there = {p: p.exists() for p in dict.fromkeys(paths)}
        missing = np.array([not there[p] for p in paths], bool)
        n = int(missing.sum())
        if not n:
            return
        gone = list(dict.fromkeys(stored[missing]))  # as the manifest stores them
        named = ", ".join(map(str, gone[:3])) + (f" and {len(gone) - 3} more" if len(gone) > 3 else "")
        files = f"{len(gone)} file{'s are' if len(gone) > 1 else ' is'} missing ({named})"
        said = f"{n} of {len(self)} clips' media files are not found"
        if n == len(self):
            relative = [p for p in gone if not Path(p).is_absolute()]
            if not relative:
                raise FileNotFoundError(f"{self.manifest}: {said}: {files}")
            first = relative[0]
            folders = [*self.bases, *([self.root / "clips"] if self._col["clip"][stored == first].any() else [])]
            looked = "looked for in " + ", ".join(dict.fromkeys(os.path.abspath(p) for p in folders))
            raise FileNotFoundError(f"{self.manifest}: {said} (the first: {first}; {looked}): run from the folder "
                                    "curate ran in, or store absolute paths")
        if drop:
            self.missing = n
            self._keep(~missing)
        _say(f"warning: {self.manifest}: {said}: {files}; " +
             (f"{'those' if n > 1 else 'that'} {n} clip{'s are' if n > 1 else ' is'} left out" if drop
              else "reading them fails"))

    def _warn_slow_sources(self) -> None:
        """One warning for the clips whose source is slower than ``data.fps``: their frames are
        read one by one and each trained as 1/fps s, so they play faster than real time (a 5 fps
        source at data.fps=8: 1.6x). They are kept: the line gives the count, the speed-up and
        how to leave them out."""
        src = self._col["fps"]
        slow = src[src * SLOW_TOLERANCE < self.fps]
        if not len(slow):
            return
        low, high = self.fps / float(slow.max()), self.fps / float(slow.min())
        speed = f"{low:.3g}x" if round(low, 2) == round(high, 2) else f"{low:.3g}x to {high:.3g}x"
        _say(f"warning: {self.manifest}: {len(slow)} of {len(self)} clips come from sources slower than "
             f"data.fps={self.fps:g} (down to {float(slow.min()):g} fps): each of their frames is trained as "
             f"1/{self.fps:g} s, so they play {speed} faster than real time; lower data.fps, or leave them out "
             f"with data.where=\"fps >= {self.fps:g}\"")


def window_start(clip_window: str, key: tuple, start: int, end: int, step: float, frames: int) -> int:
    """The first frame of a window of ``frames`` frames, ``step`` source frames apart, in
    [start, end): ``start`` for ``clip_window=start`` or a span no longer than the window, else
    drawn uniformly from every start whose window fits by a generator seeded by ``key`` (the
    run's seed, the step, the item), so a resume and every process draw the same one."""
    reach = int(round((frames - 1) * step))  # the window's last frame, from its first
    last = end - 1 - reach
    if clip_window == "start" or last <= start:
        return start
    return int(np.random.default_rng(key).integers(start, last + 1))


def row_columns(rows, fps: float, root: Path, run_dir: str | None, bases: list[Path]) -> dict[str, np.ndarray]:
    """Per row of a manifest table (usable rows: :func:`~video.training.manifest_rows.usable_rows`),
    what its item reads, one array each: ``clip`` (an extracted clip file, else the source by
    reference), ``start``/``end`` (the span; a clip file's is its own frames), ``fps`` (the
    source's), ``frames`` (frames at ``fps``, no repeats of the last), ``height``/``width``
    (coded), ``turned`` (a rotation of 90 or 270), ``stored`` (the media path as stored),
    ``path`` (the file found for it: :func:`media_file`, once per distinct path), ``caption``
    and ``motion`` (the cells as stored). Column by column: row by row it was the start's cost."""
    import pandas as pd

    from data_curation.manifest import is_missing

    def numbers(column: str) -> np.ndarray:
        if column not in rows:
            return np.full(len(rows), np.nan)
        return pd.to_numeric(rows[column], errors="coerce").to_numpy(float)

    clip = ~rows["clip_path"].map(is_missing).to_numpy(bool) if "clip_path" in rows else np.zeros(len(rows), bool)
    start = np.where(clip, 0, numbers("start_frame")).astype(np.int64)
    end = np.where(clip, numbers("num_frames"), numbers("end_frame")).astype(np.int64)
    src_fps = numbers("fps")
    step = np.maximum(1.0, src_fps / fps)
    rot = numbers("rotation")
    turned = np.isfinite(rot) & (np.trunc(np.where(np.isfinite(rot), rot, 0)).astype(np.int64) % 180 == 90)
    stored = np.where(clip, rows["clip_path"].to_numpy(object) if "clip_path" in rows else None,
                      rows["source"].to_numpy(object))
    keys = list(zip(stored.tolist(), clip.tolist(), strict=True))
    found = {key: media_file(*key, root, run_dir, bases) for key in dict.fromkeys(keys)}
    path = np.empty(len(rows), object)
    path[:] = [found[key] for key in keys]

    def cells(column: str) -> np.ndarray:
        return rows[column].to_numpy(object) if column in rows else np.full(len(rows), None, object)

    return {"clip": clip, "start": start, "end": end, "fps": src_fps,
            "frames": np.floor_divide(end - start - 1, step).astype(np.int64) + 1,
            "height": numbers("height").astype(np.int64), "width": numbers("width").astype(np.int64),
            "turned": turned, "stored": stored, "path": path, "caption": cells("caption"),
            "motion": cells("motion_mean")}


def media_file(stored: str, is_clip: bool, root: Path, run_dir: str | None, bases: list[Path]) -> Path:
    """The file a row reads: a relative path in ``bases`` (:func:`data_curation.manifest.media_bases`,
    the manifest's own project first). An extracted clip is looked for first in the manifest's
    own ``clips/`` folder (curate writes ``OUT/clips/<id>.mp4``, a path stored relative to the
    folder it ran in, or absolute as OUT was given): a copied project trains on its own clip
    files, and an OUT folder moved alone finds them."""
    from data_curation.manifest import resolve_media

    if is_clip:
        own = root / "clips" / Path(stored).name
        if Path(stored).parent.name == "clips" and own.exists():
            return own
        return resolve_media(stored, run_dir, (own,), bases)
    return resolve_media(stored, run_dir, (), bases)


def file_pixel_aspect(path: Path, turned: bool = False) -> float:
    """Width over height of a pixel of the video at ``path`` (its SAR, :func:`video.media.sar_of`,
    read from the header), 1.0 for square or untagged pixels and for a file that cannot be
    opened (loading it says why)."""
    import av

    from video.media import MediaError, media_path, sar_of, video_stream

    try:
        with av.open(media_path(path)) as c:
            sar = sar_of(video_stream(c, path), turned=turned)
    except (av.error.FFmpegError, OSError, MediaError):
        return 1.0
    if sar is None:
        return 1.0
    num, den = (int(v) for v in sar.split(":"))
    return num / den


def motion_note(manifest: Path, scale: float) -> str | None:
    """A warning when ``objective.motion_scale`` maps ``manifest``'s motion_mean, whose unit
    depends on the recipe: Farneback flow in px of a frame scaled to ``motion_short_side`` per
    sample step (about ``1 / sample_fps`` s). The scale's examples assume the quick recipe's
    (:func:`data_curation.manifest.recipe_motion`); a manifest scored otherwise (svd_lvd: a 16 px short side), or one
    that does not record how (:func:`data_curation.manifest.motion_settings`), is said. None
    when they agree or no scale is used."""
    from data_curation.manifest import motion_settings, recipe_motion

    if scale <= 0:
        return None
    got = motion_settings(manifest)
    want = recipe_motion()  # what objective.motion_scale's examples assume: the quick recipe's
    head = f"warning: objective.motion_scale={scale:g} maps motion_mean of {manifest}"
    assumed = f"the scale assumes the quick recipe's {want['short_side']} px short side at {want['sample_fps']:g} fps"
    if got is None:
        return (f"{head}, which does not record the motion settings it was scored with (curated before they were "
                f"recorded, or re-saved without its metadata); {assumed}")
    if got == want:
        return None
    ratio = want["short_side"] / got["short_side"] * got["sample_fps"] / want["sample_fps"]
    return (f"{head}, scored on a {got['short_side']} px short side at {got['sample_fps']:g} fps (px of that frame "
            f"per sample step); {assumed}, where the same motion measures up to {ratio:.3g}x as many px (less in "
            "practice: optical flow on small frames is coarse): set objective.motion_scale from this manifest's own "
            "motion_mean values")


def warn_motion_units(manifest: Path, scale: float) -> None:
    """Print :func:`motion_note` when there is one (rank 0 only)."""
    note = motion_note(manifest, scale)
    if note:
        _say(note)
