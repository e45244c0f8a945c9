import pytest

from video.config import ConfigError, ModelConfig, load_config, load_model_config


def test_model_configs_load_and_differ_where_published():
    svd, xt = load_model_config("svd"), load_model_config("svd_xt")
    assert (svd.sampling.num_frames, xt.sampling.num_frames) == (14, 25)
    assert (svd.sampling.min_guidance_scale, svd.sampling.max_guidance_scale) == (1.0, 2.5)
    assert (xt.sampling.min_guidance_scale, xt.sampling.max_guidance_scale) == (1.5, 3.0)
    assert svd.unet == xt.unet or svd.unet.num_frames != xt.unet.num_frames
    assert load_model_config("tiny").unet.block_out_channels == [32, 64]


def test_unknown_key_is_named(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("unet:\n  blocks: [1]\n")
    with pytest.raises(ConfigError, match="blocks"):
        load_config(ModelConfig, bad)
    with pytest.raises(ConfigError, match="num_steps"):
        load_config(ModelConfig, None, ["sampling.num_steps=3"])


def test_wrong_type_is_named():
    with pytest.raises(ConfigError, match="num_frames"):
        load_config(ModelConfig, None, ["sampling.num_frames=lots"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(ModelConfig, None, ["frames"])


def test_unknown_model_name_lists_choices():
    with pytest.raises(ConfigError, match="svd_xt"):
        load_model_config("svd_xxl")


def test_flag_values_are_not_parsed_as_yaml():
    from dataclasses import dataclass

    @dataclass
    class C:
        prompt: str = ""
        aspect: str = ""
        frames: int = 0

    c = load_config(C, None, None, {"prompt": "[kite:dog:0.5] over {a hill}", "aspect": "16:9", "frames": "5"})
    assert (c.prompt, c.aspect, c.frames) == ("[kite:dog:0.5] over {a hill}", "16:9", 5)
    with pytest.raises(ConfigError, match="frames"):
        load_config(C, None, None, {"frames": "many"})


def test_string_and_list_overrides_keep_their_text():
    """YAML 1.1 reads 16:9 as the base-60 number 969 and [a:b:0.5] as a list: a key=value for
    a string field takes the text as typed; a bare value for a list field is one item."""
    from dataclasses import dataclass, field

    from video.config import load_config

    @dataclass
    class C:
        aspect: str = ""
        prompt: str = ""
        lora: list[str] = field(default_factory=list)
        steps: int = 1

    c = load_config(C, None, ["aspect=16:9", "prompt=[cat:dog:0.5]", "lora=style.safetensors", "steps=3"])
    assert (c.aspect, c.prompt, c.lora, c.steps) == ("16:9", "[cat:dog:0.5]", ["style.safetensors"], 3)
    assert load_config(C, None, ["lora=[a, b]", "prompt="]).lora == ["a", "b"]
