"""ItemLoader walks its candidates lazily: loading a readable item, and asking what it read
(``tried``, which the latent cache asks of every item), costs the same whatever the dataset's
length, while a replaced item's candidates keep their order."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from video.training.loading import ItemLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from live_bytes import python_peak_bytes  # noqa: E402


class Items:
    """``n`` items held as nothing: item ``j`` is ``{"j": j}``, or unreadable (an OSError, as a
    missing file is) when ``j`` is in ``bad``."""

    def __init__(self, n: int, bad: tuple[int, ...] = ()):
        self.n, self.bad = n, set(bad)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, j: int) -> dict:
        if j in self.bad:
            raise OSError(f"item {j} cannot be read")
        return {"j": j}


class Buckets(Items):
    """Items with buckets (``keys``: frames, height, width) and ``load_at``, as Bucketed has."""

    def __init__(self, keys: list[tuple[int, int, int]], bad: tuple[int, ...] = ()):
        super().__init__(len(keys), bad)
        self.keys = keys

    def load_at(self, j: int, key: tuple) -> dict:
        return {**self[j], "at": key}



def test_a_readable_item_costs_nothing_per_item_of_the_dataset():
    """A list of every index (a million here) is megabytes; one item's load and ``tried`` are
    a few hundred bytes, at any length."""
    load = ItemLoader(Items(1_000_000))
    assert python_peak_bytes(lambda: load(123_456)) < 100_000
    assert python_peak_bytes(lambda: load.tried(123_456)) < 100_000
    assert load(999_999) == {"j": 999_999} and load.tried(999_999) == [999_999]
    assert python_peak_bytes(lambda: next(load._candidates(5))) < 100_000


def test_a_replaced_item_tries_the_same_items_in_the_same_order(capsys):
    """Cyclically from the item on: 3, 4, 0 unreadable, so 1 takes 3's place."""
    load = ItemLoader(Items(5, bad=(3, 4, 0)))
    assert load.tried(3) == [3]  # not loaded yet: only itself is known
    assert load(3) == {"j": 1}
    assert load.tried(3) == [3, 4, 0, 1]
    assert load.tried(2) == [2] and load(2) == {"j": 2}
    assert [j for j, _ in load._candidates(3)] == [3, 4, 0, 1, 2]
    assert "warning: item 3 is unreadable" in capsys.readouterr().out


def test_bucketed_candidates_keep_their_order(capsys):
    """Its own bucket first (from the item on, cyclically), then longer buckets' items, loaded
    at its key."""
    keys = [(2, 8, 8), (1, 8, 8), (2, 8, 8), (4, 8, 8), (2, 8, 8)]
    load = ItemLoader(Buckets(keys, bad=(0, 2, 4)))
    assert [j for j, _ in load._candidates(2)] == [2, 4, 0, 3]
    assert load(2) == {"j": 3, "at": (2, 8, 8)}
    assert load.tried(2) == [2, 4, 0, 3]
    assert "no readable item left in the bucket 2x8x8" in capsys.readouterr().out


def test_no_readable_item_is_still_one_line():
    load = ItemLoader(Items(3, bad=(0, 1, 2)))
    with pytest.raises(ValueError, match="^no readable item left to replace item 1 "):
        load(1)
    assert load.tried(1) == [1]
