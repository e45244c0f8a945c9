"""``video edit`` says the values it was given and refuses the ones it would change silently:

- ``--saturation -1`` (or -5) wrote what ``--saturation 0`` writes (the shift clips the
  product to 0), without a word: refused in one line, as the recolour recipe refuses it;
- ``--feather -1`` and ``--overlap -1`` were the schema's "unset" and ran as the default, while
  -2 was refused: unset is None (``null`` in YAML or ``key=null``), and -1 is refused like -2;
- ``--hue 720`` was refused as "recolour with --hue 0 ...": the hue given is quoted.

The video given does not exist, so a check made later would fail with "not found" instead."""

from __future__ import annotations

import numpy as np
import pytest

from video.edit.cli import EditConfig
from video.edit.recipes import recolour
from video.runtime.errors import InputError

BASE = ("--video", "missing.mp4", "-o", "o.mp4")


def _edit(cli, tmp_path, task, *argv):
    return cli("edit", task, *BASE, *argv, cwd=tmp_path)


@pytest.mark.parametrize("given, shown", [(["--saturation", "-1"], "-1"), (["--saturation", "-5"], "-5"),
                                          (["--saturation", "-0.25"], "-0.25"), (["saturation=-1"], "-1")])
def test_a_negative_saturation_is_refused_before_any_work(cli, tmp_path, given, shown):
    p = _edit(cli, tmp_path, "recolour", "--box", "10,10,50,50", *given)
    assert p.returncode == 2 and p.errors == [f"error: --saturation must be >= 0 (0: grey); got {shown}"], p.stderr


@pytest.mark.parametrize("value", ["0", "0.5", "2"])
def test_a_saturation_of_zero_or_more_passes_the_check(cli, tmp_path, value):
    p = _edit(cli, tmp_path, "recolour", "--box", "10,10,50,50", "--saturation", value)
    assert p.returncode == 2 and len(p.errors) == 1 and "missing.mp4" in p.errors[0], p.stderr


def test_the_recolour_recipe_refuses_a_negative_saturation(clip):
    """The Python API, past the command line's check: it clipped -1 to 0 as well."""
    with pytest.raises(InputError, match=r"^saturation must be >= 0 \(0: grey\); got -1$"):
        recolour(None, clip, "8,8,40,40", hue=30, saturation=-1)
    grey = recolour(None, clip, "8,8,40,40", saturation=0, feather_px=0)
    assert np.ptp(grey[:, 8:40, 8:40].astype(int), axis=-1).max() <= 1  # 0 is still grey (R = G = B)


@pytest.mark.parametrize("task, given, shown", [
    ("recolour", ["--feather", "-1"], "--feather must be 0 or more pixels; got -1"),
    ("inpaint", ["feather=-1"], "--feather must be 0 or more pixels; got -1"),
    ("recolour", ["--feather", "-2"], "--feather must be 0 or more pixels; got -2"),
    ("inpaint", ["--overlap", "-1"], "--overlap must be between 0 and --window - 1; got -1"),
    ("inpaint", ["overlap=-1"], "--overlap must be between 0 and --window - 1; got -1"),
    ("inpaint", ["--overlap", "-2"], "--overlap must be between 0 and --window - 1; got -2"),
])
def test_minus_one_is_refused_like_any_negative(cli, tmp_path, task, given, shown):
    extra = ["--hue", "30"] if task == "recolour" else ["--model", "tiny"]
    p = _edit(cli, tmp_path, task, "--box", "10,10,50,50", *extra, *given)
    assert p.returncode == 2 and p.errors == [f"error: {shown}"], p.stderr


@pytest.mark.parametrize("given", [["feather=null"], ["overlap=null"], ["--config", "unset.yaml"]])
def test_null_is_the_default(cli, tmp_path, given):
    (tmp_path / "unset.yaml").write_text("feather: null\noverlap: null\n")
    p = _edit(cli, tmp_path, "inpaint", "--box", "10,10,50,50", "--model", "tiny", *given)
    assert p.returncode == 2 and len(p.errors) == 1 and "missing.mp4" in p.errors[0], p.stderr


def test_unset_values_are_none():
    assert (EditConfig().feather, EditConfig().overlap) == (None, None)


def test_unset_feather_is_the_recipes_own(cli, clip, tmp_path):
    """Left out (and ``feather=null``), recolour composites with its own 2-pixel ramp: the
    pixels of ``--feather 2``, and not those of ``--feather 0``."""
    from PIL import Image

    Image.fromarray(clip[0]).save(tmp_path / "in.png")
    outs = {}
    for name, extra in (("unset", []), ("null", ["feather=null"]), ("two", ["--feather", "2"]),
                        ("zero", ["--feather", "0"])):
        p = cli("edit", "recolour", "--video", "in.png", "--box", "10,10,50,50", "--hue", "90", *extra,
                "-o", f"{name}.png", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        outs[name] = np.asarray(Image.open(tmp_path / f"{name}.png"))
    np.testing.assert_array_equal(outs["unset"], outs["two"])
    np.testing.assert_array_equal(outs["null"], outs["two"])
    assert not np.array_equal(outs["unset"], outs["zero"])


NOTHING = "and --saturation 1 changes nothing: give --hue or --saturation"


@pytest.mark.parametrize("hue, said", [("720", "--hue 720 (whole turns: no change)"),
                                       ("360", "--hue 360 (whole turns: no change)"),
                                       ("-360", "--hue -360 (whole turns: no change)"),
                                       ("0", "--hue 0")])
def test_a_recolour_that_changes_nothing_quotes_the_hue_given(cli, tmp_path, hue, said):
    p = _edit(cli, tmp_path, "recolour", "--box", "10,10,50,50", "--hue", hue)
    assert p.returncode == 2 and p.errors == [f"error: recolour with {said} {NOTHING}"], p.stderr
