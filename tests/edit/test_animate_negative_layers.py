"""``video animate``'s settings are layered (``--config`` YAML, then ``key=value``, then the
flags), and the negative prompt has two spellings: ``negative`` (``--negative``) and its old
``negative_prompt`` (``--negative-prompt``). A later layer overrides an earlier one whichever
spelling each used, as it did before ``negative`` came: a YAML's ``negative_prompt: blurry``
with ``--negative text`` was refused as two values of one option. Only one layer giving two
different values is refused. The two spellings are one key through
:attr:`AnimateConfig.KEY_ALIASES` (:func:`video.config.key_aliases`), the config has only
``negative``."""

from __future__ import annotations

import argparse

import pytest

from video.config import ConfigError
from video.edit.animate_cli import AnimateConfig, add_animate_command, resolve_animate
from video.flags import UserError

LATER = [["--negative", "text"], ["--negative-prompt", "text"], ["negative=text"], ["negative_prompt=text"]]


def _resolve(*argv: str) -> AnimateConfig:
    parser = argparse.ArgumentParser()
    add_animate_command(parser.add_subparsers())
    return resolve_animate(parser.parse_args(["animate", *argv]))


def _yaml(tmp_path, text: str) -> str:
    path = tmp_path / "animate.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("key", ["negative", "negative_prompt"])
@pytest.mark.parametrize("later", LATER, ids=lambda a: a[0].partition("=")[0])
def test_a_later_layer_overrides_the_yaml_whichever_spelling(key, later, tmp_path):
    cfg = _resolve("--config", _yaml(tmp_path, f"{key}: blurry\n"), *later)
    assert cfg.negative == "text"


@pytest.mark.parametrize("key", ["negative", "negative_prompt"])
def test_the_yaml_alone_still_sets_it(key, tmp_path):
    assert _resolve("--config", _yaml(tmp_path, f"{key}: blurry\n"), "--steps", "2").negative == "blurry"


@pytest.mark.parametrize("override, value", [("negative=", ""), ("negative_prompt=", ""), ("negative=null", None),
                                             ("negative_prompt=null", None)])
def test_key_value_empties_or_unsets_the_yamls_old_key(override, value, tmp_path):
    """An explicit empty negative prompt, or null (the model's default), replaces the YAML's
    value too: the later layer wins with whatever it says."""
    cfg = _resolve("--config", _yaml(tmp_path, "negative_prompt: blurry\n"), override)
    assert cfg.negative == value


@pytest.mark.parametrize("later", [[], ["--negative", "text"], ["negative=text"]])
def test_a_yaml_with_both_spellings_at_two_values_is_refused(later, tmp_path):
    """One layer, two values: refused even where a later layer would override both."""
    path = _yaml(tmp_path, "negative: a\nnegative_prompt: b\n")
    with pytest.raises(ConfigError, match="animate.yaml: negative 'a' and negative_prompt 'b' are the same option"):
        _resolve("--config", path, *later)


def test_a_yaml_with_both_spellings_at_one_value_is_overridden(tmp_path):
    cfg = _resolve("--config", _yaml(tmp_path, "negative: a\nnegative_prompt: a\n"), "negative_prompt=text")
    assert cfg.negative == "text"


@pytest.mark.parametrize("argv", [["negative=a", "negative_prompt=b"], ["negative_prompt=b", "negative=a"]])
def test_key_value_with_both_spellings_at_two_values_is_refused(argv, tmp_path):
    with pytest.raises(ConfigError, match="^negative 'a' and negative_prompt 'b' are the same option"):
        _resolve("--config", _yaml(tmp_path, "negative_prompt: blurry\n"), *argv)


@pytest.mark.parametrize("value", ["b", "a"])
def test_the_flag_and_the_old_key_value_are_refused(value):
    """A flag and ``key=value`` for one key is an error at any value, as for every key
    (:func:`video.flags.resolve_flags`): the old name is that key."""
    with pytest.raises(UserError, match=f"^negative given twice: --negative a and negative_prompt={value}; give it "
                                        "once$"):
        _resolve("--negative-prompt", "a", f"negative_prompt={value}")


def test_the_command_line_takes_the_later_layer(tmp_path, cli):
    """``video animate`` itself: the old YAML key and ``--negative`` pass the settings (the run
    then stops at the first missing input, before any weights load)."""
    path = _yaml(tmp_path, "negative_prompt: blurry\n")
    p = cli("animate", "--config", path, "--negative", "text", cwd=tmp_path)
    assert p.returncode == 2
    assert p.errors == ["error: give --model, --image, --pose, --face, --output (flags, key=value or --config keys)"]
    p = cli("animate", "--config", path, "negative=a", "negative_prompt=b", cwd=tmp_path)
    assert p.returncode == 2 and "are the same option" in p.errors[0]
