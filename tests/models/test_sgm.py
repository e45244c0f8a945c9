"""The single-file (sgm layout) path: the key map against the published layout, and a tiny
model written in that layout that must render the same frames as its diffusers-layout copy."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from video.config import load_model_config
from video.models.sgm import _empty_models, _key_maps, save_sgm_checkpoint, to_sgm_state_dict
from video.models.svd import CheckpointError, load_svd
from video.runtime.img2vid import ImageToVideo

# Key names and counts of the published svd.safetensors: names detected by ComfyUI
# (comfy/model_detection.py) and stable-diffusion.cpp, counts from sgm's VideoUNet, Encoder,
# VideoDecoder and OpenCLIP ViT-H-14 built with svd.yaml's settings.
PUBLISHED_KEYS = [
    "model.diffusion_model.input_blocks.1.1.time_stack.0.attn1.to_q.weight",
    "model.diffusion_model.input_blocks.8.0.time_mixer.mix_factor",
    "model.diffusion_model.input_blocks.9.0.op.weight",
    "model.diffusion_model.output_blocks.2.1.conv.weight",
    "model.diffusion_model.output_blocks.5.2.conv.weight",
    "model.diffusion_model.middle_block.1.time_pos_embed.0.weight",
    "model.diffusion_model.label_emb.0.0.weight",
    "first_stage_model.decoder.mid.block_1.mix_factor",
    "first_stage_model.decoder.conv_out.time_mix_conv.weight",
    "first_stage_model.decoder.up.3.block.0.time_stack.in_layers.2.weight",
    "conditioner.embedders.3.encoder.quant_conv.weight",
    "conditioner.embedders.3.encoder.encoder.mid.attn_1.q.weight",
    "conditioner.embedders.0.open_clip.model.visual.transformer.resblocks.31.attn.in_proj_weight",
    "conditioner.embedders.0.open_clip.model.visual.proj",
]


def test_key_map_covers_published_layout():
    nets = _empty_models(load_model_config("svd"))
    maps = _key_maps(nets)
    file_keys = {fk for m in maps.values() for fk, _ in m.values()}
    for k in PUBLISHED_KEYS:
        assert k in file_keys, k
    unet = {fk for fk, _ in maps["unet"].values()}
    assert len(unet) == len(maps["unet"]) == 1428
    vae = {fk for fk, _ in maps["vae"].values()}
    assert sum(k.startswith("first_stage_model.decoder.") for k in vae) == 266
    assert sum(k.startswith("conditioner.embedders.3.encoder.encoder.") for k in vae) == 106
    clip = {fk for fk, _ in maps["image_encoder"].values()}
    assert len(clip) == 392


@pytest.fixture(scope="module")
def sgm_file(tmp_path_factory, tiny_models):
    return save_sgm_checkpoint(tiny_models, tmp_path_factory.mktemp("sgm") / "tiny_svd.safetensors")


def test_round_trip_weights(sgm_file, tiny_models):
    m = load_svd(sgm_file)
    assert m.layout == "single_file"
    for name in ("unet", "vae", "image_encoder"):
        ref = getattr(tiny_models, name).state_dict()
        got = getattr(m, name).state_dict()
        for k, v in ref.items():
            assert torch.equal(got[k], v), (name, k)


def test_single_file_renders_same_frames_as_diffusers_folder(sgm_file, tiny_diffusers_dir, photo):
    # 64x96, half the defaults' sides: the frames compare per pixel, in a third of the time
    kw = dict(num_frames=4, num_inference_steps=3, height=64, width=96, generator=torch.Generator().manual_seed(3))
    a = ImageToVideo.from_pretrained(sgm_file)(photo, **kw)
    kw["generator"] = torch.Generator().manual_seed(3)
    b = ImageToVideo.from_pretrained(tiny_diffusers_dir)(photo, **kw)
    assert a.shape == (4, 64, 96, 3)
    # Same weights; only float rounding (BLAS paths differ with memory layout) may move a level.
    d = np.abs(a.astype(int) - b.astype(int))
    assert d.max() <= 1 and (d == 0).mean() > 0.999


def test_qkv_split_is_q_then_k_then_v(tiny_models):
    sd = to_sgm_state_dict(tiny_models)
    fused = sd["conditioner.embedders.0.open_clip.model.visual.transformer.resblocks.0.attn.in_proj_weight"]
    layer = tiny_models.image_encoder.vision_model.encoder.layers[0].self_attn
    assert torch.equal(fused[: layer.q_proj.weight.shape[0]], layer.q_proj.weight)
    assert torch.equal(fused[-layer.v_proj.weight.shape[0]:], layer.v_proj.weight)


def test_missing_key_and_foreign_file_are_clear_errors(tmp_path, tiny_models):
    sd = to_sgm_state_dict(tiny_models)
    import json

    from video.config import to_dict
    from video.models.sgm import CONFIG_METADATA_KEY

    meta = {CONFIG_METADATA_KEY: json.dumps(to_dict(tiny_models.config))}
    del sd["model.diffusion_model.out.2.weight"]
    save_file(sd, str(tmp_path / "broken.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="out.2.weight"):
        load_svd(tmp_path / "broken.safetensors")
    save_file({"weight": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not an SVD checkpoint"):
        load_svd(tmp_path / "other.safetensors")
    (tmp_path / "model.ckpt").write_bytes(b"\x80\x04\x95not a pickle we would open")  # a pickle by its bytes
    with pytest.raises(CheckpointError, match="pickled"):
        load_svd(tmp_path / "model.ckpt")
    (tmp_path / "notes.ckpt").write_bytes(b"not a pickle we would open")  # a pickle's name only: not called one
    with pytest.raises(CheckpointError, match="not a diffusers SVD folder"):
        load_svd(tmp_path / "notes.ckpt")


def test_published_architecture_rejects_wrong_shapes(tmp_path, tiny_models):
    """A file without our config entry is read as the published SVD; tiny shapes must not slip through."""
    save_sgm_checkpoint(tiny_models, tmp_path / "noconf.safetensors", write_config=False)
    with pytest.raises(CheckpointError):
        load_svd(tmp_path / "noconf.safetensors")
