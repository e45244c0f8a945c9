"""``curate run``'s progress bar, counted in frames, not sources.

Sources take 0.5 to 10 s each and more: a bar of sources gave an ETA off by as much, and a run
of one long video sat at 0/1 until it ended. Each source weighs its frame count as its header
gives it (:func:`video.media.header_frames`, no decoding; WebM and Matroska: duration x rate).
The headers are read by a thread beside the work, so that a run of 100k sources does not wait
minutes for its bar's total before the first is scored: the total grows to its full value
within the first seconds to minutes of the run (milliseconds a header, against seconds a
source); a source that finishes before its header was read is counted then. One bar for both
``--workers 0`` (:func:`data_curation.engine.run`) and Ray (:func:`data_curation.ray_runner._gather`).

Off a terminal (``curate run ... 2> log.txt``, a batch job's log) a bar's redraws are ``\r``-joined
states on one endless line: there, a plain line ending in a newline at most every
:data:`LOG_EVERY_S` as sources finish, and one at the end.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence

JOIN_S = 5.0  # how long closing waits for a header read under way (a hung network drive: not forever)
LOG_EVERY_S = 30.0  # off a terminal: the least time between two progress lines


def source_frames(path: str) -> int:
    """A source's frame count as its header gives it; 0 for a file that is no readable video
    (its error row is the engine's to write: a bar never fails a run)."""
    from video.media import MediaError, header_frames

    try:
        return header_frames(path)[0]
    except (MediaError, OSError, ValueError):
        return 0


class FramesBar:
    """A tqdm bar of the frames of ``sources`` done, with ``n/N sources`` as its postfix; off a
    terminal, progress lines instead (see the module). Use as a context manager and call
    :meth:`done` as each source finishes. ``enabled`` False (``--quiet``) reads no header at all."""

    def __init__(self, sources: Sequence[str], enabled: bool = True) -> None:
        from tqdm import tqdm

        self.lines = enabled and not _is_tty(sys.stderr)
        self.bar = tqdm(total=0, desc="frames", unit="frame", disable=not enabled or self.lines, file=sys.stderr)
        self.frames: dict[str, int] = {}  # source -> its header's count, once read
        self.total = self.frames_done = 0
        self.start = self.last_line = time.monotonic()
        self.sources, self.finished = len(sources), 0
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._thread = threading.Thread(target=self._count, args=(list(sources),), daemon=True,
                                        name="curate-frames") if enabled else None
        self.bar.set_postfix_str(f"0/{self.sources} sources", refresh=False)

    def __enter__(self) -> FramesBar:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(JOIN_S)
        if self.lines:
            with self._lock:
                self._line()
        self.bar.close()

    def _line(self) -> None:
        """One progress line, off a terminal (under the lock)."""
        share = f" ({100 * self.frames_done / self.total:.0f}%)" if self.total else ""
        print(f"frames: {self.frames_done}/{self.total}{share}, {self.finished}/{self.sources} sources, "
              f"{time.monotonic() - self.start:.0f} s", file=sys.stderr, flush=True)
        self.last_line = time.monotonic()

    def _weigh(self, path: str, n: int) -> int:
        """``path``'s weight, ``n`` recorded unless it was already (under the lock)."""
        if path not in self.frames:
            self.frames[path] = n
            self.total += n
            self.bar.total = self.total
        return self.frames[path]

    def _count(self, sources: list[str]) -> None:
        for p in sources:
            if self._stop.is_set():
                return
            n = source_frames(p)  # outside the lock: the work goes on while a header is read
            with self._lock:
                self._weigh(p, n)
        with self._lock:
            if not self.lines:
                self.bar.refresh()  # the full total, shown before the next source ends

    def done(self, path: str) -> None:
        """``path`` finished (scored, or failed): its frames counted as done."""
        if self.bar.disable and not self.lines:
            return
        with self._lock:
            n = self.frames[path] if path in self.frames else self._weigh(path, source_frames(path))
            self.finished += 1
            self.frames_done += n
            if self.lines:
                if time.monotonic() - self.last_line >= LOG_EVERY_S:
                    self._line()
                return
            self.bar.set_postfix_str(f"{self.finished}/{self.sources} sources", refresh=False)
            self.bar.update(n)
            if not n:  # a source of no frames moves only the postfix
                self.bar.refresh()


def _is_tty(stream) -> bool:
    """Whether ``stream`` is a terminal (a stream without ``isatty``, or a closed one, is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
