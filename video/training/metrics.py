"""Where training scalars go: one JSON line per logged step in ``metrics.jsonl`` (always), and
TensorBoard event files in the same run folder when the ``tensorboard`` package is installed
(``pip install 'video-pipeline[train]'``), so ``tensorboard --logdir runs/`` lists each run.

On resume both logs drop what was written after the checkpoint: the JSON lines are cut, and
TensorBoard's ``purge_step`` hides the old events from that step on, so a curve has no
doubled segment. A fresh run (no checkpoint to resume: a first run, or a rerun after one that
diverged before its first checkpoint) starts both anew: the old event files are removed, where
TensorBoard drew the old run's steps beside the new one's under the same tags. A non-finite
value (the loss of a skipped step) is ``null`` in the JSON lines (JSON has no NaN:
``json.dumps`` wrote ``NaN``, which strict readers refuse) and stays NaN in TensorBoard."""

from __future__ import annotations

import json
import math
from pathlib import Path

from video.atomic import atomic_file

# jsonl key -> TensorBoard tag
TAGS = {"loss": "train/loss", "lr": "train/lr", "grad_norm": "train/grad_norm", "it_per_s": "train/it_per_s",
        "skipped": "train/skipped_steps"}


def truncate_metrics(path: Path, step: int) -> None:
    """On resume, drop the lines logged after the checkpoint we resume from. A last line cut
    short (the process died mid-write) is dropped too; a broken line before it is damage this
    code did not do, and an error naming the file and line. The kept lines replace the file
    atomically: a kill mid-rewrite leaves the old file (the whole loss history), never an empty
    or half one."""
    if not path.is_file():
        return
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    kept = []
    for n, ln in enumerate(lines, 1):
        try:
            row = json.loads(ln)
        except json.JSONDecodeError as e:
            if n == len(lines):
                break
            raise ValueError(f"{path}:{n}: not a JSON line ({e.msg}); fix or delete that line to resume") from None
        if row["step"] <= step:
            kept.append(ln)
    with atomic_file(path) as tmp:
        tmp.write_text("".join(ln + "\n" for ln in kept))


def tensorboard_writer(folder: Path, purge_step: int | None = None):
    """A ``SummaryWriter`` for ``folder``, or None (with one line saying so) without the package."""
    try:
        import tensorboard  # noqa: F401  (SummaryWriter needs it, and fails late without it)
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        print("tensorboard is not installed: metrics go to metrics.jsonl only "
              "(pip install tensorboard to get event files too)")
        return None
    return SummaryWriter(log_dir=str(folder), purge_step=purge_step)


def remove_event_files(folder: Path) -> None:
    """The TensorBoard event files a run before this one left in ``folder`` (what
    ``SummaryWriter`` names ``events.out.tfevents.*``), for a fresh run: its metrics.jsonl
    starts empty, and a curve of the old steps under the same tags would read as this run's.
    Removed whether or not ``tensorboard`` is installed now."""
    for p in folder.glob("events.out.tfevents.*"):
        if p.is_file():
            p.unlink(missing_ok=True)


def json_row(row: dict) -> str:
    """``row`` as one strict JSON line: a non-finite float (NaN, inf) becomes ``null``."""
    return json.dumps({k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in row.items()},
                      allow_nan=False)


class MetricsLog:
    """``metrics.jsonl`` plus TensorBoard scalars for one run folder (rank 0 only)."""

    def __init__(self, run: Path, resume_step: int = 0):
        self.path = run / "metrics.jsonl"
        if resume_step:
            truncate_metrics(self.path, resume_step)
        else:
            self.path.write_text("")
            remove_event_files(run)
        self.tb = tensorboard_writer(run, purge_step=resume_step + 1 if resume_step else None)

    def log(self, row: dict) -> None:
        with self.path.open("a") as fh:
            fh.write(json_row(row) + "\n")
        if self.tb is not None:
            for key, tag in TAGS.items():
                if key in row:
                    self.tb.add_scalar(tag, row[key], global_step=row["step"])
            self.tb.flush()

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
