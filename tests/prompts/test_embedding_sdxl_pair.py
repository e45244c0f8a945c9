"""An SDXL textual inversion (``clip_l`` and ``clip_g``, one tensor per SDXL text encoder: what
civitai mostly serves) is named as one, not "no 'emb_params' and not exactly one tensor"."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from video.prompts.embeddings import load_embedding_file, load_embeddings


def test_an_sdxl_pair_is_named(tmp_path):
    save_file({"clip_l": torch.zeros(2, 768), "clip_g": torch.zeros(2, 1280)}, str(tmp_path / "style.safetensors"))
    with pytest.raises(ValueError, match=r"style.safetensors: an SDXL embedding \(clip_l and clip_g\): not for this "
                                         r"text encoder"):
        load_embedding_file(tmp_path / "style.safetensors")
    with pytest.warns(UserWarning, match="SDXL embedding"):
        assert load_embeddings(tmp_path) == {}
    # the key of one of its encoders still picks it, as before
    assert load_embedding_file(tmp_path / "style.safetensors", key="clip_l").shape == (2, 768)
