"""One rule for the auto / on / off keys (``split_guidance``, ``vae_tiling``) whichever way they
are given: a flag, ``key=value`` or a ``--config`` YAML each take auto, and on / off as on/off,
yes/no, true/false or 1/0 in any case (``--split-guidance yes`` was refused where
``split_guidance=yes`` passed, YAML's unquoted ``vae_tiling: on`` was refused with a quoting
hint, ``split_guidance=1`` got OmegaConf's ``Union[str, bool]`` message). A config error is one
line in the project's words, never OmegaConf's (``Value 'True' of type 'bool' could not be
converted to Integer``, ``Key 'bogus' not in 'EditConfig'``); a yes/no key refuses 2 (it was
True); a flag given ``null`` unsets a key that can be unset, as ``key=null`` does.

Each command run names a model that does not exist: a run that got past its config says "not
found" about the model."""

from __future__ import annotations

import pytest

from video.config import ConfigError, load_config

MISSING = "/nonexistent/model"
KEYS = [("img2vid", "split_guidance", "--split-guidance"), ("txt2vid", "vae_tiling", "--vae-tiling")]


def _argv(route: str, key: str, flag: str, value: str, tmp_path) -> list[str]:
    """The words that give ``key`` ``value`` by ``route``: its flag, key=value, or a YAML line."""
    if route == "flag":
        return [flag, value]
    if route == "key=value":
        return [f"{key}={value}"]
    path = tmp_path / "run.yaml"
    path.write_text(f"{key}: {value}\n")  # unquoted: YAML reads on / yes / true as True, 1 as 1
    return ["--config", str(path)]


@pytest.mark.parametrize("route", ["flag", "key=value", "yaml"])
@pytest.mark.parametrize("command, key, flag", KEYS)
@pytest.mark.parametrize("value", ["auto", "on", "Yes", "true", "1", "OFF", "no", "0"])
def test_every_route_takes_the_same_spellings(cli, tmp_path, command, key, flag, route, value):
    r = cli(command, "--model", MISSING, "--output", tmp_path / "o.mp4", *_argv(route, key, flag, value, tmp_path))
    assert r.returncode == 2 and len(r.errors) == 1 and "not found" in r.errors[0], r.stderr


@pytest.mark.parametrize("route", ["flag", "key=value", "yaml"])
@pytest.mark.parametrize("command, key, flag", KEYS)
@pytest.mark.parametrize("value", ["maybe", "2"])
def test_every_route_refuses_the_same_words_in_one_line(cli, tmp_path, command, key, flag, route, value):
    r = cli(command, "--model", MISSING, "--output", tmp_path / "o.mp4", *_argv(route, key, flag, value, tmp_path))
    assert r.returncode == 2 and r.errors == [f"error: {flag} takes auto, on or off; got '{value}'"], r.stderr


@pytest.mark.parametrize("value, want", [("auto", None), ("AUTO", None), (True, True), (False, False), (1, True),
                                         (0, False), ("on", True), ("No", False), ("TRUE", True), ("0", False)])
def test_tristate_reads_each_spelling(value, want):
    from video.flags import tristate

    assert tristate("--x", value) is want


@pytest.mark.parametrize("schema_name", ["Img2VidConfig", "Txt2VidConfig"])
def test_the_yaml_keeps_its_boolean_for_the_tristate(tmp_path, schema_name):
    import video.runtime.config as rc

    key = "split_guidance" if schema_name == "Img2VidConfig" else "vae_tiling"
    path = tmp_path / "run.yaml"
    path.write_text(f"{key}: on\n")
    assert getattr(load_config(getattr(rc, schema_name), path), key) is True


def _error(schema, overrides=None, yaml_text=None, tmp_path=None, **kw) -> str:
    source = None
    if yaml_text is not None:
        source = tmp_path / "c.yaml"
        source.write_text(yaml_text)
    with pytest.raises(ConfigError) as e:
        load_config(schema, source, overrides, **kw)
    return str(e.value)


@pytest.mark.parametrize("overrides, yaml_text, line", [
    (["steps=true"], None, "config key 'steps': must be a whole number; got 'true'"),
    (None, "steps: true\n", "config key 'steps': must be a whole number; got 'true'"),
    (["steps=1.5"], None, "config key 'steps': must be a whole number; got '1.5'"),
    (["noise_aug=abc"], None, "config key 'noise_aug': must be a number; got 'abc'"),
    (["steps=none"], None, "config key 'steps': must be a whole number; got 'none' (null unsets it)"),
    (["bogus=1"], None, "unknown config key 'bogus'"),
    (None, "bogus: 1\n", "unknown config key 'bogus'"),
    (["stpes=1"], None, "unknown config key 'stpes'; did you mean 'steps'?"),
    (["optim.lr=1"], None, "unknown config key 'optim.lr'"),
    (["steps.x=1"], None, "unknown config key 'steps.x' ('steps' is a single value, not a group of settings)"),
])
def test_img2vid_config_errors_are_in_our_words(tmp_path, overrides, yaml_text, line):
    from video.runtime.config import Img2VidConfig

    assert _error(Img2VidConfig, overrides, yaml_text, tmp_path) == line


def test_a_long_key_list_says_how_to_list_it_and_a_short_one_names_them():
    from data_curation.recipe import Recipe
    from video.runtime.config import Img2VidConfig

    assert _error(Img2VidConfig, ["bogus=1"], keys_hint="see --help") == "unknown config key 'bogus' (see --help)"
    assert _error(Recipe, ["split.maxs=5"]) == ("unknown config key 'split.maxs'; did you mean 'split.max_s'? "
                                                "(keys: split.min_s, split.max_s, split.trim_s, split.extract)")


def test_a_list_item_is_named_by_its_place():
    from video.training.config import TrainConfig

    assert _error(TrainConfig, ["optim.betas=[a,b]"]) == "config key 'optim.betas[0]': must be a number; got 'a'"


@pytest.mark.parametrize("value", ["2", "-1", "maybe", "1.0"])
@pytest.mark.parametrize("route", ["key=value", "yaml"])
def test_a_yes_no_key_refuses_other_numbers_and_words(tmp_path, value, route):
    from video.training.config import TrainConfig

    if route == "yaml":
        line = _error(TrainConfig, yaml_text=f"data:\n  shuffle_tags: {value}\n", tmp_path=tmp_path)
    else:
        line = _error(TrainConfig, [f"data.shuffle_tags={value}"])
    assert line == f"config key 'data.shuffle_tags': must be yes or no; got '{value}'"


@pytest.mark.parametrize("value, want", [("yes", True), ("NO", False), ("on", True), ("off", False),
                                         ("true", True), ("False", False), ("1", True), ("0", False)])
def test_a_yes_no_key_takes_its_spellings(value, want):
    from video.training.config import TrainConfig

    assert load_config(TrainConfig, None, [f"activation_checkpointing={value}"]).activation_checkpointing is want


@pytest.mark.parametrize("argv, line", [
    (["steps=true"], "error: config key 'steps': must be a whole number; got 'true'"),
    (["--steps", "true"], "error: --steps: must be a whole number; got 'true'"),  # a flag's value: its flag
    (["bogus=1"], "error: unknown config key 'bogus' (--help lists them: a key is a flag's name with _ for -)"),
])
def test_the_cli_says_it_in_one_line_with_exit_2(cli, tmp_path, argv, line):
    r = cli("img2vid", "--model", MISSING, "--output", tmp_path / "o.mp4", *argv)
    assert r.returncode == 2 and r.errors == [line] and "Traceback" not in r.stderr, r.stderr


def test_edit_invert_two_is_refused(cli, tmp_path):
    r = cli("edit", "recolour", "--video", tmp_path / "x.mp4", "--output", tmp_path / "o.mp4", "invert=2")
    assert r.returncode == 2 and r.errors == ["error: config key 'invert': must be yes or no; got '2'"], r.stderr


def test_a_flag_given_null_unsets_as_key_null_does():
    from video.runtime.config import Img2VidConfig, Txt2VidConfig

    assert load_config(Img2VidConfig, None, None, {"steps": "null"}).steps is None
    assert load_config(Img2VidConfig, None, ["steps=3"], {"fps": "null"}).fps is None
    assert load_config(Txt2VidConfig, None, None, {"prompt": "null"}).prompt == "null"  # text: as typed
    assert _error(Img2VidConfig, None, None, values={"seed": "null"}) == (
        "config key 'seed' cannot be null: it has no unset value; give a value of type int")


def test_the_flag_null_reaches_the_model_on_the_command_line(cli, tmp_path):
    r = cli("img2vid", "--model", MISSING, "--output", tmp_path / "o.mp4", "--steps", "null")
    assert r.returncode == 2 and len(r.errors) == 1 and "not found" in r.errors[0], r.stderr


def test_a_tristate_key_set_to_null_says_its_values():
    """It said "give a value of type StringNode" (OmegaConf's node class)."""
    from video.config import ConfigError, load_config
    from video.runtime.config import Img2VidConfig

    with pytest.raises(ConfigError, match=r"^config key 'split_guidance' cannot be null: .*give auto, on or off$"):
        load_config(Img2VidConfig, None, ["split_guidance=null"])
