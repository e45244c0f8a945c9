"""The curation clip scorer and captioner load safetensors only, as every weight file (README):
a folder with only a pickled ``pytorch_model.bin`` is one line naming it, not loaded."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from data_curation.scorers.clip import Captioner, Scorer


@pytest.fixture
def bin_only_clip(tmp_path):
    from safetensors.torch import load_file
    from transformers import CLIPConfig, CLIPModel

    cfg = CLIPConfig(
        text_config=dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(image_size=16, patch_size=8, hidden_size=16, intermediate_size=32,
                           num_hidden_layers=1, num_attention_heads=2),
        projection_dim=8)
    folder = tmp_path / "clip"
    CLIPModel(cfg).save_pretrained(folder)
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    return folder


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
