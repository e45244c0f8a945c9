"""``video edit --strength`` outside [0, 1] is refused, -1 included: -1 stood for "not given"
(the task's default), so ``--strength -1`` ran at the default without a word while -0.5 was
refused. "Not given" is None now, as for --steps; a set value, as a flag or ``key=value``, is
checked, and leaving it out still gives the task's default."""

import pytest

from video.edit.cli import DEFAULT_STRENGTH, EditConfig, check_config, task_strength
from video.runtime.errors import InputError


@pytest.mark.parametrize("given", [["--strength", "-1"], ["strength=-1"], ["--strength", "-0.5"],
                                   ["--strength", "1.5"]])
def test_a_strength_out_of_range_is_refused_before_any_work(cli, tmp_path, given):
    p = cli("edit", "inpaint", "--video", "missing.mp4", "--box", "0,0,8,8", *given, "--output", "o.mp4",
            cwd=tmp_path)
    value = given[-1].rpartition("=")[2]
    assert p.returncode == 2 and p.errors == [f"error: --strength must be in [0, 1]; got {float(value):g}"], p.stderr


@pytest.mark.parametrize("given", [[], ["--strength", "0.5"], ["strength=0.5"], ["--strength", "0"],
                                   ["--strength", "1"]])
def test_a_strength_in_range_or_none_passes_the_check(cli, tmp_path, given):
    p = cli("edit", "inpaint", "--video", "missing.mp4", "--box", "0,0,8,8", *given, "--output", "o.mp4",
            cwd=tmp_path)
    assert p.returncode != 0 and not any("--strength" in e for e in p.errors), p.stderr
    assert any("missing.mp4" in e for e in p.errors), p.stderr  # it got as far as reading the video


def test_the_default_is_the_tasks_and_minus_one_is_not_the_default():
    assert EditConfig().strength is None
    assert {t: task_strength(t, EditConfig()) for t in DEFAULT_STRENGTH} == DEFAULT_STRENGTH
    assert task_strength("inpaint", EditConfig(strength=0.3)) == 0.3
    check_config("recolour", EditConfig(video="v.mp4", box="0,0,8,8", hue=90))  # default 0: no model, no refusal
    with pytest.raises(InputError, match=r"^--strength must be in \[0, 1\]; got -1$"):
        check_config("inpaint", EditConfig(video="v.mp4", box="0,0,8,8", strength=-1))
