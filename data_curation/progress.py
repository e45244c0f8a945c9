"""``curate run``'s progress bar, counted in frames, not sources.

Sources take 0.5 to 10 s each and more: a bar of sources gave an ETA off by as much, and a run
of one long video sat at 0/1 until it ended. Each source weighs its frame count as its header
gives it (:func:`video.media.header_frames`, no decoding; WebM and Matroska: duration x rate).
The headers are read by a thread beside the work, so that a run of 100k sources does not wait
minutes for its bar's total before the first is scored: the total grows to its full value
within the first seconds to minutes of the run (milliseconds a header, against seconds a
source); a source that finishes before its header was read is counted then. One bar for both
``--workers 0`` (:func:`data_curation.engine.run`) and Ray (:func:`data_curation.ray_runner._gather`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

JOIN_S = 5.0  # how long closing waits for a header read under way (a hung network drive: not forever)


def source_frames(path: str) -> int:
    """A source's frame count as its header gives it; 0 for a file that is no readable video
    (its error row is the engine's to write: a bar never fails a run)."""
    from video.media import MediaError, header_frames

    try:
        return header_frames(path)[0]
    except (MediaError, OSError, ValueError):
        return 0


class FramesBar:
    """A tqdm bar of the frames of ``sources`` done, with ``n/N sources`` as its postfix. Use as a
    context manager and call :meth:`done` as each source finishes. ``enabled`` False (``--quiet``)
    reads no header at all."""

    def __init__(self, sources: Sequence[str], enabled: bool = True) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, desc="frames", unit="frame", disable=not enabled, file=sys.stderr)
        self.frames: dict[str, int] = {}  # source -> its header's count, once read
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
        self.bar.close()

    def _weigh(self, path: str, n: int) -> int:
        """``path``'s weight, ``n`` recorded unless it was already (under the lock)."""
        if path not in self.frames:
            self.frames[path] = n
            self.bar.total += n
        return self.frames[path]

    def _count(self, sources: list[str]) -> None:
        for p in sources:
            if self._stop.is_set():
                return
            n = source_frames(p)  # outside the lock: the work goes on while a header is read
            with self._lock:
                self._weigh(p, n)
        with self._lock:
            self.bar.refresh()  # the full total, shown before the next source ends

    def done(self, path: str) -> None:
        """``path`` finished (scored, or failed): its frames counted as done."""
        if self.bar.disable:
            return
        with self._lock:
            n = self.frames[path] if path in self.frames else self._weigh(path, source_frames(path))
            self.finished += 1
            self.bar.set_postfix_str(f"{self.finished}/{self.sources} sources", refresh=False)
            self.bar.update(n)
            if not n:  # a source of no frames moves only the postfix
                self.bar.refresh()
