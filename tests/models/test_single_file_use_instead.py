"""``img2vid --model FILE`` with a .safetensors that is not a model says where the file goes
instead: a LoRA to --lora, an embedding to txt2vid's --embeddings, a network saved alone to its
whole model's folder. Before, it named only the kind ("lora: peft layout ...")."""

import pytest
import torch
from safetensors.torch import save_file

from video.models.svd import CheckpointError, load_svd


def _load_error(path) -> str:
    with pytest.raises(CheckpointError) as e:
        load_svd(path)
    return str(e.value)


def test_a_lora_file_points_at_the_lora_flag(tmp_path):
    f = tmp_path / "style.safetensors"
    save_file({"blocks.0.attn.to_q.lora_A.weight": torch.zeros(4, 8),
               "blocks.0.attn.to_q.lora_B.weight": torch.zeros(8, 4)}, str(f))
    assert _load_error(f).endswith(f"not an SVD checkpoint in sgm's layout; a LoRA: give it as --lora {f} "
                                   "to the command that renders its base model (img2vid, txt2vid)")


def test_an_embedding_points_at_txt2vid(tmp_path):
    f = tmp_path / "mystyle.safetensors"
    save_file({"emb_params": torch.zeros(2, 768)}, str(f))
    assert _load_error(f).endswith("; a textual inversion for text prompts: `video txt2vid --embeddings DIR` "
                                   "reads it (mystyle)")


def test_a_network_saved_alone_asks_for_the_whole_model(tmp_path):
    f = tmp_path / "image_encoder.safetensors"
    save_file({"vision_model.embeddings.patch_embedding.weight": torch.zeros(8, 3, 4, 4)}, str(f))
    msg = _load_error(f)
    assert "CLIP vision encoder alone" in msg and msg.endswith("; one part of a model, not a whole one: give the "
                                                               "whole model's folder")


def test_an_unknown_file_gets_no_hint(tmp_path):
    f = tmp_path / "other.safetensors"
    save_file({"something": torch.zeros(3, 300, 300)}, str(f))
    assert _load_error(f) == f"{f}: a .safetensors file, but not an SVD checkpoint in sgm's layout"
