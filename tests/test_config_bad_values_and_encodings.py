"""Config input that used to end in a traceback is one ``error:`` line naming the key or file:
a ``key=value`` whose value is not valid YAML (an unclosed ``[`` or quote), a mapping or list
where a list-of-text key wants text (``lora:`` / ``- style: 0.8``, a slip for ``style:0.8``),
and a config file that is not UTF-8 (Latin-1, or the UTF-16 that PowerShell 5's ``>`` writes).
A UTF-8 file with a byte-order mark (Notepad) reads as the same file without one."""

from __future__ import annotations

import pytest

from video.config import ConfigError, NotUTF8, load_config, model_config_kind, read_utf8
from video.runtime.config import Img2VidConfig


def one_error(r, *needles: str) -> str:
    """The single ``error:`` line of a run that exited 2 with no traceback, checked for ``needles``."""
    assert r.returncode == 2 and len(r.errors) == 1 and "Traceback" not in r.stderr, r.stderr
    for n in needles:
        assert n in r.errors[0], r.errors[0]
    return r.errors[0]


# --- key=value values that are not YAML ------------------------------------------------------

@pytest.mark.parametrize("argv, key, shown, reason", [
    (["img2vid", "lora='"], "lora", "(')", "found unexpected end of stream"),
    (["img2vid", "lora=[a"], "lora", "([a)", "did not find expected ',' or ']'"),
    (["train", "dit_stage1_image", "data.buckets=[[32", "--dry-run"], "data.buckets", "([[32)",
     "did not find expected ',' or ']'"),
])
def test_a_value_that_is_not_yaml_is_one_line(cli, argv, key, shown, reason):
    line = one_error(cli(*argv), f"config key '{key}': not a valid value {shown}: {reason}")
    assert line == f"error: config key '{key}': not a valid value {shown}: {reason}"


@pytest.mark.parametrize("argv, line", [  # a number key's value is not read as YAML at all
    (["img2vid", "min_cfg=[1"], "config key 'min_cfg': must be a number in decimal digits; got '[1'"),
    (["img2vid", "steps='"], "config key 'steps': must be a whole number; got \"'\""),
    (["eval", "gen", "fvd_frames=["], "config key 'fvd_frames': must be a whole number; got '['"),
])
def test_a_number_keys_value_that_is_not_a_number_is_one_line(cli, argv, line):
    assert one_error(cli(*argv)) == f"error: {line}"


def test_load_config_names_the_key_of_a_bad_value():
    assert load_config(Img2VidConfig, None, ["sampler=["]).sampler == "["  # a text key: taken as typed
    with pytest.raises(ConfigError, match=r"^config key 'lora': not a valid value \(\[a\): "):
        load_config(Img2VidConfig, None, ["lora=[a"])
    with pytest.raises(ConfigError, match=r"^config key 'frames': must be a whole number; got '\{a'$"):
        load_config(Img2VidConfig, None, ["frames={a"])


def test_curate_set_value_that_is_not_yaml_is_one_line(curate, tmp_path):
    r = curate("run", tmp_path / "x.mp4", "--out", tmp_path / "o", "--set", "scorers=[motion")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == ("curate run: config key 'scorers': not a valid value ([motion): "
                                "did not find expected ',' or ']'")
    r = curate("run", tmp_path / "x.mp4", "--out", tmp_path / "o", "--set", "split.max_s=[1")
    assert r.stderr.strip() == "curate run: config key 'split.max_s': must be a number in decimal digits; got '[1'"


# --- list-of-text keys given mappings or lists -----------------------------------------------

def test_lora_item_written_as_a_mapping_says_how_to_write_it(cli, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lora:\n  - style: 0.8\n")
    line = one_error(cli("img2vid", "--config", cfg), "config key 'lora'", "{'style': 0.8}")
    assert "'- style:0.8'" in line and "lora=style:0.8" in line


@pytest.mark.parametrize("override, needle", [
    ("lora={a: 1}", "got the mapping {'a': 1}"),
    ("lora=[[a]]", "got the list ['a']"),
    ("lora=[{a: 1, b: 0.5}]", "'- a:1', '- b:0.5' lines"),
])
def test_lora_override_items_must_be_text(cli, override, needle):
    one_error(cli("img2vid", override), "config key 'lora': each item must be text (FILE or FILE:SCALE)", needle)


def test_lora_as_a_mapping_of_scales_says_how_to_write_it():
    with pytest.raises(ConfigError, match=r"'lora': must be a list, got a mapping; .*'- style:0\.8'"):
        load_config(Img2VidConfig, {"lora": {"style": 0.8}})


def test_edit_reference_item_as_a_mapping_is_one_line(cli, tmp_path):
    cfg = tmp_path / "e.yaml"
    cfg.write_text("reference:\n  - img: a.png\n")
    one_error(cli("edit", "recolour", "--config", cfg),
              "config key 'reference': each item must be text, got the mapping {'img': 'a.png'}")


def test_train_lora_targets_item_as_a_mapping_is_one_line(cli):
    one_error(cli("train", "dit_lora", "lora.targets=[{a: 1}]", "--dry-run"),
              "config key 'lora.targets': each item must be text, got the mapping {'a': 1}")


def test_text_items_that_are_scalars_still_load():
    c = load_config(Img2VidConfig, {"lora": ["a.safetensors:0.5", "b"]}, ["seed=3"])
    assert c.lora == ["a.safetensors:0.5", "b"]
    assert load_config(Img2VidConfig, None, ["lora=a:1,b:0.5"]).lora == ["a:1", "b:0.5"]


# --- files that are not UTF-8 ----------------------------------------------------------------

UTF16 = "steps: 1\n".encode("utf-16")  # BOM first, as PowerShell 5's `>` writes
LATIN1 = "steps: 1\n# café\n".encode("latin-1")


@pytest.mark.parametrize("data, extra", [(UTF16, "it looks like UTF-16"), (LATIN1, "")])
def test_config_file_not_utf8_is_one_line_naming_it(cli, tmp_path, data, extra):
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(data)
    for argv in (["img2vid", "--config", cfg], ["train", cfg, "--dry-run"]):
        line = one_error(cli(*argv), f"config file {cfg}: not UTF-8 text (", "save it as UTF-8)", extra)
        assert "UTF-16" in line if extra else "UTF-16" not in line


def test_recipe_not_utf8_is_named(curate, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_bytes(UTF16)
    r = curate("run", tmp_path / "x.mp4", "--out", tmp_path / "o", "--recipe", recipe)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert f"config file {recipe}: not UTF-8 text" in r.stderr


def test_model_config_not_utf8_is_one_line(cli, tmp_path):
    cfg = tmp_path / "m.yaml"
    cfg.write_bytes(LATIN1)
    assert model_config_kind(cfg) == "SVD"  # load_config names the problem
    one_error(cli("img2vid", "--model-config", cfg), f"config file {cfg}: not UTF-8 text")


def test_utf8_bom_is_dropped(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(b'\xef\xbb\xbfsteps: 3\nsampler: "euler"\n')
    c = load_config(Img2VidConfig, cfg)
    assert (c.steps, c.sampler) == (3, "euler")
    assert read_utf8(cfg).startswith("steps")
    cfg.write_bytes(LATIN1)
    with pytest.raises(NotUTF8) as e:
        read_utf8(cfg)
    assert e.value.reason == "not UTF-8 text (save it as UTF-8)" and str(e.value).startswith(str(cfg))
