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
