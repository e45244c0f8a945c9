"""``video edit`` refuses in one line, before reading the video or loading a model, what it
would otherwise ignore or do for nothing: restyle's --feather (it was listed in its --help and
ignored: the same output at 0 and 50), an outpaint without --pad or --aspect (it said "not
both"), an outpaint at --strength 0 (it loaded the model and wrote the starting canvas), and a
recolour that shifts nothing (it wrote a copy without a word). The video and model given do not
exist, so a check made later would fail with "not found" instead."""

from __future__ import annotations

import numpy as np
import pytest

from video.cli import main
from video.edit.cli import EditConfig, check_config
from video.edit.recipes import outpaint, outpaint_padding
from video.runtime.errors import InputError

NO_VIDEO, NO_MODEL = "/nonexistent/clip.mp4", "/nonexistent/model"


def _error(argv, capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    return code, lines[0] if lines else ""


BASE = ["--video", NO_VIDEO, "--output", "/tmp/never.mp4"]
NOOP = "error: recolour with --hue 0 and --saturation 1 changes nothing: give --hue or --saturation"


@pytest.mark.parametrize("argv, message", [
    (["restyle", "--feather", "0"], "error: restyle does not use --feather; it is for inpaint, outpaint, background, "
                                    "recolour"),
    (["restyle", "feather=50"], "error: restyle does not use feather=50"),
    (["outpaint"], "error: outpaint needs the border to add: give --pad (pixels per side: N, V,H or T,R,B,L) or "
                   "--aspect (W:H on screen, e.g. 16:9)"),
    (["outpaint", "--pad", "8", "--aspect", "16:9"], "error: give --pad or --aspect, not both"),
    (["outpaint", "--pad", "8", "--strength", "0"], "error: outpaint --strength 0 would keep the starting canvas"),
    (["recolour", "--box", "0,0,8,8"], NOOP),
    (["recolour", "--box", "0,0,8,8", "--hue", "0", "--saturation", "1", "--strength", "0"], NOOP),
    # a whole number of turns is quoted as given (it was said as "--hue 0")
    (["recolour", "--box", "0,0,8,8", "--hue", "360"], NOOP.replace("0", "360 (whole turns: no change)", 1)),
    (["recolour", "--box", "0,0,8,8", "--hue", "-720"], NOOP.replace("0", "-720 (whole turns: no change)", 1)),
])
def test_refused_in_one_line_before_any_work(argv, message, capsys):
    model = [] if argv[0] == "recolour" else ["--model", NO_MODEL]  # recolour at strength 0 refuses --model
    code, err = _error(["edit", *argv, *BASE, *model], capsys)
    assert code == 2 and err.startswith(message), err


@pytest.mark.parametrize("cfg", [
    EditConfig(video="v.mp4", box="0,0,8,8", hue=90),
    EditConfig(video="v.mp4", box="0,0,8,8", saturation=0.5),
    EditConfig(video="v.mp4", box="0,0,8,8", hue=359.5),
    EditConfig(video="v.mp4", box="0,0,8,8", strength=0.3),  # the harmonising pass regenerates the mask
])
def test_recolour_that_changes_something_passes(cfg):
    check_config("recolour", cfg)


def test_feather_is_refused_for_restyle_only():
    with pytest.raises(InputError, match="restyle does not use --feather"):
        check_config("restyle", EditConfig(video="v.mp4", feather=3))  # the Python API: a non-default value
    check_config("restyle", EditConfig(video="v.mp4"))
    for task, extra in (("inpaint", dict(box="0,0,8,8")), ("outpaint", dict(pad="8")),
                        ("background", dict(box="0,0,8,8")), ("recolour", dict(box="0,0,8,8", hue=30))):
        check_config(task, EditConfig(video="v.mp4", feather=3, **extra))


@pytest.mark.parametrize("task, shown", [("restyle", False), ("inpaint", True), ("outpaint", True),
                                         ("background", True), ("recolour", True)])
def test_feather_in_help_only_where_taken(task, shown, capsys):
    with pytest.raises(SystemExit):
        main(["edit", task, "--help"])
    assert ("--feather" in capsys.readouterr().out) == shown


class _NoEditor:
    multiple = 16

    def __call__(self, *a, **kw):
        raise AssertionError("the editor ran")


def test_outpaint_recipe_refuses_strength_0():
    with pytest.raises(InputError, match="outpaint at strength 0 keeps the starting canvas"):
        outpaint(_NoEditor(), np.zeros((1, 32, 32, 3), np.uint8), pad=8, strength=0.0)


def test_outpaint_padding_says_which_is_wrong():
    with pytest.raises(InputError, match="outpaint needs pad \\(pixels per side\\) or aspect"):
        outpaint_padding(32, 32)
    with pytest.raises(InputError, match="outpaint takes pad or aspect, not both"):
        outpaint_padding(32, 32, pad=8, aspect="16:9")
