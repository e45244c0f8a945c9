"""A bad value inside a recipe rule is named by its place and field, in the config loader's own
words, by ``--set`` and in a YAML file alike; a rules mapping where the list goes is refused by
both routes; ``motion_short_side`` has a ceiling. Before: ``rules[0].min: abc`` was reported as
``'rules': must be a list``, ``--set rules={...}`` was taken as a one-item list that the same
mapping in a file was refused as, and ``motion_short_side=100000`` was killed for memory with no
message."""

import pytest

from data_curation.recipe import MAX_MOTION_SIDE, load_recipe
from video.config import ConfigError

BAD_ITEMS = [
    ("[{column: motion_mean, min: abc}]", "config key 'rules[0].min': must be a number; got 'abc'"),
    ("[{column: motion_mean, min: 1}, {column: brightness, max: [1]}]",
     "config key 'rules[1].max': must be a number; got [1]"),
    ("[{column: [a], min: 1}]", "config key 'rules[0].column': must be text; got ['a']"),
    ("[abc]", "config key 'rules[0]': must be a mapping of column, min, max, min_quantile, max_quantile; got 'abc'"),
]


@pytest.mark.parametrize("rules, message", BAD_ITEMS)
def test_a_bad_value_in_a_rule_is_named_by_place_with_set(rules, message):
    with pytest.raises(ConfigError) as e:
        load_recipe("quick", [f"rules={rules}"])
    assert str(e.value) == message


def test_a_bad_value_in_a_rule_is_named_by_place_in_yaml(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("rules:\n  - column: motion_mean\n    min: 0.1\n  - column: brightness\n    max: abc\n")
    with pytest.raises(ConfigError) as e:
        load_recipe(str(f))
    assert str(e.value) == "config key 'rules[1].max': must be a number; got 'abc'"


def test_an_unknown_key_in_a_rule_is_named_by_place(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_recipe("quick", ["rules=[{column: motion_mean, mn: 1}]"])
    assert str(e.value) == "config key 'rules[0].mn': unknown key; did you mean 'min'?"
    f = tmp_path / "r.yaml"
    f.write_text("rules:\n  - column: motion_mean\n    mn: 0.1\n")
    with pytest.raises(ConfigError) as in_yaml:
        load_recipe(str(f))
    assert "rules[0].mn" in str(in_yaml.value) and "Key 'mn' not in" not in str(in_yaml.value)


def test_a_rules_mapping_is_refused_by_set_and_in_yaml_alike(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text("rules: {column: motion_mean, min: 1}\n")
    with pytest.raises(ConfigError) as in_yaml:
        load_recipe(str(f))
    with pytest.raises(ConfigError) as by_set:
        load_recipe("quick", ["rules={column: motion_mean, min: 1}"])
    assert str(by_set.value) == str(in_yaml.value)
    assert str(by_set.value).startswith("config key 'rules': must be a list of rules, got a mapping; put it in [ ]")
    with pytest.raises(ConfigError, match="'scorers': must be a list of scorer names, got a mapping"):
        load_recipe("quick", ["scorers={motion: 1}"])
    assert [r.min for r in load_recipe("quick", ["rules=[{column: motion_mean, min: 1}]"]).rules] == [1.0]


def test_motion_short_side_has_a_ceiling(tmp_path, src, curate):
    assert load_recipe("quick", [f"motion_short_side={MAX_MOTION_SIDE}"]).motion_short_side == MAX_MOTION_SIDE
    with pytest.raises(ConfigError, match=f"'motion_short_side': at most {MAX_MOTION_SIDE} px"):
        load_recipe("quick", [f"motion_short_side={MAX_MOTION_SIDE + 1}"])
    p = curate("run", src, "--out", tmp_path / "o", "--set", "motion_short_side=100000", "--workers", "0", "--quiet")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        "curate run: config key 'motion_short_side': at most 1024 px (every sample of a clip is held at that size, "
        "enlarged from a smaller source; flow needs no more); got 100000"]
    assert not (tmp_path / "o").exists()
