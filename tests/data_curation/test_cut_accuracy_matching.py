"""Cut-accuracy scores do not depend on the order of either list (review: detections at 10 and
14 against true cuts listed as 12, 8 scored F1 0.5, listed as 8, 12 scored 1.0: nearest-first
pairing took 10-12 and left 14 and 8 apart). Pairs now make a maximum matching."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from data_curation.cut_accuracy import cuts_to_ranges, f1_score, match


def test_order_of_truth_does_not_change_the_score():
    detected = [[10, 10], [14, 14]]
    for truth in ([[12, 12], [8, 8]], [[8, 8], [12, 12]]):
        got = f1_score(detected, truth, tol=2)
        assert got == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 2, "fp": 0, "fn": 0}, truth
        # 14 can only pair with 12, so 10 pairs with 8
        assert match(detected, truth, tol=2) == sorted([(0, truth.index([8, 8])), (1, truth.index([12, 12]))])


def test_extra_detection_closed_form():
    """Two of three detections pair with the two truths whichever way the lists run:
    precision 2/3, recall 1, F1 2 * (2/3) / (5/3) = 0.8."""
    detected, truth = [[14, 14], [40, 40], [10, 10]], [[12, 12], [8, 8]]
    for d, t in itertools.product(itertools.permutations(detected), itertools.permutations(truth)):
        got = f1_score(list(d), list(t), tol=2)
        assert (got["tp"], got["fp"], got["fn"]) == (2, 1, 0)
        assert abs(got["f1"] - 0.8) < 1e-12 and abs(got["precision"] - 2 / 3) < 1e-12


def test_long_augmenting_path():
    """Cuts 4 frames apart, each detection midway between two truths and taking the earlier; the
    last detection listed can only have the first truth, so every pair moves along by one: a
    path as long as the list (no recursion limit), all matched."""
    n = 1200
    truth = cuts_to_ranges(range(0, 4 * n + 1, 4))
    detected = cuts_to_ranges([*range(2, 4 * n, 4), -2])
    got = f1_score(detected, truth, tol=2)
    assert (got["tp"], got["fp"], got["fn"]) == (n + 1, 0, 0)


def _max_pairs(detected, truth, tol) -> int:
    """Brute force: the most one-to-one pairs of overlapping (widened by tol) ranges."""
    def ok(d, t):
        return d[0] <= t[1] + tol and d[1] >= t[0] - tol

    def best(i, used):
        if i == len(detected):
            return 0
        return max([best(i + 1, used)] + [1 + best(i + 1, used | {j}) for j, t in enumerate(truth)
                                           if j not in used and ok(detected[i], t)])
    return best(0, frozenset())


_range = st.tuples(st.integers(0, 30), st.integers(0, 4)).map(lambda a: [a[0], a[0] + a[1]])


@settings(max_examples=200, deadline=None)
@given(st.lists(_range, max_size=6), st.lists(_range, max_size=6), st.integers(0, 3))
def test_matching_is_maximum_and_one_to_one(detected, truth, tol):
    pairs = match(detected, truth, tol)
    assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
    for i, j in pairs:
        assert detected[i][0] <= truth[j][1] + tol and detected[i][1] >= truth[j][0] - tol
    assert len(pairs) == _max_pairs(detected, truth, tol)
    assert f1_score(detected, truth, tol) == f1_score(detected[::-1], truth[::-1], tol)
