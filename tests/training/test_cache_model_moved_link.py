"""A cache built through a symlink that now points elsewhere: the refusal says where the name
pointed then and now (it read "built with model=m but this run trains model=m")."""

import json

import pytest

from video.config import ConfigError
from video.training.cache import LatentCache


def test_one_name_two_targets_says_both(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    link = tmp_path / "m"
    link.symlink_to(a, target_is_directory=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "index.json").write_text(json.dumps({"items": 0, "model": str(link), "model_path": str(a.resolve())}))
    LatentCache(cache).check_model(str(link))  # still the same folder
    link.unlink()
    link.symlink_to(b, target_is_directory=True)
    with pytest.raises(ConfigError) as e:
        LatentCache(cache).check_model(str(link))
    msg = str(e.value)
    assert str(a.resolve()) in msg and str(b.resolve()) in msg and "--out" in msg and "\n" not in msg
