"""Writing an evaluation: ``metrics.json`` and a single-file ``report.html`` (plots and frame
strips embedded as base64 PNGs), each written under a temporary name and renamed."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from data_curation.probe import readable_path
from video.atomic import atomic_file
from video.media import plural

if TYPE_CHECKING:  # matplotlib loads when a plot is made: `video eval` names it, if missing, in one line
    from matplotlib.figure import Figure

STRIP_FRAMES, STRIP_HEIGHT, STRIP_VIDEOS = 6, 96, 12
MAX_NAMED_VIDEOS = 60  # bar plots name each video up to this many; past it, rows by table order
LEGEND_ROWS = 25  # names per legend column of the per-frame plots


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (str: UTF-8) through the project's atomic writer (``video.atomic``): never
    a half file, and the modes the umask gives any new file, as every other output has (a bare
    ``mkstemp`` left metrics.json and report.html at its private 0600)."""
    path = Path(path)
    with atomic_file(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def json_safe(x):
    """inf/NaN (identical frames give inf PSNR) become null: JSON has no such numbers."""
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def readable_text(x):
    """``x`` with every string, dict keys included, as :func:`data_curation.probe.readable_path`
    writes it (curate's convention): a file name that is not UTF-8 (``bad\\xff.mp4``) keeps bytes
    that no UTF-8 file, plot label or page can hold; each is written ``\\xNN`` instead."""
    if isinstance(x, dict):
        return {readable_text(k): readable_text(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [readable_text(v) for v in x]
    return readable_path(x) if isinstance(x, str) else x


def write_metrics(result: dict, path: str | Path) -> Path:
    return write_atomic(path, json.dumps(json_safe(result), indent=2, allow_nan=False) + "\n")


def strip_indices(num_frames: int, n: int = STRIP_FRAMES) -> np.ndarray:
    """``n`` evenly spaced frame indices of a ``num_frames``-frame video (all of a shorter one)."""
    return np.linspace(0, num_frames - 1, min(n, num_frames)).round().astype(int)


def strip(frames: np.ndarray, n: int = STRIP_FRAMES, height: int = STRIP_HEIGHT,
          indices: np.ndarray | None = None) -> np.ndarray:
    """``n`` evenly spaced frames (or those at ``indices``) side by side (2 px white gaps), scaled
    to ``height`` px: uint8 (height, W, 3)."""
    from PIL import Image

    idx = strip_indices(len(frames), n) if indices is None else indices
    h, w = frames.shape[1:3]
    size = (max(1, round(w * height / h)), height)
    gap = np.full((height, 2, 3), 255, np.uint8)
    tiles = [np.asarray(Image.fromarray(frames[i]).resize(size, Image.Resampling.BILINEAR)) for i in idx]
    return np.concatenate([x for t in tiles for x in (t, gap)][:-1], axis=1)


def side_by_side(gen: np.ndarray, ref: np.ndarray | None) -> np.ndarray:
    """Generated strip over the reference strip, 4 px white gap. Both show the same frame
    indices, spread over the frames they share (the ones the scores compare): spread over each
    video's own length, frame 5 of one would sit above frame 3 of a shorter other."""
    if ref is None:
        return strip(gen)
    idx = strip_indices(min(len(gen), len(ref)))
    top, bottom = strip(gen, indices=idx), strip(ref, indices=idx)
    w = max(top.shape[1], bottom.shape[1])
    pad = [np.pad(s, ((0, 0), (0, w - s.shape[1]), (0, 0)), constant_values=255) for s in (top, bottom)]
    return np.concatenate([pad[0], np.full((4, w, 3), 255, np.uint8), pad[1]], axis=0)


def png_base64(image: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


GLYPH_WARNING = r"Glyph \d+ .* missing from font"  # matplotlib's, once per glyph per draw


@contextmanager
def quiet_glyphs() -> Iterator[None]:
    """Drawing without matplotlib's missing-glyph warnings: a video named in a script its font
    lacks (CJK under DejaVu Sans) gave about six a run, burying the run's own notes. Such a name
    draws as boxes in a plot; the tables and headings show it as it is."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=GLYPH_WARNING, category=UserWarning)
        yield


def _grid(fig: Figure, n: int, cols: int, **kw) -> np.ndarray:
    """``n`` axes in rows of ``cols``; the unused cells of the last row removed, not left blank."""
    axes = fig.subplots(math.ceil(n / cols), cols, squeeze=False, **kw)
    for ax in axes.flat[n:]:
        ax.remove()
    return axes


def fig_png_base64(fig: Figure) -> str:
    """A figure as a base64 PNG for the report's ``<img>`` tags."""
    buf = io.BytesIO()
    with quiet_glyphs():
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _number(v) -> bool:
    """A value a plot can place (inf included: it is labelled): not None, NaN, a bool or text."""
    return isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) and not math.isnan(v)


def _name(name) -> str:
    return readable_path(str(name))


def plot_metrics(videos: dict[str, dict]) -> Figure | None:
    """One horizontal bar panel per score (:func:`is_score`), its unit (:data:`METRIC_UNITS`) on
    the axis, the videos down the shared y axis, first on top as in the table; None when no score
    has a value. An infinite value (PSNR of frames identical to the reference) is written "inf
    (identical)": it has no bar, and an empty bar reads as 0, the worst score. Past
    :data:`MAX_NAMED_VIDEOS` the rows are numbered in table order instead of named."""
    keys = sorted({k for m in videos.values() for k, v in m.items() if is_score(k) and _number(v)})
    if not keys:
        return None
    from matplotlib.figure import Figure

    names, n = [_name(v) for v in videos], len(videos)
    named = n <= MAX_NAMED_VIDEOS
    cols, row_height = min(4, len(keys)), min(1.2 + 0.25 * n, 12.0)
    label_width = 0.07 * max(map(len, names)) if named else 0.0
    fig = Figure(figsize=(2.8 * cols + label_width, row_height * math.ceil(len(keys) / cols)))
    axes = _grid(fig, len(keys), cols, sharey=True)
    y = np.arange(n)
    for ax, k in zip(axes.flat, keys, strict=False):
        v = np.array([float(m[k]) if _number(m.get(k)) else np.nan for m in videos.values()])
        shown = np.isfinite(v)
        ax.barh(y[shown], v[shown], color="#4477aa")
        for i in np.flatnonzero(np.isinf(v)):
            ax.text(0.03, y[i], "inf (identical)" if v[i] > 0 else "-inf", transform=ax.get_yaxis_transform(),
                    va="center", fontsize=8)
        if not shown.any():
            ax.set_xticks([])
        ax.set_title(k)
        ax.set_xlabel(METRIC_UNITS.get(k, "value"), fontsize=8)
    if named:
        axes[0, 0].set_yticks(y, names)
    for ax in axes[:, 0]:
        ax.set_ylabel("video" if named else "video (row of the table, from 0)")
        ax.tick_params(axis="y", labelsize=7)
    axes[0, 0].set_ylim(n - 0.5, -0.5)  # the first video on top, as in the table
    with quiet_glyphs():
        fig.tight_layout()
    return fig


def _colours(n: int) -> list:
    """One colour per video, the same in every panel: tab10/tab20 while they last, then viridis."""
    from matplotlib import colormaps

    if n <= 20:
        cmap = colormaps["tab10" if n <= 10 else "tab20"]
        return [cmap(i) for i in range(n)]
    return list(colormaps["viridis"](np.linspace(0, 1, n)))


STEP_AXIS = "frame (step i to i+1 drawn at i + 0.5)"


def plot_curves(curves: dict[str, dict[str, list]]) -> Figure | None:
    """Per-frame curves of every video, one panel per metric, its unit on the y axis; None when
    there are none. A per-frame score (PSNR, SSIM, LPIPS, clip_text) sits on its frame; a step
    score (:data:`STEP_METRICS`, frame i to i + 1) at i + 0.5, between the two. One legend for
    the figure, beside the panels, in columns (:data:`LEGEND_ROWS` names each): a video missing
    from the first panel is still named, and many videos do not cover the curves."""
    keys = sorted({k for c in curves.values() for k, v in c.items() if v})
    if not keys:
        return None
    from matplotlib.figure import Figure

    cols = min(3, len(keys))
    fig = Figure(figsize=(4 * cols, 3 * math.ceil(len(keys) / cols)))
    axes = _grid(fig, len(keys), cols)
    lines: dict[str, object] = {}
    for ax, k in zip(axes.flat, keys, strict=False):
        for (name, c), colour in zip(curves.items(), _colours(len(curves)), strict=True):
            if c.get(k):
                x = np.arange(len(c[k])) + (0.5 if k in STEP_METRICS else 0.0)
                (lines[name],) = ax.plot(x, [np.nan if v is None else v for v in c[k]], color=colour, linewidth=1)
        ax.set_title(k)
        ax.set_xlabel(STEP_AXIS if k in STEP_METRICS else "frame")
        ax.set_ylabel(METRIC_UNITS.get(k, "value"))
    with quiet_glyphs():
        fig.tight_layout()
    named = [n for n in curves if n in lines]
    fig.legend([lines[n] for n in named], [_name(n) for n in named], loc="upper left", bbox_to_anchor=(1.0, 1.0),
               fontsize=6, ncols=math.ceil(len(named) / LEGEND_ROWS), title="video", title_fontsize=7, frameon=False)
    return fig


def strip_figure(name: str, image: np.ndarray) -> Figure:
    """A frame strip (:func:`side_by_side`) titled with its video's name, for the notebook."""
    from matplotlib.figure import Figure

    h, w = image.shape[:2]
    fig = Figure(figsize=(12, min(12.0, 12 * h / w + 0.4)))
    ax = fig.subplots()
    ax.imshow(image)
    ax.set_title(_name(name))
    ax.axis("off")
    return fig


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.4g}"
    return html.escape(str(v))


def _table(rows: dict[str, dict]) -> str:
    cols = sorted({k for r in rows.values() for k in r})
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["video", *cols])
    body = "".join("<tr><td>" + html.escape(n) + "</td>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols)
                   + "</tr>" for n, r in rows.items())
    return f"<table><tr>{head}</tr>{body}</table>"


METRIC_NOTES = {
    "psnr": "mean of per-frame PSNR (dB) against the reference; frames identical to it (inf) are left out and "
            "counted in psnr_inf_frames",
    "psnr_whole_clip": "PSNR (dB) of the whole clip's MSE, the number a VAE's reconstruction loss tracks",
    "ssim": "mean of per-frame SSIM (Gaussian window, as scikit-image)",
    "warp_error": "mean |warped previous frame - frame| per RGB channel in [0, 1], occluded pixels left out, "
                  "flow at 128 px: not on the scale of Lai et al.'s E_warp; per frame step, so it depends on the "
                  "frame rate (about 2-3x higher at a third of it): compare clips of one rate",
    "frame_diff": "mean |frame - previous frame| of luma in [0, 1]; per frame step: depends on the frame rate, "
                  "compare clips of one rate",
    "flicker": "mean |frame t+1 - 2 frame t + frame t-1| of luma in [0, 1], the second temporal difference over "
               "two frame steps, pixel by pixel (VBench-style, for clips with little motion): camera or object motion "
               "raises it (a steady 4 px/frame pan can score as high as brightness flickering by +-4 levels), so "
               "compare it only between clips of similar motion and read warp_error (flow-compensated) for moving "
               "clips; per frame steps: depends on the frame rate, compare clips of one rate",
    "motion": "curation's motion_mean: mean Farneback flow magnitude, px of the full-scale grey frame at 64 px "
              "short side per 0.5 s at any frame rate (frames sampled by time as curation samples 2 fps, each "
              "pair's flow scaled by its real time apart); none for clips without a frame rate (PNG frames)",
    "lpips": "mean of per-frame LPIPS distances from the --lpips TorchScript file (0: identical; on that "
             "network's scale: AlexNet and VGG LPIPS differ)",
    "clip_text": "mean over frames of the cosine similarity of CLIP image and text embeddings, -1..1: not x100 and "
                 "not clamped at 0 as CLIPScore is; the prompt is scored as plain text, its weight syntax removed "
                 "((red:1.3) -> red; [a:b:t] -> its text at the last of 20 steps, as `video prompt` shows it; AND "
                 "terms joined with ', ')",
    "clip_frame": "mean cosine similarity of CLIP image embeddings of consecutive frames, -1..1; per frame step: "
                  "depends on the frame rate, compare clips of one rate",
    "fvd_i3d": "Fréchet distance of I3D features of the first {fvd_frames} of each clip, frames squashed "
               "to 224x224; the faster side taken every k-th frame where its rate is k times the other's",
    "fvd_videomae": "Fréchet distance of VideoMAE features of the first frames of each clip (the model's count); "
                    "not on content-debiased FVD's scale (cd-FVD: VideoMAE-v2 fc_norm features)",
}
FVD_KEYS = ("fvd_i3d", "fvd_videomae")
# each score's unit, on the plots' axes (the notes above say how each is measured); flicker's
# second difference spans frames t-1, t, t+1
METRIC_UNITS = {
    "psnr": "dB", "psnr_whole_clip": "dB", "ssim": "unitless, 1 = identical", "lpips": "distance, 0 = identical",
    "frame_diff": "luma 0..1, per frame step", "warp_error": "RGB 0..1, per frame step",
    "flicker": "luma 0..1, 2nd difference over 2 frame steps", "motion": "px per 0.5 s at 64 px short side",
    "clip_text": "cosine, -1..1", "clip_frame": "cosine, -1..1, per frame step",
    "fvd_i3d": "Fréchet distance", "fvd_videomae": "Fréchet distance",
}
# curves with one value per step from frame i to i + 1 (the others: one per frame)
STEP_METRICS = frozenset({"frame_diff", "warp_error", "clip_frame"})
NOT_SCORES = ("frames", "width", "height", "fps")  # a video's size and rate, beside its scores


def is_score(key: str) -> bool:
    """Whether a per-video key is a score to plot: not a size or rate (:data:`NOT_SCORES`), and
    not a count of frames identical to the reference (``psnr_inf_frames``)."""
    return key not in NOT_SCORES and not key.endswith("_inf_frames")


def metric_notes(result: dict) -> list[str]:
    """What the aggregate's headline numbers are, for the keys it holds: a reader comparing with
    a paper needs to know which PSNR, which warp error and which FVD clip length this is."""
    agg = result.get("aggregate", {})
    shown = {k for k in agg} | {k.removesuffix("_inf") for k in agg}
    n = result.get("fvd_frames")
    fill = {"fvd_frames": plural(n, "frame") if isinstance(n, int) else "N frames"}
    return [f"{k}: {v.format(**fill)}{fvd_sets(agg, k)}" for k, v in METRIC_NOTES.items() if k in shown]


def fvd_sets(agg: dict, key: str) -> str:
    """The videos on each side of an FVD, for its note: its value depends on N (published FVD
    uses 2048 per side), so a number without its N cannot be compared with anything."""
    if key not in FVD_KEYS or f"{key}_n_generated" not in agg:
        return ""
    return (f"; over {agg[f'{key}_n_generated']} generated and {agg[f'{key}_n_reference']} reference videos "
            "(published FVD: 2048 per side; with fewer videos than feature dimensions, not comparable with it)")


def render_html(result: dict, strips: dict[str, np.ndarray]) -> str:
    """The report page: notes, aggregate and per-video tables, plots, frame strips; names that
    are not UTF-8 written as :func:`readable_text` writes them (UTF-8 cannot hold them)."""
    result, strips = readable_text(result), {readable_path(k): v for k, v in strips.items()}
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>video eval</title><style>"
             "body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}"
             "img{max-width:100%}.note{color:#855}</style></head><body>",
             f"<h1>Evaluation of {html.escape(str(result.get('generated', '')))}</h1>"]
    if result.get("reference"):
        parts.append(f"<p>reference: {html.escape(str(result['reference']))}</p>")
    if result.get("notes"):
        parts.append("<ul>" + "".join(f"<li class='note'>{html.escape(n)}</li>" for n in result["notes"]) + "</ul>")
    parts += ["<h2>Aggregate</h2>", _table({"all": result.get("aggregate", {})})]
    if metric_notes(result):
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in metric_notes(result)) + "</ul>")
    parts += ["<h2>Per video</h2>", _table(result.get("videos", {}))]
    for title, fig in (("Metrics", plot_metrics(result.get("videos", {}))),
                       ("Per frame", plot_curves(result.get("curves", {})))):
        if fig is not None:
            parts.append(f"<h2>{title}</h2><img alt='{title}' src='data:image/png;base64,{fig_png_base64(fig)}'>")
    if strips:
        parts.append("<h2>Frames</h2><p>top: generated; bottom: reference (where there is one), the same frames "
                     "of each: evenly spaced over the frames both have</p>")
        for name, s in strips.items():
            parts.append(f"<h3>{html.escape(name)}</h3><img alt='{html.escape(name)}' "
                         f"src='data:image/png;base64,{png_base64(s)}'>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_report(result: dict, strips: dict[str, np.ndarray], path: str | Path) -> Path:
    return write_atomic(path, render_html(result, strips))
