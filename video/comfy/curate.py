"""The curate node: score a folder of clips with a curation recipe's scorers and show the
result as a table (markdown or JSON) and a contact sheet.

Each video file is one clip, scored whole: the folder already holds clips (``curate run
--split.extract`` output, a VideoHelperSuite output folder, ...), so there is no cut detection
or splitting here, and the recipe's clip-length limits (``split``) are not applied. The scoring
and the keep/drop rules are the curation pipeline's own (:func:`data_curation.clip_frames.read_clip`,
:mod:`data_curation.scorers`, :func:`data_curation.filtering.apply_filters`). The ``quick``
recipe needs no model weights; a recipe naming a model scorer without local weights gets null
columns, as in ``curate run``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from video.runtime.errors import InputError

TABLE_FORMATS = ("markdown", "json")
# what scoring a folder imports from the [curate] extra (OpenCV: decoding and the sharpness and
# motion scorers; pyarrow: the recipe's columns; imagehash: the phash scorer of every recipe)
CURATE_MODULES = ("cv2", "pyarrow", "imagehash")
THUMB_H, THUMB_W, LABEL_H, PAD = 72, 128, 14, 2
KEEP_RGB, DROP_RGB = (40, 150, 60), (180, 40, 40)


def recipe_names() -> list[str]:
    from video.config import CONFIG_DIR

    return sorted(p.stem for p in (CONFIG_DIR / "curate").glob("*.yaml"))


def clip_folder(folder: str | Path) -> Path | None:
    """The folder named by the node's text, or None when the text is blank: ``Path("")`` is the
    working folder (ComfyUI's own tree), which must never be scanned for want of a name. A path
    pasted in quotes (a file manager's "Copy as path") loses them and ``~`` is the home folder,
    as a shell would read them: both were "not a folder of clips"."""
    text = str(folder).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return Path(text).expanduser() if text else None


def score_folder(folder: str | Path, recipe: str = "quick") -> tuple[list[dict], list[list[np.ndarray]]]:
    """``(rows, key_frames)``: one manifest-like row per video under ``folder`` (scores, ``keep``,
    ``drop_reason``, or ``error`` for an unreadable file) and its first/middle/last frames.
    Inside ComfyUI the node's progress bar counts the clips and Cancel stops between two."""
    from video.comfy.host import comfy_on_step, require_modules

    require_modules("Curate Clips", "curate", *CURATE_MODULES)  # not every clip an error row, nor a bare import error
    from data_curation.clip_frames import read_clip
    from data_curation.filtering import apply_filters
    from data_curation.probe import discover
    from data_curation.recipe import load_recipe
    from data_curation.scorers import build_scorers
    from video.media import MediaError, probe_video

    folder = clip_folder(folder)
    if folder is None:
        raise InputError("folder is empty: give the path of a folder of clips")
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of clips")
    r = load_recipe(recipe)
    scorers = build_scorers(r)
    rows, keys = [], []
    paths = list(discover([folder]))
    on_step = comfy_on_step()  # ComfyUI: the node's bar moves per clip, Cancel between clips
    for k, path in enumerate(paths):
        row = {"source": str(path), "clip_id": path.relative_to(folder).as_posix(), "error": None}
        frames = []
        try:
            info = probe_video(path)
            n, fps = info["num_frames"], info["fps"] or 0.0
            if not n or not fps:
                raise MediaError(f"{path.name}: no frames or no frame rate")
            row.update(start_frame=0, end_frame=n, num_frames=n, fps=fps, seconds=n / fps, width=info["width"],
                       height=info["height"])
            clip = read_clip(str(path), 0, n, fps, r.sample_fps, r.motion_short_side)
            for s in scorers:
                row.update(s.score(clip))
            frames = clip.keys
        except Exception as e:  # one unreadable file is a row with an error, as in `curate run`
            row["error"] = f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
        rows.append(row)
        keys.append(frames)
        if on_step is not None:  # outside the try: ComfyUI's Cancel must end the run, not be a row's error
            on_step(k + 1, len(paths))
    if not rows:
        raise InputError(f"{folder}: no video files in it")
    apply_filters(rows, r)  # sets keep/drop_reason in place; the list's order stays that of `keys`
    return rows, keys


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|")


def format_table(rows: list[dict], fmt: str = "markdown") -> str:
    """Rows as a markdown table (``#`` numbers the contact sheet's cells) or a JSON list."""
    if fmt == "json":
        clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()} for row in rows]
        return json.dumps(clean, indent=1)
    if fmt != "markdown":
        raise InputError(f"table format must be one of {', '.join(TABLE_FORMATS)}; got {fmt!r}")
    skip = {"source", "clip_id", "start_frame", "end_frame", "keep", "drop_reason", "error"}
    cols = ["clip_id", "keep", "drop_reason"] + [c for c in dict.fromkeys(k for row in rows for k in row)
                                                 if c not in skip] + ["error"]
    lines = ["| # | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
    lines += [f"| {i} | " + " | ".join(_cell(row.get(c)) for c in cols) + " |" for i, row in enumerate(rows)]
    return "\n".join(lines)


def _thumb(frame: np.ndarray):
    """A key frame fitted into THUMB_W x THUMB_H, centred on black."""
    from PIL import Image

    im = Image.fromarray(frame)
    im.thumbnail((THUMB_W, THUMB_H), Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (THUMB_W, THUMB_H))
    canvas.paste(im, ((THUMB_W - im.width) // 2, (THUMB_H - im.height) // 2))
    return canvas


def contact_sheet(rows: list[dict], keys: list[list[np.ndarray]], max_clips: int = 32) -> np.ndarray:
    """uint8 (H, W, 3): one line per clip (its first, middle and last frame) under a label bar,
    green for kept, red for dropped, numbered as the table."""
    from PIL import Image, ImageDraw

    shown = list(zip(rows, keys, strict=True))[: max(1, max_clips)]
    line_h = LABEL_H + THUMB_H + PAD
    sheet = Image.new("RGB", (3 * THUMB_W + 4 * PAD, len(shown) * line_h + PAD), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for i, (row, frames) in enumerate(shown):
        y = PAD + i * line_h
        draw.rectangle([PAD, y, sheet.width - PAD - 1, y + LABEL_H - 1], fill=KEEP_RGB if row.get("keep") else DROP_RGB)
        label = f"{i} {row['clip_id']}" + ("" if row.get("keep") else f"  {row.get('drop_reason') or ''}")
        draw.text((PAD + 2, y + 1), label[:60], fill=(255, 255, 255))
        for j, frame in enumerate(frames[:3]):
            sheet.paste(_thumb(frame), (PAD + j * (THUMB_W + PAD), y + LABEL_H))
    return np.array(sheet)


def folder_fingerprint(folder: str, recipe: str = "quick", **_) -> str:
    """What the node's result depends on besides its widgets: every video under ``folder`` (path,
    size, modification time) and the recipe file's text. ComfyUI caches a node's output while
    its inputs are unchanged, and a folder's name does not change when clips are added, replaced
    or deleted; this is the node's ``IS_CHANGED`` / ``fingerprint_inputs``, so that it re-scores
    then and only then."""
    import hashlib

    from data_curation.probe import discover
    from video.config import CONFIG_DIR

    h = hashlib.sha256()
    root = clip_folder(folder)
    for path in (discover([root]) if root is not None and root.is_dir() else []):
        st = path.stat()
        h.update(f"{path.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    recipe_file = Path(recipe) if recipe.endswith((".yaml", ".yml")) else CONFIG_DIR / "curate" / f"{recipe}.yaml"
    h.update(recipe_file.read_bytes() if recipe_file.is_file() else recipe.encode())
    return h.hexdigest()


def curate_folder(folder: str, recipe: str = "quick", table_format: str = "markdown",
                  max_preview: int = 32) -> tuple[str, torch.Tensor]:
    """The node: ``(table, contact sheet as a 1-image IMAGE batch)``."""
    if table_format not in TABLE_FORMATS:
        raise InputError(f"table_format must be one of {', '.join(TABLE_FORMATS)}; got {table_format!r}")
    from video.comfy.functions import frames_to_comfy
    from video.comfy.host import relayed_warnings

    with relayed_warnings("Curate Clips"):  # the filter's warnings (every clip broken) to ComfyUI's log
        rows, keys = score_folder(folder, recipe)

    return format_table(rows, table_format), frames_to_comfy(contact_sheet(rows, keys, max_preview)[None])
