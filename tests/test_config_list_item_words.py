"""A config list whose items are settings groups (curate's ``rules``, quickstart's ``stages``):
a refused item is named by its place and field in the loader's words, never as "must be a list"
of the whole list, nor in OmegaConf's."""

from video.config import ConfigError, load_config
from video.config_words import list_item_message
from video.training.quickstart import QuickstartConfig


def _error(overrides: list[str]) -> str:
    try:
        load_config(QuickstartConfig, None, overrides)
    except ConfigError as e:
        return str(e)
    raise AssertionError(f"{overrides} was accepted")


def test_quickstart_stages_name_the_item_and_field():
    assert _error(["stages=[{config: [a]}]"]) == "config key 'stages[0].config': must be text; got ['a']"
    assert _error(["stages=[{config: a}, b]"]) == "config key 'stages[1]': must be a mapping of config, overrides; got 'b'"


def test_list_item_message_names_an_unknown_field_with_the_close_one():
    from omegaconf import OmegaConf

    from data_curation.recipe import Recipe

    node = OmegaConf.structured(Recipe)._get_node("rules")
    assert list_item_message("rules", node, [{"column": "motion_mean", "mn": 1}]) == \
        "config key 'rules[0].mn': unknown key; did you mean 'min'?"
    assert list_item_message("rules", node, [{"column": "motion_mean", "zz": 1}]) == \
        "config key 'rules[0].zz': unknown key (keys: column, min, max, min_quantile, max_quantile)"
    assert list_item_message("rules", node, [{"column": "motion_mean", "min": 1}]) is None
    betas = OmegaConf.create({"b": [1.0]})._get_node("b")  # a list of plain values: not this function's
    assert list_item_message("b", betas, ["x"]) is None
