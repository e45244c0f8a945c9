"""Writing an evaluation: ``metrics.json`` and a single-file ``report.html`` (plots and frame
strips embedded as base64 PNGs), each written under a temporary name and renamed."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

import numpy as np

from video.atomic import atomic_file

STRIP_FRAMES, STRIP_HEIGHT, STRIP_VIDEOS = 6, 96, 12


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


def _figure(n: int):
    """A grid of ``n`` axes on a bare ``Figure``: no pyplot, so the caller's backend (a
    notebook's inline one) is left alone and nothing stays open."""
    from matplotlib.figure import Figure

    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4 * cols, 2.6 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).flat
    for ax in axes[n:]:
        ax.axis("off")
    return fig, axes


def _fig_base64(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def plot_metrics(videos: dict[str, dict]) -> str | None:
    """One bar chart per scalar metric across videos (base64 PNG), or None when nothing to plot."""
    keys = sorted({k for m in videos.values() for k, v in m.items() if _finite(v) and k not in ("frames", "width", "height", "fps")})
    if not keys:
        return None
    names = list(videos)
    fig, axes = _figure(len(keys))
    for ax, k in zip(axes, keys, strict=False):
        vals = [videos[n].get(k) if _finite(videos[n].get(k)) else np.nan for n in names]
        ax.bar(range(len(names)), vals, color="#4477aa")
        ax.set_title(k)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    fig.tight_layout()
    return _fig_base64(fig)


def plot_curves(curves: dict[str, dict[str, list]]) -> str | None:
    """Per-frame curves (PSNR, SSIM, frame difference, warping error, CLIP) of every video."""
    keys = sorted({k for c in curves.values() for k, v in c.items() if v})
    if not keys:
        return None
    fig, axes = _figure(len(keys))
    for ax, k in zip(axes, keys, strict=False):
        for name, c in curves.items():
            if c.get(k):
                ax.plot([np.nan if v is None else v for v in c[k]], label=name, linewidth=1)
        ax.set_title(k)
        ax.set_xlabel("frame" if k in ("psnr", "ssim", "lpips", "clip_text") else "step")
    if len(curves) <= 8:
        axes[0].legend(fontsize=6)
    fig.tight_layout()
    return _fig_base64(fig)


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
    "flicker": "mean second temporal difference of luma in [0, 1], pixel by pixel (VBench-style, for clips with "
               "little motion): camera or object motion raises it (a steady 4 px/frame pan can score as high as "
               "brightness flickering by +-4 levels), so compare it only between clips of similar motion and read "
               "warp_error (flow-compensated) for moving clips; per frame step: depends on the frame rate, compare "
               "clips of one rate",
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
    "fvd_i3d": "Fréchet distance of I3D features of the first {fvd_frames} frames of each clip, frames squashed "
               "to 224x224; the faster side taken every k-th frame where its rate is k times the other's",
    "fvd_videomae": "Fréchet distance of VideoMAE features of the first frames of each clip (the model's count); "
                    "not on content-debiased FVD's scale (cd-FVD: VideoMAE-v2 fc_norm features)",
}
FVD_KEYS = ("fvd_i3d", "fvd_videomae")


def metric_notes(result: dict) -> list[str]:
    """What the aggregate's headline numbers are, for the keys it holds: a reader comparing with
    a paper needs to know which PSNR, which warp error and which FVD clip length this is."""
    agg = result.get("aggregate", {})
    shown = {k for k in agg} | {k.removesuffix("_inf") for k in agg}
    fill = {"fvd_frames": result.get("fvd_frames", "N")}
    return [f"{k}: {v.format(**fill)}{fvd_sets(agg, k)}" for k, v in METRIC_NOTES.items() if k in shown]


def fvd_sets(agg: dict, key: str) -> str:
    """The videos on each side of an FVD, for its note: its value depends on N (published FVD
    uses 2048 per side), so a number without its N cannot be compared with anything."""
    if key not in FVD_KEYS or f"{key}_n_generated" not in agg:
        return ""
    return (f"; over {agg[f'{key}_n_generated']} generated and {agg[f'{key}_n_reference']} reference videos "
            "(published FVD: 2048 per side; with fewer videos than feature dimensions, not comparable with it)")


def render_html(result: dict, strips: dict[str, np.ndarray]) -> str:
    """The report page: notes, aggregate and per-video tables, plots, frame strips."""
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
    for title, img in (("Metrics", plot_metrics(result.get("videos", {}))),
                       ("Per frame", plot_curves(result.get("curves", {})))):
        if img:
            parts.append(f"<h2>{title}</h2><img alt='{title}' src='data:image/png;base64,{img}'>")
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
