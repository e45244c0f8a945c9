"""Curation's motion sample rule has one home, :class:`~data_curation.clip_frames.SampleSlots`:
``read_clip`` streams a decoder's frame numbers through it and ``video eval`` asks it which
frames of a clip in memory to sample. A variable-rate source repeats and skips grid numbers;
the rule picks positions, never two copies of one number (a near-zero flow pair), and a slot
without a frame takes the nearest one unless it is within half a slot of the last sample."""

import numpy as np
import pytest

from data_curation.clip_frames import SampleSlots, sample_positions
from eval.temporal import motion_sample_indices


def test_constant_rate_takes_the_frame_nearest_each_fractional_slot():
    # 25 fps at 2 fps: slots 0, 12.5, 25, 37.5; a tie goes to the earlier frame
    assert sample_positions(range(50), 12.5, 0, 50) == [0, 12, 25, 37]
    assert sample_positions(range(30, 60), 12.5, 30, 60) == [0, 12, 25]  # slots from start, positions from 0


def test_a_repeated_number_is_sampled_once():
    twice = [i // 2 for i in range(50)]  # every number twice: 0, 0, 1, 1, ...
    assert sample_positions(twice, 5, 0, 25) == [0, 10, 20, 30, 40]  # slot on a number: its first copy
    # slot 2.5 between numbers 2 and 3 (a tie): the frame on screen then, 2's later copy (position 5)
    assert sample_positions([i // 2 for i in range(20)], 2.5, 0, 10) == [0, 5, 10, 15]


def test_missing_numbers_take_the_nearest_frame_or_none_too_close():
    # slot 10 finds number 10; slot 20's nearest is 11, within half a slot of 10 taken: no sample
    assert sample_positions([0, 1, 2, 10, 11, 30, 31], 10, 0, 40) == [0, 3, 5]
    # slot 10's nearest is 0, taken already; slot 20 takes 25
    assert sample_positions([0, 25, 26], 10, 0, 30) == [0, 1]


def test_streaming_picks_the_frame_before_and_the_new_one_in_one_push():
    slots = SampleSlots(8, 0, 24)
    assert [slots.push(i) for i in (0, 4, 20)] == [[0], [], [1, 2]]  # slots 8 and 16 across a gap
    assert slots.finish() == []  # slot 24 is not in [0, 24)


def test_the_range_end_and_a_slot_after_the_last_frame():
    assert sample_positions([*range(10), 100], 5, 0, 10) == [0, 5]  # 100 is past the range
    assert sample_positions(range(10), 5, 0, 12) == [0, 5, 9]  # slot 10 < 12: the last frame shows then


def test_eval_asks_the_same_rule():
    """On n frames at a constant rate eval's indices are the rule's positions, and each is the
    frame nearest its slot (an independent closed form: floor or ceil of k * fps / 2)."""
    for fps in (5, 7, 12.5, 15, 23.976, 25, 29.97, 60):
        n = int(3 * fps)
        idx = motion_sample_indices(n, fps)
        assert idx == sample_positions(range(n), fps / 2, 0, n)
        slots = np.arange(len(idx)) * fps / 2
        assert np.all(np.abs(np.asarray(idx) - slots) <= 0.5), fps


def test_a_step_that_is_not_positive_is_refused():
    with pytest.raises(ValueError, match="sample step must be a positive number of frames, got 0"):
        SampleSlots(0)
