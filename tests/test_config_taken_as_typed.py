"""Config input is taken as typed in every layer (a flag, ``key=value``, a YAML file, a dict from
Python): ``${`` in a text is text, not an OmegaConf interpolation (``o_${seed}.png`` wrote
o_5.png); a number key takes plain decimal only (YAML 1.1 read ``steps=1:30`` as 90); a config
file that is a bare ``42``, breaks YAML, is given twice or starts with ``~`` is one line or
works; a flag's bad value is said of its flag, a ``key=value``'s or YAML line's of its key."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from video.cli import build_parser
from video.config import CONFIG_DIR, ConfigError, load_config, load_model_config
from video.flags import UserError, given_keys, parse_args, resolve_flags
from video.runtime.config import IMG2VID_FLAGS, TXT2VID_FLAGS, Img2VidConfig, Txt2VidConfig

MISSING = "no-such-model-dir"  # the run stops at its config, before any model is looked for

# --- ${ is text --------------------------------------------------------------------------------

TEXTS = ["a poster that says ${seed}", "a price tag: ${price}", "${oc.env:HOME}", "unclosed ${",
         "escaped \\${seed}", "two \\\\${seed} and ${seed}", "a back\\slash and no brace"]


@pytest.mark.parametrize("text", TEXTS)
def test_dollar_brace_is_text_in_every_layer(tmp_path, text):
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text(f"prompt: {json.dumps(text)}\nseed: 5\n")  # a JSON string is a YAML one
    assert load_config(Txt2VidConfig, yaml_file).prompt == text
    assert load_config(Txt2VidConfig, None, [f"prompt={text}", "seed=5"]).prompt == text
    assert load_config(Txt2VidConfig, values={"prompt": text, "seed": "5"}).prompt == text
    assert load_config(Txt2VidConfig, {"prompt": text, "seed": 5}).prompt == text


def test_dollar_brace_in_an_output_path_lists_and_free_form_groups(tmp_path):
    from video.config import TextToVideoConfig
    from video.training.config import TrainConfig

    cfg = load_config(Txt2VidConfig, values={"prompt": "a poster that says ${seed}", "output": "o_${seed}.png",
                                             "seed": "5"})
    assert (cfg.prompt, cfg.output) == ("a poster that says ${seed}", "o_${seed}.png")
    assert load_config(TrainConfig, None, ["out=runs/${seed}x"]).out == "runs/${seed}x"
    lists = load_config(Img2VidConfig, None, ['lora=["a${b}.safetensors", "c${x.safetensors"]'])
    assert lists.lora == ["a${b}.safetensors", "c${x.safetensors"]
    yaml_file = tmp_path / "t2v.yaml"
    yaml_file.write_text('dit:\n  name: "${name}"\n  parts: ["${oc.env:HOME}"]\n')
    assert load_config(TextToVideoConfig, yaml_file).dit == {"name": "${name}", "parts": ["${oc.env:HOME}"]}


def test_dollar_brace_from_the_command_line():
    args = parse_args(build_parser(), ["txt2vid", "--prompt", "a price tag: ${price}", "--output", "o_${seed}.png",
                                       "--seed", "5", "negative=${oc.env:HOME}"])
    cfg = resolve_flags(Txt2VidConfig, args, TXT2VID_FLAGS)
    assert (cfg.prompt, cfg.output, cfg.negative, cfg.seed) == ("a price tag: ${price}", "o_${seed}.png",
                                                                "${oc.env:HOME}", 5)


# --- number keys: plain decimal -----------------------------------------------------------------

@pytest.mark.parametrize("key, text", [("steps", "1:30"), ("steps", "0x10"), ("steps", "1_0"), ("seed", "0o17"),
                                       ("noise_aug", "0x10"), ("noise_aug", "1_0.5"), ("noise_aug", "1:30")])
def test_a_number_key_refuses_what_is_not_plain_decimal(key, text):
    what = "a number" if key == "noise_aug" else "a whole number"
    line = f"config key '{key}': must be {what} in decimal digits; got '{text}'"
    with pytest.raises(ConfigError) as kv:
        load_config(Img2VidConfig, None, [f"{key}={text}"])
    with pytest.raises(ConfigError) as flag:
        load_config(Img2VidConfig, values={key: text})
    assert str(kv.value) == str(flag.value) == line


@pytest.mark.parametrize("key, text, want", [
    ("steps", "12", 12), ("seed", "-3", -3), ("seed", "+3", 3), ("seed", "017", 17), ("steps", " 12", 12),
    ("noise_aug", "1.5", 1.5), ("noise_aug", "1e-4", 0.0001), ("noise_aug", ".5", 0.5), ("noise_aug", "5.", 5.0),
    ("noise_aug", "2", 2.0), ("noise_aug", "inf", math.inf), ("noise_aug", "-Infinity", -math.inf),
])
def test_a_number_key_takes_plain_decimal(key, text, want):
    assert getattr(load_config(Img2VidConfig, None, [f"{key}={text}"]), key) == want
    assert getattr(load_config(Img2VidConfig, values={key: text}), key) == want


def test_nan_is_still_taken_where_it_was_and_yaml_numbers_are_unchanged(tmp_path):
    assert math.isnan(load_config(Img2VidConfig, None, ["noise_aug=nan"]).noise_aug)  # check_ranges refuses it
    yaml_file = tmp_path / "n.yaml"
    yaml_file.write_text("steps: 12\nnoise_aug: 1e-4\nseed: -3\n")
    cfg = load_config(Img2VidConfig, yaml_file)
    assert (cfg.steps, cfg.noise_aug, cfg.seed) == (12, 0.0001, -3)


# --- a flag's value is said of its flag ----------------------------------------------------------

@pytest.mark.parametrize("argv, line", [
    (["--fps", "7.5"], "--fps: must be a whole number; got '7.5'"),
    (["--seed", "abc"], "--seed: must be a whole number; got 'abc'"),
    (["--steps", "1:30"], "--steps: must be a whole number in decimal digits; got '1:30'"),
    (["--memory-budget", "x"], "--memory-budget: must be a number; got 'x'"),
    (["fps=7.5"], "config key 'fps': must be a whole number; got '7.5'"),
    (["steps=1:30"], "config key 'steps': must be a whole number in decimal digits; got '1:30'"),
])
def test_a_bad_number_is_named_as_it_was_given(cli, tmp_path, argv, line):
    r = cli("img2vid", "--model", MISSING, "--output", tmp_path / "o.mp4", *argv)
    assert r.returncode == 2 and r.errors == [f"error: {line}"] and "Traceback" not in r.stderr, r.stderr


def test_a_bad_number_in_yaml_keeps_the_config_key_wording(cli, tmp_path):
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("fps: 7.5\n")
    r = cli("img2vid", "--config", yaml_file, "--fps", "8", "--model", MISSING)
    assert r.returncode == 2 and r.errors == ["error: config key 'fps': must be a whole number; got '7.5'"], r.stderr


# --- config files --------------------------------------------------------------------------------

@pytest.mark.parametrize("doc, what", [("42", "a number"), ("1.5", "a number"), ("true", "true"), ("false", "false"),
                                       ("- a\n- b", "a list"), ("hello", "text")])
def test_a_config_file_that_is_no_mapping_is_one_line(cli, tmp_path, doc, what):
    f = tmp_path / "s.yaml"
    f.write_text(doc + "\n")
    line = f"config file {f} holds {what}; it must be a mapping of key: value lines"
    with pytest.raises(ConfigError) as e:
        load_config(Txt2VidConfig, f)
    assert str(e.value) == line
    for argv in (["img2vid", "--config", f], ["txt2vid", "--config", f], ["train", f, "--dry-run"],
                 ["img2vid", "--model-config", f, "--model", MISSING]):
        r = cli(*argv)
        assert r.returncode == 2 and r.errors == [f"error: {line}"] and "Traceback" not in r.stderr, (argv, r.stderr)


def test_a_recipe_that_is_no_mapping_is_one_line(curate, tmp_path):
    f = tmp_path / "b.yaml"
    f.write_text("true\n")
    r = curate("run", tmp_path / "x.mp4", "--out", tmp_path / "o", "--recipe", f)
    assert r.returncode == 2 and r.stderr.strip() == (f"curate run: config file {f} holds true; it must be a "
                                                      "mapping of key: value lines"), r.stderr


@pytest.mark.parametrize("doc, why", [
    ("steps: 3\nsteps: 4\n", "line 2: found duplicate key steps"),
    ("steps: [1\n", "line 2: did not find expected ',' or ']'"),
    ("seed: 1\nprompt: a: b\n", "line 2: mapping values are not allowed in this context"),
])
def test_a_yaml_error_names_its_line_and_problem(tmp_path, doc, why):
    f = tmp_path / "bad.yaml"
    f.write_text(doc)
    with pytest.raises(ConfigError) as e:
        load_config(Txt2VidConfig, f)
    assert str(e.value) == f"config file {f}: not valid YAML ({why})"


def test_a_second_config_file_is_refused(cli, tmp_path):
    full, empty = tmp_path / "t.yaml", tmp_path / "empty.yaml"
    full.write_text("steps: 3\n")
    empty.write_text("")
    r = cli("txt2vid", "--config", full, f"--config={empty}", "--model", MISSING)
    assert r.returncode == 2 and r.errors == [
        f"error: --config given twice ({full} and {empty}): it takes one file; merge them into one, or give the "
        "other's settings as key=value"], r.stderr
    twice = parse_args(build_parser(), ["txt2vid", "--config", str(full), "--config", str(full)])
    assert resolve_flags(Txt2VidConfig, twice, TXT2VID_FLAGS).steps == 3  # the same file twice is one file
    with pytest.raises(UserError, match="--config given twice"):
        resolve_flags(Txt2VidConfig, parse_args(build_parser(), ["img2vid", "--config", str(full), "--config",
                                                                 str(empty)]), IMG2VID_FLAGS)


def test_tilde_in_config_file_paths_is_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "g.yaml").write_text("steps: 4\n")
    args = parse_args(build_parser(), ["img2vid", "--config=~/g.yaml"])
    assert resolve_flags(Img2VidConfig, args, IMG2VID_FLAGS).steps == 4
    assert given_keys(args, IMG2VID_FLAGS)["steps"] == "steps in ~/g.yaml"
    assert load_config(Img2VidConfig, "~/g.yaml").steps == 4
    shutil.copy(CONFIG_DIR / "model" / "svd_xt.yaml", tmp_path / "m.yaml")
    assert load_model_config("~/m.yaml") == load_model_config("svd_xt")


def test_a_quoted_number_is_the_number():
    """``steps="5"`` (a generated override list keeps the quotes the shell would strip): YAML
    read it as 5; the plain-decimal reading refused it 'in decimal digits' (review)."""
    from video.training.config import TrainConfig

    assert load_config(Txt2VidConfig, None, ['steps="5"', "guidance='2.5'"]).steps == 5
    assert load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", ["init_from=", "optim.lr='1e-4'"]).optim.lr == 1e-4
    with pytest.raises(ConfigError, match="steps"):
        load_config(Txt2VidConfig, None, ['steps="5\'"'])
