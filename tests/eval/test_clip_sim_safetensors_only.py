"""A CLIP folder holding only a pickled ``pytorch_model.bin`` is refused, as every weight file
is (README: loading a pickle can run code), with one line saying so: transformers loaded it."""

from __future__ import annotations

import pytest
import torch

from eval.clip_sim import ClipSim
from eval.inputs import EvalError


def test_a_bin_only_clip_folder_is_one_clear_line(bin_only_clip):
    with pytest.raises(EvalError) as e:
        ClipSim(bin_only_clip)
    msg = str(e.value)
    assert "\n" not in msg and str(bin_only_clip) in msg
    assert "pytorch_model.bin is pickled and refused" in msg and "save_pretrained" in msg


def test_a_bin_only_videomae_folder_is_one_clear_line(tmp_path):
    from safetensors.torch import load_file
    from transformers import VideoMAEConfig, VideoMAEModel

    from eval.fvd import VideoMAEFeatures

    folder = tmp_path / "videomae"
    VideoMAEModel(VideoMAEConfig(image_size=16, patch_size=8, num_frames=2, tubelet_size=2, hidden_size=16,
                                 num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)).save_pretrained(folder)
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    with pytest.raises(EvalError) as e:
        VideoMAEFeatures(folder)
    assert "\n" not in str(e.value) and "pytorch_model.bin is pickled and refused" in str(e.value)
