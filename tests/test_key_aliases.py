"""Renamed keys, declared once on a schema (``KEY_ALIASES: ClassVar[dict]``, old name -> current
key): the old name sets the current key in every layer (a ``--config`` YAML, ``key=value``, a
flag, a dict from Python), a later layer overrides an earlier one whichever spelling each used,
one layer giving both spellings at two values is a one-line error naming both, and the config
object holds only the current key. ``video animate``'s ``negative_prompt`` -> ``negative`` is
the first user (tests/edit/test_animate_negative_*.py)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from video.config import ConfigError, load_config
from video.flags import UserError, add_schema_flags, given_keys, resolve_flags


@dataclass
class Opt:
    lr: float = 0.1


@dataclass
class Schema:
    KEY_ALIASES: ClassVar[dict[str, str]] = {"old_note": "note", "old_count": "count", "old_opt": "opt"}

    note: str | None = None
    count: int = 1
    opt: Opt = field(default_factory=Opt)


FLAGS = {"--note": ("note", "a note"), "--count": ("count", "how many")}


def _yaml(tmp_path, text: str) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return str(path)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="x")
    add_schema_flags(p, FLAGS, schema=Schema)
    return p


def test_the_old_name_sets_the_current_key_in_every_layer(tmp_path):
    assert load_config(Schema, _yaml(tmp_path, "old_note: a\nold_count: 3\n")) == Schema(note="a", count=3)
    assert load_config(Schema, {"old_note": "a"}).note == "a"
    assert load_config(Schema, None, ["old_note=a", "old_count=3"]) == Schema(note="a", count=3)
    assert load_config(Schema, None, None, {"old_count": "3"}).count == 3
    cfg = load_config(Schema, None, ["old_note=a"])
    assert not hasattr(cfg, "old_note") and "old_note" not in vars(cfg)


def test_a_key_inside_a_renamed_group_is_renamed(tmp_path):
    assert load_config(Schema, None, ["old_opt.lr=0.5"]).opt.lr == 0.5
    assert load_config(Schema, _yaml(tmp_path, "old_opt:\n  lr: 0.5\n")).opt.lr == 0.5


@pytest.mark.parametrize("yaml_key", ["note", "old_note"])
@pytest.mark.parametrize("override", ["note=b", "old_note=b"])
def test_a_later_layer_wins_whichever_spelling(yaml_key, override, tmp_path):
    assert load_config(Schema, _yaml(tmp_path, f"{yaml_key}: a\n"), [override]).note == "b"
    assert load_config(Schema, None, [override], {"note": "c"}).note == "c"


@pytest.mark.parametrize("override", ["note=null", "old_note=null"])
def test_null_under_the_old_name_clears_an_earlier_layer(override, tmp_path):
    assert load_config(Schema, _yaml(tmp_path, "old_note: a\n"), [override]).note is None


def test_both_spellings_in_one_yaml_at_two_values_are_one_line_naming_both(tmp_path):
    path = _yaml(tmp_path, "old_note: b\nnote: a\n")
    with pytest.raises(ConfigError) as e:
        load_config(Schema, path, ["note=c"])  # refused even where a later layer gives it
    assert str(e.value) == (f"config file {path}: note 'a' and old_note 'b' are the same option (old_note: an old "
                            "name of note); give one")


@pytest.mark.parametrize("overrides", [["note=a", "old_note=b"], ["old_note=b", "note=a"]])
def test_both_spellings_in_key_value_at_two_values_are_refused(overrides):
    with pytest.raises(ConfigError, match=r"^note 'a' and old_note 'b' are the same option"):
        load_config(Schema, None, overrides)


def test_both_spellings_at_one_value_or_one_null_are_one_value(tmp_path):
    assert load_config(Schema, _yaml(tmp_path, "note: a\nold_note: a\n")).note == "a"
    assert load_config(Schema, _yaml(tmp_path, "note: null\nold_note: a\n")).note == "a"
    assert load_config(Schema, None, ["note=a", "old_note=null"]).note == "a"
    assert load_config(Schema, None, ["old_note=x", "old_note=b"]).note == "b"  # one spelling: the last wins


def test_an_error_names_the_current_key():
    with pytest.raises(ConfigError, match="config key 'count'"):
        load_config(Schema, None, ["old_count=lots"])


def test_a_wrong_alias_table_is_refused():
    @dataclass
    class Bad:
        KEY_ALIASES: ClassVar[dict[str, str]] = {"a": "b", "gone": "missing"}
        a: int = 0
        b: int = 0

    with pytest.raises(TypeError, match="a -> b, gone -> missing"):
        load_config(Bad)


def test_the_old_flag_is_the_current_keys_flag_and_in_help():
    p = _parser()
    assert p._option_string_actions["--old-note"] is p._option_string_actions["--note"]
    assert "--note NOTE, --old-note NOTE" in p.format_help()
    assert resolve_flags(Schema, p.parse_args(["--old-note", "a"]), FLAGS).note == "a"


@pytest.mark.parametrize("override", ["note=b", "old_note=b", "old_note=a"])
def test_a_flag_and_the_old_key_value_are_one_key_given_twice(override):
    """As for any key (:func:`resolve_flags`), at any value: one of the two would be dropped."""
    with pytest.raises(UserError, match=f"^note given twice: --note a and {override}; give it once$"):
        resolve_flags(Schema, _parser().parse_args(["--old-note", "a", override]), FLAGS)


def test_the_flag_overrides_the_old_key_in_the_yaml(tmp_path):
    args = _parser().parse_args(["--config", _yaml(tmp_path, "old_note: a\n"), "--note", "b"])
    assert resolve_flags(Schema, args, FLAGS).note == "b"


def test_given_keys_reports_the_old_name_as_the_current_key(tmp_path):
    path = _yaml(tmp_path, "old_count: 2\nold_note: null\n")
    args = _parser().parse_args(["--config", path, "old_note=a"])
    assert given_keys(args, FLAGS, schema=Schema) == {"count": f"old_count in {path}", "note": "old_note=a"}
    assert given_keys(_parser().parse_args(["old_note=null"]), FLAGS, schema=Schema) == {}


def test_animate_uses_it_and_an_unknown_key_suggests_the_current_name():
    from video.edit.animate_cli import AnimateConfig

    assert AnimateConfig.KEY_ALIASES == {"negative_prompt": "negative"}
    assert load_config(AnimateConfig, {"negative_prompt": "blurry"}).negative == "blurry"
    with pytest.raises(ConfigError, match=r"did you mean 'negative'\?"):
        load_config(AnimateConfig, None, ["negative_promt=a"])
