"""Help nits: `video edit TASK --width` said "(default: none)" beside --height's "the input's
own" (both default to the input's size); `video animate --device` left out mps, which every
render command takes; configs/model/tiny.yaml said "a few hundred thousand parameters" for a
model `video info tiny` counts at about 2.4M."""

from __future__ import annotations

import argparse
import re

from video.cli import build_parser
from video.config import CONFIG_DIR


def _help(argv: list[str], flag: str) -> str:
    parser = build_parser()
    for word in argv:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser._option_string_actions[flag].help


def test_edit_width_and_height_say_the_same_default():
    for task in ("inpaint", "restyle"):
        width, height = _help(["edit", task], "--width"), _help(["edit", task], "--height")
        assert "default: none" not in width
        assert width.endswith("(default: the input's own, padded for the model and cropped back)")
        assert height.endswith("(default: the input's own, padded for the model and cropped back)")


def test_every_render_command_lists_mps_for_device():
    for argv in (["img2vid"], ["txt2vid"], ["edit", "inpaint"], ["animate"]):
        assert "cpu, mps or auto" in _help(argv, "--device"), argv


def test_tiny_yaml_comment_gives_the_parameters_video_info_counts():
    from video.models.inspect import describe

    params = describe("tiny")["parameters"]
    comment = " ".join(line for line in (CONFIG_DIR / "model" / "tiny.yaml").read_text().splitlines()
                       if line.startswith("#"))
    said = float(re.search(r"about ([\d.]+)M parameters", comment).group(1))
    assert abs(said - sum(params.values()) / 1e6) < 0.05, (said, params)
    assert f"UNet {params['unet'] / 1e6:.1f}M" in comment and f"VAE {params['vae'] / 1e6:.1f}M" in comment
    assert f"image encoder {round(params['image_encoder'] / 1e3)}k" in comment
