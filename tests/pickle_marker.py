"""A pickle that shows whether anything unpickled it: ``Marker(path)`` pickles to ``open(path,
"w")``, so the file's absence after a refusal shows no loader ran it. Shared by the tests of
every loader that must refuse pickles (``tests/`` is on sys.path through its conftest)."""

from __future__ import annotations

from pathlib import Path


class Marker:
    """Unpickled, it creates ``path`` (open(path, "w")): the file's absence shows nothing ran it."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")
