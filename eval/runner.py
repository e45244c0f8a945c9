"""``evaluate``: every metric that its inputs and weights allow, over a folder of generated
videos, written to ``metrics.json`` and ``report.html``. The CLI and the notebook call this.

A metric whose weights were not given is skipped with a one-line note; a weights path that
does not exist is an error (a typo should not pass as a skipped metric).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from eval.inputs import EvalError, Video, align, load_videos, read_prompts
from eval.reconstruction import reconstruction_metrics
from eval.report import STRIP_VIDEOS, side_by_side, write_metrics, write_report
from eval.temporal import temporal_metrics


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


def aggregate(videos: dict[str, dict]) -> dict:
    """Mean of each scalar metric over the videos where it is finite (inf PSNR is left out and
    counted in ``<metric>_inf``)."""
    out: dict = {"num_videos": len(videos)}
    keys = sorted({k for m in videos.values() for k in m if k not in ("frames", "width", "height", "fps")})
    for k in keys:
        vals = [m[k] for m in videos.values() if isinstance(m.get(k), (int, float))]
        finite = [v for v in vals if math.isfinite(v)]
        if finite:
            out[k] = float(np.mean(finite))
        if len(finite) < len(vals):
            out[f"{k}_inf"] = len(vals) - len(finite)
    return out


def evaluate(generated: str | Path, reference: str | Path | None = None, prompts: str | Path | None = None,
             out: str | Path = "eval_out", i3d: str | None = None, clip: str | None = None,
             videomae: str | None = None, lpips: str | None = None, device: str = "cpu",
             log: Callable[[str], None] = _say) -> dict:
    """Score ``generated`` (a video, a PNG folder, or a folder of them); returns what
    ``metrics.json`` holds: ``videos`` (per-video scalars), ``curves`` (per-frame values),
    ``aggregate`` (means and FVDs), ``notes`` (what was skipped and why)."""
    notes: list[str] = []

    def note(msg: str) -> None:
        notes.append(msg)
        log(f"note: {msg}")

    for flag, path in (("--i3d", i3d), ("--clip", clip), ("--videomae", videomae), ("--lpips", lpips)):
        if path and not Path(path).exists():
            raise EvalError(f"{flag} {path}: not found")
    gen = load_videos(generated)
    refs = {v.name: v for v in load_videos(reference)} if reference else {}
    prompt_of = read_prompts(prompts, [v.name for v in gen]) if prompts else {}

    # load every model first: a bad path fails before minutes of work
    from eval.clip_sim import ClipSim
    from eval.fvd import I3DFeatures, VideoMAEFeatures, features
    from eval.lpips import LPIPS

    clip_model = ClipSim(clip, device) if clip else None
    lpips_model = LPIPS(lpips, device) if lpips and reference else None
    extractors = [e for e in (I3DFeatures(i3d, device=device) if i3d and reference else None,
                              VideoMAEFeatures(videomae, device) if videomae and reference else None) if e]
    if not reference:
        note("psnr, ssim, lpips and fvd skipped: no --reference")
    else:
        if not lpips:
            note("lpips skipped: no weights (--lpips PATH, a TorchScript file)")
        if not i3d:
            note("fvd_i3d skipped: no weights (--i3d PATH, a TorchScript file)")
        if not videomae:
            note("fvd_videomae skipped: no weights (--videomae PATH, a transformers folder)")
    if not clip:
        note("clip_text and clip_frame skipped: no weights (--clip PATH, a transformers folder)")
    elif not prompts:
        note("clip_text skipped: no --prompts")

    videos: dict[str, dict] = {}
    curves: dict[str, dict] = {}
    strips: dict[str, np.ndarray] = {}
    gen_feats: dict[str, list] = {e.name: [] for e in extractors}
    for v in gen:
        f, h, w, _ = v.frames.shape
        m: dict = {"frames": f, "width": w, "height": h, "fps": v.fps}
        m_t, c_t = temporal_metrics(v.frames, v.fps)
        m.update(m_t)
        c = dict(c_t)
        if clip_model is not None:
            m_c, c_c = clip_model.scores(v.frames, prompt_of.get(v.name))
            m.update(m_c)
            c.update(c_c)
        ref = refs.get(v.name)
        if reference and ref is None:
            note(f"{v.name}: no reference video of that name; reconstruction scores skipped")
        ref_frames = None
        if ref is not None:
            g, ref_frames, align_notes = align(v.frames, ref.frames)
            for n in align_notes:
                note(f"{v.name}: {n}")
            m_r, c_r = reconstruction_metrics(g, ref_frames, lpips_model)
            m.update(m_r)
            c.update(c_r)
        for e in extractors:
            gen_feats[e.name].append(e(v.frames))
        videos[v.name], curves[v.name] = m, c
        if len(strips) < STRIP_VIDEOS:
            strips[v.name] = side_by_side(v.frames, ref_frames)

    agg = aggregate(videos)
    for e in extractors:
        if len(gen) < 2 or len(refs) < 2:
            note(f"{e.name} skipped: needs at least 2 generated and 2 reference videos ({len(gen)}, {len(refs)})")
            continue
        from eval.frechet import frechet_distance_of_features

        agg[e.name] = frechet_distance_of_features(np.stack(gen_feats[e.name]),
                                                   features(e, [r.frames for r in refs.values()]))

    result = {"generated": str(generated), "reference": str(reference) if reference else None,
              "prompts": prompt_of, "aggregate": agg, "videos": videos, "curves": curves, "notes": notes}
    out = Path(out)
    write_metrics(result, out / "metrics.json")
    write_report(result, strips, out / "report.html")
    return result


__all__ = ["evaluate", "aggregate", "EvalError", "Video"]
