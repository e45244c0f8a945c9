"""``null`` for upscale's refine options, as the README says it: unset (so not "given", and not
refused without --refine) where the key has an unset value (``prompt``: empty, ``steps``: the
model's default); refused naming the key where the schema's type has none (``seed`` an int,
``strength`` a float, ``device`` / ``dtype`` / ``sdpa`` texts with a default), as every such
key is (video.config: ``seed=null`` is refused by img2vid too)."""

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (12, 16, 3)).astype(np.uint8)).save(path)
    return path


def test_null_prompt_and_steps_are_unset_not_given(cli, image, tmp_path):
    r = cli("upscale", image, "--model", "bicubic", "prompt=null", "steps=~", "-o", tmp_path / "out.png")
    assert r.returncode == 0, r.stderr
    assert Image.open(tmp_path / "out.png").size == (32, 24)


NO_UNSET = {"seed": "int", "strength": "float", "device": "str", "dtype": "str", "sdpa": "str"}  # the schema's types


@pytest.mark.parametrize("key", NO_UNSET)
def test_null_for_a_key_without_an_unset_value_is_refused(cli, image, tmp_path, key):
    r = cli("upscale", image, "--model", "bicubic", f"{key}=null", "-o", tmp_path / "out.png")
    assert r.returncode == 2, r.stderr
    assert r.errors == [f"error: config key '{key}' cannot be null: it has no unset value; "
                        f"give a value of type {NO_UNSET[key]}"]
    yaml = tmp_path / "c.yaml"
    yaml.write_text(f"{key}: null\n")
    r = cli("upscale", image, "--model", "bicubic", "--config", yaml, "-o", tmp_path / "out.png")
    assert r.returncode == 2 and f"'{key}' cannot be null" in r.stderr
