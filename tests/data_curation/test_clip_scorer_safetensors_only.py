"""The curation clip scorer and captioner load safetensors only, as every weight file (README):
a folder with only a pickled ``pytorch_model.bin`` is one line naming it, not loaded."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from data_curation.scorers.clip import Captioner, Scorer


def test_a_bin_only_clip_folder_is_refused_in_one_line(bin_only_clip):
    recipe = SimpleNamespace(models=SimpleNamespace(clip=str(bin_only_clip), captioner=None, aesthetic_head=None))
    with pytest.raises(ValueError) as e:
        Scorer(recipe)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"models.clip {bin_only_clip}: cannot load a CLIP model")
    assert "pytorch_model.bin is pickled and refused" in msg


def test_a_bin_only_captioner_folder_is_refused_in_one_line(bin_only_clip):
    with pytest.raises(ValueError) as e:  # config.json names CLIPModel: the class it would load
        Captioner(str(bin_only_clip))
    msg = str(e.value)
    assert "\n" not in msg and "pytorch_model.bin is pickled and refused" in msg
