"""The ``curate`` command. Today: ``curate probe``; cut detection, splitting, scoring and the
manifest follow (see the curation issue)."""

from __future__ import annotations

import argparse
import json
import sys

from data_curation.probe import discover, probe_row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="curate", description="Curate raw footage into a scored clip manifest.")
    sub = p.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("probe", help="print one JSON line per video: container, codec, fps, frames, size; "
                                      "unreadable files get an 'error'")
    pr.add_argument("paths", nargs="+", help="video files or folders (searched recursively)")
    args = p.parse_args(argv)
    failed = 0
    for path in discover(args.paths):
        row = probe_row(path)
        failed += row["error"] is not None
        print(json.dumps(row))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
