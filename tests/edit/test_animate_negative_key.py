"""``video animate``'s negative prompt has the key ``negative``, as txt2vid and edit have (README:
a key is the flag's name with ``_`` for ``-``); ``negative=x`` was refused ("Did you mean:
'negative_prompt'?"). The old spellings, ``--negative-prompt`` and the key ``negative_prompt``, set
the same value, in a flag, ``key=value`` and a ``--config`` YAML alike; two different values
are refused, not one dropped. The config holds only ``negative``."""

from __future__ import annotations

import argparse

import pytest

from video.edit.animate_cli import AnimateConfig, add_animate_command, resolve_animate
from video.flags import UserError


def _resolve(*argv: str) -> AnimateConfig:
    parser = argparse.ArgumentParser()
    add_animate_command(parser.add_subparsers())
    return resolve_animate(parser.parse_args(["animate", *argv]))  # what `video animate` runs


@pytest.mark.parametrize("argv", [["negative=blurry, text"], ["negative_prompt=blurry, text"],
                                  ["--negative", "blurry, text"], ["--negative-prompt", "blurry, text"],
                                  ["negative=blurry, text", "negative_prompt=blurry, text"]])
def test_every_spelling_sets_the_negative_prompt(argv):
    cfg = _resolve(*argv)
    assert cfg.negative == "blurry, text"


def test_unset_is_the_models_default_and_empty_stays_empty():
    assert _resolve().negative is None  # the model's default negative prompt
    assert _resolve("negative=").negative == ""  # an explicit empty negative prompt


@pytest.mark.parametrize("key", ["negative", "negative_prompt"])
def test_a_config_yaml_takes_either_key(key, tmp_path):
    cfg = tmp_path / "a.yaml"
    cfg.write_text(f"{key}: blurry\n")
    assert _resolve("--config", str(cfg)).negative == "blurry"


def test_two_different_values_are_refused():
    with pytest.raises(UserError, match="negative given twice: --negative a and negative_prompt=b"):
        _resolve("--negative", "a", "negative_prompt=b")


def test_the_config_has_only_the_current_key():
    cfg = _resolve("negative_prompt=blurry")
    assert cfg.negative == "blurry" and not hasattr(cfg, "negative_prompt")


def test_negative_key_runs_the_tiny_model(animate_inputs, cli):
    """The reviewer's command line, end to end: the key reaches the render."""
    p = cli("animate", "--model", "tiny", "--image", "char.png", "--pose", "pose", "--face", "face", "--steps", "1",
            "negative=blurry", "--fps", "8", "-o", "anim.mp4", cwd=animate_inputs)
    assert p.returncode == 0, p.stderr
    assert (animate_inputs / "anim.mp4").is_file()
