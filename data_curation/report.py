"""``curate report OUT``: one self-contained HTML page (images inlined) to judge a run: the
funnel (clips kept and dropped by reason), a histogram per score column (kept vs dropped), and
contact sheets of the middle frames of kept and dropped clips. Needs matplotlib."""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import numpy as np

from data_curation.manifest import (
    BASE_COLUMNS,
    TAIL_COLUMNS,
    media_bases,
    read_rows,
    resolve_media,
    summarize,
)
from video.atomic import atomic_file

SHEET = 12


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _fs_name(path: str) -> str:
    """A manifest's path (UTF-8 text, as Parquet stores it) as this process names the file: under
    a C or POSIX locale Python's file names are ASCII with the other bytes escaped, and a source
    named ``ünïcödé.mp4`` could not be opened ("'ascii' codec can't encode"). The same text
    elsewhere."""
    return os.fsdecode(path.encode("utf-8", "surrogateescape"))


def _middle_frame(row: dict, bases: list[Path], failures: list[str], names: dict[str, str]) -> np.ndarray | None:
    """The clip's middle frame, from its source: the frame on screen at that slot of the
    manifest's frame grid (:func:`video.media.read_grid_frames`, as training reads clips). On a
    variable-rate source a slot can have no frame of its own; the one before it is held there
    (reading the slot alone found nothing, and the clip was left off the sheet). A relative
    source path is looked for in ``bases`` (:func:`data_curation.manifest.media_bases`, as
    training looks: a moved project still finds its media). A source that is gone falls back to
    the clip's extracted file (``split.extract``: the raw footage is often deleted or archived
    once clips exist; the sheet said the frame "could not be read" though the clip was there),
    whose frame 0 is the clip's first."""
    from video.media import read_grid_frames

    mid = (row["start_frame"] + row["end_frame"]) // 2
    src = _fs_name(str(resolve_media(row["source"], None, (), bases)))
    path, index = src, mid
    clip = row.get("clip_path")
    if not os.path.exists(src) and isinstance(clip, str) and clip:
        clip_file = _fs_name(str(resolve_media(clip, None, (), bases)))
        if os.path.isfile(clip_file):
            path, index = clip_file, mid - row["start_frame"]
    try:
        return read_grid_frames(path, [index], row["fps"])[0]
    except Exception as e:
        failures.append(f"{names.get(row['source'], row['source'])}: {e}")
        return None


def _short_names(sources: list[str]) -> dict[str, str]:
    """Each source path as the report shows it: relative to the sources' common folder, so that
    ``a/clip.mp4`` and ``b/clip.mp4`` stay apart (the bare file name showed both as ``clip.mp4``)
    while a long absolute prefix they all share is left out. Sources with no common folder
    (absolute and relative mixed) are shown whole."""
    unique = sorted(set(sources))
    try:
        common = os.path.commonpath([os.path.dirname(os.path.normpath(p)) or "." for p in unique]) if unique else ""
    except ValueError:
        return {p: p for p in unique}
    return {p: os.path.relpath(os.path.normpath(p), common or ".") for p in unique}


def _sheet(rows: list[dict], title: str, bases: list[Path], failures: list[str], names: dict[str, str],
           note: str = "") -> str:
    cells = []
    for r in rows[:SHEET]:
        f = _middle_frame(r, bases, failures, names)
        if f is None:
            continue
        from PIL import Image

        im = Image.fromarray(f)
        im.thumbnail((240, 240))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=80)
        src = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
        cap = html.escape(f"{names.get(r['source'], r['source'])} {r['start_s']:.1f}-{r['end_s']:.1f}s {r['drop_reason'] or ''}")
        cells.append(f'<figure><img src="{src}"><figcaption>{cap}</figcaption></figure>')
    return f"<h2>{html.escape(title)} ({len(rows)}{note})</h2><div class=sheet>{''.join(cells)}</div>"


def write_report(out: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    manifest = out / "manifest.parquet"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} not found: run `curate run SRC --out {out}` first")
    rows = read_rows(manifest)
    bases = media_bases(manifest)
    s = summarize(rows)
    bars = {"sources failed": s["sources_failed"], "sources without clips": s["sources_without_clips"],
            "clips": s["clips"], "kept": s["kept"], **{f"dropped: {k}": v for k, v in s["dropped"].items()}}
    fig, ax = plt.subplots(figsize=(6, 0.4 * (len(bars) + 1)))
    ax.barh(list(bars)[::-1], list(bars.values())[::-1], color="#4a7")
    ax.set_title("funnel (clips = kept + dropped)")
    parts = [f'<h2>Funnel</h2><img src="{_png(fig)}">']
    score_cols = [k for k in rows[0] if k not in BASE_COLUMNS and k not in TAIL_COLUMNS] if rows else []
    for col in score_cols:
        vals = [(r[col], r["keep"]) for r in rows if isinstance(r.get(col), (int, float)) and r[col] == r[col]]
        if not vals:
            continue
        fig, ax = plt.subplots(figsize=(4, 2.5))
        kept = [v for v, k in vals if k]
        dropped = [v for v, k in vals if not k]
        bins = np.histogram_bin_edges([v for v, _ in vals], bins=20)
        ax.hist([kept, dropped], bins=bins, stacked=True, label=["kept", "dropped"], color=["#4a7", "#c55"])
        ax.set_title(col)
        ax.legend(fontsize=7)
        parts.append(f'<img src="{_png(fig)}">')
    clips = [r for r in rows if r.get("start_frame") is not None and r.get("error") is None]
    failed = sum(1 for r in rows if r.get("start_frame") is not None and r.get("error") is not None)
    failures: list[str] = []
    names = _short_names([r["source"] for r in rows if isinstance(r.get("source"), str)])
    parts.append(_sheet([r for r in clips if r["keep"]], "Kept", bases, failures, names))
    parts.append(_sheet([r for r in clips if not r["keep"]], "Dropped", bases, failures, names,
                        f" + {failed} with errors, listed below" if failed else ""))
    if failures:
        import warnings

        warnings.warn(f"{len(failures)} contact-sheet frame(s) could not be read, first: {failures[0]}", stacklevel=2)
        parts.append(f"<p>{len(failures)} frame(s) could not be read from their sources, first: "
                     f"{html.escape(failures[0])}</p>")
    errors = [r for r in rows if r.get("error")]
    if errors:
        parts.append("<h2>Errors</h2><ul>" + "".join(
            f"<li>{html.escape(names.get(r['source'], str(r['source'])))}: {html.escape(r['error'])}</li>" for r in errors) + "</ul>")
    page = ("<!doctype html><meta charset=utf-8><title>curation report</title><style>body{font-family:sans-serif}"
            ".sheet{display:flex;flex-wrap:wrap}figure{margin:4px;font-size:11px;width:240px}</style>"
            f"<h1>Curation report: {html.escape(str(out))}</h1><p>{s['clips']} clips, {s['kept']} kept</p>"
            + "".join(parts))
    dest = out / "report.html"
    # by video.atomic, as other outputs are written: a temporary per writer (two reports at once
    # no longer share one name), and the next report deletes what a killed one left behind
    with atomic_file(dest) as tmp:
        # UTF-8, as the page declares, whatever the locale (a C locale wrote ASCII and failed on
        # the first accented name); a name this process holds escaped goes back to its own bytes
        tmp.write_text(page, encoding="utf-8", errors="surrogateescape")
    return dest
