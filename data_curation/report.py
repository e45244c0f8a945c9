"""``curate report OUT``: one self-contained HTML page (images inlined) to judge a run: the
funnel (clips kept and dropped by reason, each bar with its count), a histogram per score
column (kept vs dropped, clips with errors left out, the filter's bounds drawn), contact sheets
of the middle frames of kept and dropped clips (with their captions), the sources that gave no
clip, and the errors. Needs matplotlib. Plots are SVG with their text as text: sharp at any
zoom, and a count or a bound on them can be searched for in the page."""

from __future__ import annotations

import base64
import html
import io
import math
import os
import re
from pathlib import Path

import numpy as np

from data_curation.manifest import (
    BASE_COLUMNS,
    TAIL_COLUMNS,
    manifest_cell,
    media_bases,
    read_rows,
    recorded_bounds,
    resolve_media,
    summarize,
)
from video.atomic import atomic_file

SHEET = 12
CAPTION_CHARS = 80  # of a caption under its frame; the whole one shows on hover
# a drop reason filtering wrote for a bound: ``column<low`` or ``column>high`` (its ``{:.4g}``)
_BOUND = re.compile(r"(?P<column>[^<>]+)(?P<op>[<>])(?P<value>[^<>]+)")


def _svg(fig) -> str:
    """``fig`` as an SVG data URI, its text kept as text (``svg.fonttype: none``), not glyph
    outlines: a count or a bound on a plot reads sharp at any zoom and can be found in the page.
    The hash salt makes the same figure the same bytes."""
    import matplotlib
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "curate-report"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def applied_bounds(rows: list[dict]) -> dict[str, list[tuple[str, float]]]:
    """Per score column, the bounds the manifest's last filter applied, as ``("min", low)`` /
    ``("max", high)``, read from the drop reasons: :func:`data_curation.filtering.apply_filters`
    writes the bound it compared (``motion_mean<1.156``, a quantile rule's as resolved over the
    manifest, to 4 significant digits). The fallback of :func:`drawn_bounds` for a manifest that
    does not record its bounds (filtered before they were recorded, or re-saved by pandas): a
    rule that dropped no clip (or only clips an earlier rule dropped first) left no reason, so
    no bound."""
    out: dict[str, list[tuple[str, float]]] = {}
    for r in rows:
        m = _BOUND.fullmatch(r.get("drop_reason") or "")
        if m is None:
            continue
        try:
            value = float(m["value"])
        except ValueError:
            continue
        bound = ("min" if m["op"] == "<" else "max", value)
        if bound not in out.setdefault(m["column"], []):
            out[m["column"]].append(bound)
    return out


def drawn_bounds(manifest: str | Path, clips: list[dict]) -> tuple[dict[str, list[tuple[str, float, str]]], bool]:
    """Per score column, the bounds to draw, ``(kind, value, rule as written)``, and whether the
    manifest recorded them: :func:`data_curation.manifest.recorded_bounds`, every bound its last
    filter compared at its exact value, a rule that dropped nothing included. A manifest that
    does not record them falls back to :func:`applied_bounds` (no rule text: the reasons keep
    none)."""
    recorded = recorded_bounds(manifest)
    if recorded is None:
        return {c: [(k, v, "") for k, v in b] for c, b in applied_bounds(clips).items()}, False
    out: dict[str, list[tuple[str, float, str]]] = {}
    for b in recorded:
        bound = (b["kind"], b["value"], b["rule"])
        if math.isfinite(b["value"]) and bound not in out.setdefault(b["column"], []):
            out[b["column"]].append(bound)
    return out, True


def _number(v) -> float | None:
    """A score cell as a plotted number; None for a missing, NaN or non-numeric one."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def _funnel(s: dict) -> str:
    """The funnel as a bar chart with each bar's count beside it (a reader had to guess the
    counts from the axis)."""
    import matplotlib.pyplot as plt

    bars = {"sources failed": s["sources_failed"], "sources without clips": s["sources_without_clips"],
            "clips": s["clips"], "kept": s["kept"], **{f"dropped: {k}": v for k, v in s["dropped"].items()}}
    fig, ax = plt.subplots(figsize=(6, 0.4 * (len(bars) + 1)))
    drawn = ax.barh(list(bars)[::-1], list(bars.values())[::-1], color="#4a7")
    ax.bar_label(drawn, labels=[str(v) for v in list(bars.values())[::-1]], padding=3, fontsize=8)
    ax.margins(x=0.12)  # room for the label of the longest bar
    ax.set_title("funnel (clips = kept + dropped)")
    return _svg(fig)


def _histogram(col: str, kept: list[float], dropped: list[float], bounds: list[tuple[str, float, str]]) -> str:
    """One score's histogram, kept vs dropped stacked, with a dashed line and its value at each
    bound the filter applied on it (:func:`drawn_bounds`); a quantile rule's label names the
    rule, since its value alone does not say where it came from."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2.5))
    bins = np.histogram_bin_edges(kept + dropped, bins=20)
    ax.hist([kept, dropped], bins=bins, stacked=True, label=[f"kept ({len(kept)})", f"dropped ({len(dropped)})"],
            color=["#4a7", "#c55"])
    for kind, value, rule in bounds:
        ax.axvline(value, color="#333", linestyle="--", linewidth=1)  # widens the x range to reach it
        label = f"{kind} {value:.4g}" + (f" ({rule})" if "quantile" in rule else "")
        ax.text(value, 0.97, label + " ", transform=ax.get_xaxis_transform(), rotation=90,
                ha="right", va="top", fontsize=7)
    ax.set_title(col)
    ax.legend(fontsize=7)
    return _svg(fig)


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


def _source_name(row: dict, names: dict[str, str]) -> str:
    return names.get(row["source"], str(row["source"]))


def _clip_name(row: dict, names: dict[str, str]) -> str:
    """A clip as the sheets and the error list name it: its source and span, so that the errors of
    one source's clips read apart (three read as one line repeated) and match their frames on the sheets."""
    return f"{_source_name(row, names)} {row['start_s']:.1f}-{row['end_s']:.1f}s"


def _caption(row: dict) -> str:
    """The clip's caption as HTML for under its frame, shortened to :data:`CAPTION_CHARS` (all
    of it on hover); empty when the manifest has none."""
    text = manifest_cell(row, "caption")
    if not isinstance(text, str):
        return ""
    text = " ".join(text.split())
    short = text if len(text) <= CAPTION_CHARS else text[:CAPTION_CHARS - 1].rstrip() + "\u2026"
    return f'<br><i class=caption title="{html.escape(text)}">{html.escape(short)}</i>'


def _scored_clips(rows: list[dict]) -> list[dict]:
    """The clips the histograms and sheets show: scored without error. A clip with an error was
    dropped by no rule: the histograms counted it dropped while the Dropped sheet said "0 + 4
    with errors"; both leave it out now, and the Errors list names it."""
    return [r for r in rows if r.get("start_frame") is not None and r.get("error") is None]


def _without_clips(rows: list[dict], names: dict[str, str]) -> str:
    """The section naming each source that was read but gave no clip, and why: the funnel counted
    them and nothing named them. Empty when there is none."""
    empty = [r for r in rows if r.get("start_frame") is None and r.get("error") is None]
    if not empty:
        return ""
    return f"<h2>Sources without clips ({len(empty)})</h2><ul>" + "".join(
        f"<li>{html.escape(_source_name(r, names))}: {html.escape(_no_clip_reason(r))}</li>" for r in empty) + "</ul>"


def _no_clip_reason(row: dict) -> str:
    """Why a source that was read gave no clip: split.plan_clips found no shot of the recipe's
    ``split.min_s`` (after ``split.trim_s``), said with the source's length, which the row keeps."""
    frames, fps = row.get("source_frames"), _number(row.get("fps"))
    length = (f" ({frames} frame{'s' * (frames != 1)}, {frames / fps:.2f} s at {fps:g} fps)"
              if isinstance(frames, int) and fps else "")
    return f"{row.get('drop_reason') or 'no_clip'}{length}: no shot as long as the recipe's split.min_s"


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
        cap = html.escape(f"{_clip_name(r, names)} {r['drop_reason'] or ''}".rstrip()) + _caption(r)
        cells.append(f'<figure><img src="{src}"><figcaption>{cap}</figcaption></figure>')
    return f"<h2>{html.escape(title)} ({len(rows)}{note})</h2><div class=sheet>{''.join(cells)}</div>"


def write_report(out: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out)
    manifest = out / "manifest.parquet"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} not found: run `curate run SRC --out {out}` first")
    rows = read_rows(manifest)
    bases = media_bases(manifest)
    s = summarize(rows)
    parts = [f'<h2>Funnel</h2><img src="{_funnel(s)}">']
    score_cols = [k for k in rows[0] if k not in BASE_COLUMNS and k not in TAIL_COLUMNS] if rows else []
    clips = _scored_clips(rows)
    failed = sum(1 for r in rows if r.get("start_frame") is not None) - len(clips)
    bounds, recorded = drawn_bounds(manifest, clips)
    plots = []
    for col in score_cols:
        vals = [(v, r["keep"]) for r in clips if (v := _number(r.get(col))) is not None]
        if vals:
            kept, dropped = [v for v, k in vals if k], [v for v, k in vals if not k]
            plots.append(f'<img src="{_histogram(col, kept, dropped, bounds.get(col, []))}">')
    if plots:
        parts.append(
            f"<h2>Scores</h2><p>Kept and dropped (by a rule, or as a near-duplicate) of the {len(clips)} clips "
            "scored without error" + (f"; the {failed} with errors are left out (listed below)" if failed else "")
            + ". Dashed: the bounds the filter applied (a quantile rule's as resolved over this manifest), "
            + ("every rule's, whether it dropped a clip or not." if recorded else
               "as the drop reasons give them: this manifest does not record its bounds (filtered before they "
               "were recorded, or re-saved by pandas), so a rule that dropped no clip has no line.")
            + "</p>" + "".join(plots))
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
    parts.append(_without_clips(rows, names))
    errors = [r for r in rows if r.get("error")]
    if errors:
        parts.append("<h2>Errors</h2><ul>" + "".join(
            f"<li>{html.escape(_clip_name(r, names) if r.get('start_frame') is not None else _source_name(r, names))}"
            f": {html.escape(r['error'])}</li>" for r in errors) + "</ul>")
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
