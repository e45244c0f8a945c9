"""The ``curate`` command: probe, cuts, run, filter, report.

User errors (a bad recipe, a SRC that does not exist, an OUT that is a file) print one line
(``--debug`` for the traceback) and exit 2, and so does a missing package of the ``.[curate]``
extra (one line naming it and the pip command; checked before any work, nothing written).
``curate run`` exits 1 when it found no video (one line, nothing written), when every source
failed (nothing could be read: no file a video), or when it scored clips and every one of them failed (a scorer or its model
is broken): the manifest then holds nothing usable; and when a Ray task's part file did not reach
OUT (a cluster's node that does not share it). ``curate probe`` exits 1 when any file has
an ``error``, or when it found no video (the same one line as ``curate run``). Ctrl-C prints
one line and exits 130, and so does SIGTERM; rerunning the command resumes (not when it came
while joining the Ray cluster at ``--ray-address``: that line says to check it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from pathlib import Path

from data_curation.probe import discover, probe_row


def no_videos_line(command: str, paths: list[str]) -> str:
    """The one stderr line of ``curate probe`` and ``curate run`` when the paths given hold no
    video (a wrong folder, most likely): said, not an empty output and exit 0."""
    from data_curation.probe import VIDEO_SUFFIXES

    return f"curate {command}: no videos found in {' '.join(paths)} (looked for {', '.join(sorted(VIDEO_SUFFIXES))})"


# the ``.[curate]`` extra's import names, each with the package pip installs (pyproject.toml)
CURATE_EXTRA = {"cv2": "opencv-python-headless", "ray": "ray", "pandas": "pandas", "pyarrow": "pyarrow",
                "imagehash": "imagehash", "rapidocr_onnxruntime": "rapidocr_onnxruntime", "shapely": "shapely",
                "matplotlib": "matplotlib"}
# what each command imports whatever its input (Ray aside: require_ray says its own line)
COMMAND_NEEDS = {"probe": ("cv2",), "cuts": ("cv2",), "run": ("cv2", "pyarrow", "pandas"),
                 "filter": ("pyarrow", "pandas"), "report": ("pyarrow", "pandas", "matplotlib")}
# what a recipe's scorers import on their first clip (each failed clip an error row, before)
SCORER_NEEDS = {"motion": ("cv2",), "sharpness": ("cv2",), "phash": ("imagehash",),
                "ocr": ("rapidocr_onnxruntime", "shapely", "cv2")}


def missing_extra(command: str, e: ImportError) -> str | None:
    """The one stderr line for a ``.[curate]`` package that is not installed, or installed but
    failing to load (a missing libGL.so.1: its own message, since "pip install" would answer
    "already satisfied"), else None (any other ImportError is a bug: it keeps its traceback).
    Before, ``curate probe``/``cuts``/``report`` ended in a ModuleNotFoundError traceback."""
    top = (e.name or "").split(".")[0]
    if top not in CURATE_EXTRA:
        return None
    if not isinstance(e, ModuleNotFoundError) or e.name != top:
        return f"curate {command} could not import {top} ({CURATE_EXTRA[top]}), which is installed: {e}"
    return f'curate {command} needs the {CURATE_EXTRA[top]} package (import {top}): pip install -e ".[curate]"'


def require_modules(names) -> None:
    """Import each of ``names`` before any work, so that a missing package is an ImportError
    (:func:`missing_extra`'s one line) up front, not a traceback after some output, nor
    (``curate run``) a manifest of error rows, one per source."""
    import importlib

    for name in dict.fromkeys(names):
        importlib.import_module(name)


def _probe(args: argparse.Namespace) -> int:
    failed, found, seen = 0, False, set()
    for path in discover(args.paths):
        found = True
        if os.path.abspath(path) in seen:  # named twice (src, ./src/a.mp4): one line, as run scores it once
            continue
        seen.add(os.path.abspath(path))
        row = probe_row(path)
        failed += row["error"] is not None
        print(json.dumps(row))
    if not found:
        print(no_videos_line("probe", args.paths), file=sys.stderr)
        return 1
    return 1 if failed else 0


def _cuts(args: argparse.Namespace) -> int:
    from data_curation.cuts import CutParams, detect_shots
    from data_curation.engine import source_error
    from data_curation.probe import empty_error
    from video.media import MediaError, probe_video

    if (empty := empty_error(args.video)) is not None:
        raise MediaError(empty)
    info = probe_video(args.video)  # first: a missing file or a folder said so, not "not a readable video"
    shots = detect_shots(args.video, CutParams(decode=args.decode, threads=args.threads))
    # what ``curate run`` makes an error row of (truncated, an image, a broken time base): said
    # on stderr, in run's words, so that the shots printed are not taken at face value
    if (why := source_error(args.video, info, shots)) is not None:
        warnings.warn(why.removeprefix("MediaError: ") + " (curate run marks this source as an error)", stacklevel=1)
    if args.json:
        print(json.dumps({"fps": shots.fps, "num_frames": shots.num_frames, "shots": shots.shots}))
    else:
        for s, e in shots.shots:
            print(f"{s}\t{e}\t{s / shots.fps:.3f}s\t{e / shots.fps:.3f}s")
    return 0


def check_src_words(src: list[str]) -> None:
    """A FileNotFoundError, before the recipe loads, for a SRC that does not exist and reads as a
    recipe override (``curate run src split.max_s=5``: KEY=VALUE with a recipe key): it said only
    ``SRC split.max_s=5 not found``; recipe keys go after ``--set``."""
    from data_curation.recipe import Recipe
    from video.flags import schema_keys

    keys = None
    for word in src:
        if _OVERRIDE.match(word) and not os.path.exists(word):
            keys = schema_keys(Recipe) if keys is None else keys
            if word.partition("=")[0] in keys:
                raise FileNotFoundError(f"SRC {word} not found; use --set {word} for recipe keys")


def _run(args: argparse.Namespace) -> int:
    from data_curation.engine import run

    check_src_words(args.src)
    recipe = _check_run_packages(args)
    summary = run(args.src, args.out, recipe=args.recipe, overrides=args.set or [], workers=args.workers,
                  ray_address=args.ray_address, progress=not args.quiet)
    if not summary["sources"]:  # run() wrote nothing: the one line is all there is to say
        print(no_videos_line("run", args.src), file=sys.stderr)
        return 1
    print(json.dumps(summary))
    if summary["changed"]:
        print(f"{summary['changed']} source(s) changed since they were last scored and were scored again",
              file=sys.stderr)
    if summary["retried"]:
        print(f"{summary['retried']} source(s) that failed last time, whole or in some of their clips, for a "
              "reason other than their content were tried again", file=sys.stderr)
    if line := failure_line(summary):
        print(line, file=sys.stderr)
    if line := no_clips_line(summary, recipe.split):
        print(line, file=sys.stderr)
    if summary.get("parts_missing"):
        print(f"{summary['parts_missing']} source(s) were scored by Ray workers whose part files are not in "
              f"{Path(args.out) / 'parts'} here: the cluster's workers must see SRC and OUT at the same absolute "
              "paths (a shared filesystem); a rerun tries them again", file=sys.stderr)
    return run_exit_code(summary)


def _check_run_packages(args: argparse.Namespace):
    """The packages of every run and of the recipe's scorers, imported before OUT is made: a
    missing one wrote a manifest of error rows ("1 of 1 sources failed ... No module named
    'cv2'") with no install line. Returns the recipe, loaded for its scorers; run loads it again
    and says its warnings then (here they are held back: each would be said twice)."""
    from data_curation.recipe import load_recipe

    require_modules(COMMAND_NEEDS["run"])  # load_recipe's checks read pyarrow's types
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recipe = load_recipe(args.recipe, args.set or [])
    require_modules(m for n in recipe.scorers for m in SCORER_NEEDS.get(n, ()))
    return recipe


def no_clips_line(summary: dict, split) -> str | None:
    """The one stderr line of a run that found sources but cut no clip from any, counted by why:
    sources with no shot as long as ``split.min_s`` (``split``: the recipe's SplitConfig) and
    sources that failed. None when there are clips. Such a run exited 0 with only ``"clips": 0``
    in the JSON; its exit status stays :func:`run_exit_code`'s."""
    if summary["clips"] or not summary["sources"]:
        return None
    said = []
    if n := summary["sources_without_clips"]:
        trim = f" after trimming split.trim_s={split.trim_s:g} s at each end" if split.trim_s else ""
        said.append(f"{n} source{'s' if n > 1 else ''} without a shot of split.min_s={split.min_s:g} s or longer"
                    f"{trim}")
    if n := summary["failed"]:
        said.append(f"{n} source{'s' if n > 1 else ''} failed")
    return f"no clips: {', '.join(said) or 'none of the sources gave one'}"


def run_exit_code(summary: dict) -> int:
    """``curate run``'s exit status: 1 when the manifest holds nothing usable
    (:func:`all_failed`) or when Ray tasks' parts did not reach OUT (they count as failed
    sources; before, such a run exited 0 with an empty manifest), else 0."""
    return 1 if all_failed(summary) or summary.get("parts_missing") else 0


ERRORS_LISTED = 3  # how many messages the summary's ``errors`` holds (engine.error_counts' ``top``)


def failure_line(summary: dict) -> str | None:
    """The one stderr line of a run with failures: how many sources and clips failed, and the
    most frequent error (without paths: the same cause of many files is counted once); None
    when nothing failed."""
    said = []
    if summary["failed"]:
        said.append(f"{summary['failed']} of {summary['sources']} sources failed")
    if summary["clips_failed"]:
        said.append(f"{summary['clips_failed']} of {summary['clips']} clips failed scoring")
    if not said:
        return None
    line = f"{' and '.join(said)} (see the 'error' column)"
    counts = list(summary["errors"].items())  # the few most frequent, most frequent first
    if counts:
        n = counts[0][1]
        tied = [m for m, c in counts if c == n]
        if len(tied) == 1:
            line += f"; most often ({n}x): {tied[0]}"
        else:  # none is the most frequent: naming the first as such misled (two errors, 1x each)
            # error rows beyond those listed: fewer than n, and no error left out ties (3 listed, 3 in all)
            rest = summary["failed"] + summary["clips_failed"] - sum(c for _, c in counts)
            known = len(tied) < len(counts) or len(counts) < ERRORS_LISTED or rest < n
            line += (f"; {len(tied) if known else 'several'} different errors, {n}x each"
                     f"{'' if known else ', among them'}: {' | '.join(tied)}")
    return line


def all_failed(summary: dict) -> bool:
    """Whether a run's manifest holds nothing usable: every source failed (no clip was scored),
    or every clip scored failed. Some sources failing, or sources too short for a clip, is a
    run that did its work (exit 0)."""
    if summary["sources"] and summary["failed"] == summary["sources"]:
        return True
    return bool(summary["clips"]) and summary["clips_failed"] == summary["clips"]


MANIFEST_NAME = "manifest.parquet"


def manifest_path(given: str | Path) -> Path:
    """The manifest ``curate filter`` rewrites: the file given, or ``manifest.parquet`` inside a
    run folder (``report`` takes OUT, so ``filter`` takes it too). A folder without one is a
    FileNotFoundError naming the missing file."""
    p = Path(given)
    if p.is_dir():
        m = p / MANIFEST_NAME
        if not m.is_file():
            raise FileNotFoundError(f"{m} not found: {p} holds no manifest (curate run --out {p} writes it)")
        return m
    return p


def _filter(args: argparse.Namespace) -> int:
    from data_curation.manifest import refilter

    summary = refilter(manifest_path(args.manifest), args.recipe, args.set or [])
    print(json.dumps(summary))
    return 0


def _report(args: argparse.Namespace) -> int:
    from data_curation.report import write_report

    print(write_report(args.out))
    return 0


def _count(zero: str):
    """An argparse type: an int >= 0 (``zero`` says what 0 means), so that ``--workers -1`` is
    refused before any work instead of reaching Ray."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if n < 0:
            raise argparse.ArgumentTypeError(f"must be 0 or more ({zero}); got {n}")
        return n

    return parse


SOURCES_HELP = ("video files or folders (searched recursively for video suffixes, symlinked folders followed; "
                "macOS sidecars named '._*' are skipped)")
SET_HELP = ("one recipe override KEY=VALUE (a dotted key, a YAML value: split.max_s=5, "
            "'rules=[{column: motion_mean, min: 0.1}]'); repeat --set for more, or give several KEY=VALUE words "
            "after one --set (they end at the first word without KEY=)")


def _sub(sub, name: str, text: str) -> argparse.ArgumentParser:
    """A subcommand with the same one-line text in ``curate --help`` and as its own description."""
    return sub.add_parser(name, help=text, description=text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curate", description="Curate raw footage into a scored clip manifest.")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True)
    pr = _sub(sub, "probe", "print one JSON line per video: container, codec, fps, frames, size; "
                            "unreadable files and images renamed as videos get an 'error' (exit 1 if any does, "
                            "or if no video is found)")
    pr.add_argument("paths", nargs="+", help=SOURCES_HELP)
    pr.set_defaults(fn=_probe)
    cu = _sub(sub, "cuts", "detect shots (hard cuts, dissolves, fades) in one video; prints one line per shot: "
                           "start and end frame [start, end), start and end second")
    cu.add_argument("video", help="the video file")
    cu.add_argument("--json", action="store_true", help='print {"fps", "num_frames", "shots": [[start, end), ...]}')
    cu.add_argument("--decode", choices=["auto", "ref", "all"], default="auto",
                    help="'all' decodes every frame (frame-exact cuts, slowest); 'ref' skips non-reference "
                         "frames; 'auto' also skips the other B-frames where a check shows that is "
                         "exact for the file. Sparse modes give the few frames around a cut to neither shot "
                         "(default: %(default)s)")
    cu.add_argument("--threads", type=_count("0: one decoder per core"), default=0,
                    help="decoders at once, each on a piece of the file between keyframes (default 0: one per core)")
    cu.set_defaults(fn=_cuts)
    ru = _sub(sub, "run", "cut, split, score and filter every video under SRC into OUT/manifest.parquet; "
                          "prints a JSON summary. Rerunning resumes (finished sources are kept)")
    ru.add_argument("src", nargs="+", help=SOURCES_HELP)
    ru.add_argument("--out", required=True, help="output folder (manifest, parts, clips, the run's run_recipe.yaml); nothing is written "
                                               "elsewhere")
    ru.add_argument("--recipe", default="quick",
                    help="a name under configs/curate/ (quick, svd_lvd) or a YAML path (default: %(default)s)")
    ru.add_argument("--set", action="append", default=None, metavar="KEY=VALUE", help=SET_HELP)
    ru.add_argument("--workers", type=_count("0: no Ray, score in this process"), default=None,
                    help="Ray CPUs of the local session (default: all cores; ignored, with a warning, when "
                         "joining a cluster); 0 runs in this process without Ray")
    ru.add_argument("--ray-address", default=None,
                    help="join an existing Ray cluster: HOST:PORT, ray://HOST:PORT or auto; an address where "
                         "nothing answers is an error at once (default: $RAY_ADDRESS when set, else start a "
                         "local one)")
    ru.add_argument("--quiet", action="store_true", help="no progress bars")
    ru.set_defaults(fn=_run)
    fi = _sub(sub, "filter", "re-apply a recipe's filters (rules, near-duplicates) to a manifest without "
                             "re-scoring; rewrites its keep/drop_reason and prints the funnel as JSON")
    fi.add_argument("manifest", help="a run folder OUT (its manifest.parquet) or a manifest .parquet file")
    fi.add_argument("--recipe", required=True,
                    help="a name under configs/curate/ (quick, svd_lvd) or a YAML path; its scorers are not run")
    fi.add_argument("--set", action="append", default=None, metavar="KEY=VALUE", help=SET_HELP)
    fi.set_defaults(fn=_filter)
    re_ = _sub(sub, "report", "write OUT/report.html: score histograms, funnel, contact sheets; prints its path")
    re_.add_argument("out", help="the run folder (curate run --out), holding manifest.parquet")
    re_.set_defaults(fn=_report)
    for sp in {id(x): x for x in sub.choices.values()}.values():  # also after the subcommand, as `video` takes it
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error (also before the subcommand; default: off)")
    return p


# A recipe override word: a dotted key, '=', the value. Path-like words (a '/' before the '=')
# never match, so a SRC after --set is not taken for an override.
_OVERRIDE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*=")


def split_set_words(argv: list[str]) -> list[str]:
    """``--set a=1 b=2 SRC`` as ``--set a=1 --set b=2 SRC``: ``--set`` takes one value (a greedy
    ``nargs`` swallowed the positionals after it), and the KEY=VALUE words that follow its value
    each become a ``--set`` of their own, up to the first word that is no override (or ``--``)."""
    out: list[str] = []
    state = "normal"  # "value": the next word is --set's own; "group": KEY=VALUE words extend it
    for k, w in enumerate(argv):
        if w == "--":  # the rest is positional, as argparse reads it
            return out + argv[k:]
        if state == "value":
            out.append(w)
            state = "group"
            continue
        if state == "group" and _OVERRIDE.match(w):
            out += ["--set", w]
            continue
        state = "value" if w == "--set" else "normal"
        out.append(w)
    return out


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as ``warning: MESSAGE``, one line, not Python's file:line and source line."""
    print(f"warning: {message}", file=sys.stderr)


def _parse(p: argparse.ArgumentParser, words: list[str]) -> argparse.Namespace:
    """``p.parse_args(words)``, an unknown option answered as ``video`` answers it: with the
    subcommand's usage and what was meant (``--wrokers``: did you mean ``--workers``?); argparse
    gave the top level's usage and no hint."""
    from video.flags import chosen_parser, unknown_words_message

    args, rest = p.parse_known_args(words)
    if rest:
        chosen = chosen_parser(p, args)
        chosen.error(unknown_words_message(chosen, rest))
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(parser(), split_set_words(sys.argv[1:] if argv is None else list(argv)))
    try:
        with warnings.catch_warnings():  # restores showwarning after: callers in process keep theirs
            warnings.showwarning = _show_warning
            if args.command != "run":  # run checks after its cheaper SRC checks
                require_modules(COMMAND_NEEDS.get(args.command, ()))
            return args.fn(args)
    except KeyboardInterrupt as e:
        if args.debug:
            raise
        if args.command == "run":
            from data_curation.engine import ConnectInterrupted

            if isinstance(e, ConnectInterrupted):  # no Ray to score with: rerunning would wait again
                print(f"curate run: {e}", file=sys.stderr)
                return 130
        again = "; rerun the same command to resume (finished sources are kept)" if args.command == "run" else ""
        print(f"curate {args.command}: interrupted{again}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `curate probe DIR | head` read enough: no error line, as other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit fails too
        return 141  # as a process killed by SIGPIPE
    except Exception as e:
        extra = missing_extra(args.command, e) if isinstance(e, ImportError) else None
        if extra and not args.debug:  # said before the imports below: ray_runner's need pyarrow
            print(extra, file=sys.stderr)
            return 2
        from data_curation.ray_runner import RayNotInstalled
        from video.config import ConfigError
        from video.media import MediaError

        if args.debug or not isinstance(e, (MediaError, ConfigError, ValueError, OSError, RayNotInstalled)):
            raise
        print(f"curate {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
