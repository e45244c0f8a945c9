"""The ``curate`` command: probe, cuts, run, filter, report.

User errors (a bad recipe, a SRC that does not exist, an OUT that is a file) print one line
(``--debug`` for the traceback) and exit 2. ``curate run`` exits 1 when it found no video, or
scored clips and every one of them failed (a scorer or its model is broken: the manifest holds
nothing usable). Ctrl-C prints one line and exits 130; rerunning the command resumes.
"""

from __future__ import annotations

import argparse
import json
import sys

from data_curation.probe import discover, probe_row


def _probe(args: argparse.Namespace) -> int:
    failed = 0
    for path in discover(args.paths):
        row = probe_row(path)
        failed += row["error"] is not None
        print(json.dumps(row))
    return 1 if failed else 0


def _cuts(args: argparse.Namespace) -> int:
    from data_curation.cuts import CutParams, detect_shots

    shots = detect_shots(args.video, CutParams(decode=args.decode, threads=args.threads))
    if args.json:
        print(json.dumps({"fps": shots.fps, "num_frames": shots.num_frames, "shots": shots.shots}))
    else:
        for s, e in shots.shots:
            print(f"{s}\t{e}\t{s / shots.fps:.3f}s\t{e / shots.fps:.3f}s")
    return 0


def _run(args: argparse.Namespace) -> int:
    from data_curation.engine import run

    summary = run(args.src, args.out, recipe=args.recipe, overrides=args.set, workers=args.workers,
                  ray_address=args.ray_address, progress=not args.quiet)
    print(json.dumps(summary))
    if not summary["sources"]:
        from data_curation.probe import VIDEO_SUFFIXES

        print(f"curate run: no videos found in {' '.join(args.src)} (looked for {', '.join(sorted(VIDEO_SUFFIXES))})",
              file=sys.stderr)
        return 1
    if summary["changed"]:
        print(f"{summary['changed']} source(s) changed since they were last scored and were scored again",
              file=sys.stderr)
    if summary["failed"]:
        print(f"{summary['failed']} of {summary['sources']} sources failed (see the 'error' column)", file=sys.stderr)
    if summary["clips_failed"]:
        msg, n = next(iter(summary["errors"].items()))
        print(f"{summary['clips_failed']} of {summary['clips']} clips failed scoring (see the 'error' column); "
              f"most often ({n}x): {msg}", file=sys.stderr)
    return 1 if summary["clips"] and summary["clips_failed"] == summary["clips"] else 0


def _filter(args: argparse.Namespace) -> int:
    from data_curation.manifest import refilter

    summary = refilter(args.manifest, args.recipe, args.set)
    print(json.dumps(summary))
    return 0


def _report(args: argparse.Namespace) -> int:
    from data_curation.report import write_report

    print(write_report(args.out))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curate", description="Curate raw footage into a scored clip manifest.")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("probe", help="print one JSON line per video: container, codec, fps, frames, size; "
                                      "unreadable files get an 'error'")
    pr.add_argument("paths", nargs="+", help="video files or folders (searched recursively)")
    pr.set_defaults(fn=_probe)
    cu = sub.add_parser("cuts", help="detect shots (hard cuts, dissolves, fades) in one video")
    cu.add_argument("video")
    cu.add_argument("--json", action="store_true", help='print {"fps", "num_frames", "shots": [[start, end), ...]}')
    cu.add_argument("--decode", choices=["auto", "ref", "all"], default="auto",
                    help="'all' decodes every frame (frame-exact cuts, slowest); 'ref' skips non-reference "
                         "frames; 'auto' (default) also skips the other B-frames where a check shows that is "
                         "exact for the file. Sparse modes give the few frames around a cut to neither shot")
    cu.add_argument("--threads", type=int, default=0,
                    help="decoders at once, each on a piece of the file between keyframes (default 0: one per core)")
    cu.set_defaults(fn=_cuts)
    ru = sub.add_parser("run", help="cut, split, score and filter every video under SRC into OUT/manifest.parquet")
    ru.add_argument("src", nargs="+", help="video files or folders")
    ru.add_argument("--out", required=True, help="output folder (manifest, parts, clips); nothing is written elsewhere")
    ru.add_argument("--recipe", default="quick", help="a name under configs/curate/ or a YAML path")
    ru.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="recipe overrides")
    ru.add_argument("--workers", type=int, default=None,
                    help="Ray CPUs (default: all cores); 0 runs in this process without Ray")
    ru.add_argument("--ray-address", default=None, help="join an existing Ray cluster")
    ru.add_argument("--quiet", action="store_true", help="no progress bars")
    ru.set_defaults(fn=_run)
    fi = sub.add_parser("filter", help="re-apply a recipe's filters to a manifest without re-scoring")
    fi.add_argument("manifest")
    fi.add_argument("--recipe", required=True)
    fi.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    fi.set_defaults(fn=_filter)
    re_ = sub.add_parser("report", help="write OUT/report.html: score histograms, funnel, contact sheets")
    re_.add_argument("out")
    re_.set_defaults(fn=_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        again = "; rerun the same command to resume (finished sources are kept)" if args.command == "run" else ""
        print(f"curate {args.command}: interrupted{again}", file=sys.stderr)
        return 130
    except Exception as e:
        from video.config import ConfigError
        from video.media import MediaError

        if args.debug or not isinstance(e, (MediaError, ConfigError, ValueError, OSError)):
            raise
        print(f"curate {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
