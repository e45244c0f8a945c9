"""Folders whose parts lack weights: every part (UNet, VAE, CLIP image encoder, a Wan text
encoder) is one line naming the part and a few missing keys, never a raw meta-tensor traceback
nor (transformers' way) a model that runs with random weights; and a text_encoder/ holding
only its fp16 variant loads, as unet/ and vae/ do."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from video.models.svd import CheckpointError, load_svd

FIXTURES = Path(__file__).parents[1] / "edit" / "vace_fixtures.py"


def _drop(part: Path, needle: str) -> list[str]:
    """Remove the keys containing ``needle`` from the part's single weight file; returns them."""
    (f,) = part.glob("*.safetensors")
    sd = load_file(str(f))
    gone = sorted(k for k in sd if needle in k)
    assert gone
    save_file({k: v for k, v in sd.items() if k not in gone}, str(f), metadata={"format": "pt"})
    return gone


@pytest.mark.parametrize("part,needle", [("unet", "up_blocks.1."), ("vae", "decoder.up_blocks.0."),
                                         ("image_encoder", "layers.1.")])
def test_svd_part_missing_weights_is_one_line(tiny_diffusers_dir, tmp_path, capsys, part, needle):
    from video.cli import main

    p = shutil.copytree(tiny_diffusers_dir, tmp_path / "broken")
    gone = _drop(p / part, needle)
    with pytest.raises(CheckpointError) as e:
        load_svd(p)
    msg = str(e.value)
    assert f"{len(gone)} weights" in msg and f"missing from {part}/" in msg and gone[0] in msg and "\n" not in msg
    assert main(["img2vid", "--model", str(p), "--output", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and f"missing from {part}/" in err and "\n" not in err


def test_shard_lacking_what_its_index_lists(tiny_diffusers_dir, tmp_path):
    """diffusers takes the index's word for which keys exist; the shard's header is checked."""
    p = shutil.copytree(tiny_diffusers_dir, tmp_path / "sharded")
    unet = load_svd(tiny_diffusers_dir).unet
    shutil.rmtree(p / "unet")
    unet.save_pretrained(p / "unet", max_shard_size="200KB", safe_serialization=True)
    shards = sorted((p / "unet").glob("*-of-*.safetensors"))
    assert len(shards) > 2 and (p / "unet" / "diffusion_pytorch_model.safetensors.index.json").is_file()
    assert torch.equal(load_svd(p).unet.conv_out.weight, unet.conv_out.weight)  # whole: loads
    sd = load_file(str(shards[-1]))
    lost = sorted(sd)[0]
    save_file({k: v for k, v in sd.items() if k != lost}, str(shards[-1]), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match=rf"1 weights listed in unet/'s shard index are not in its shards "
                                              rf"\(e\.g\. {lost}\)"):
        load_svd(p)


def test_image_encoder_buffers_transformers_ignores_still_load(tiny_diffusers_dir, tmp_path):
    """Files written by older transformers carry ``position_ids``; transformers drops them by
    design, so they are no error and every weight is the file's."""
    p = shutil.copytree(tiny_diffusers_dir, tmp_path / "posids")
    f = p / "image_encoder" / "model.safetensors"
    sd = load_file(str(f))
    n = sd["vision_model.embeddings.position_embedding.weight"].shape[0]
    save_file({**sd, "vision_model.embeddings.position_ids": torch.arange(n)[None]}, str(f), metadata={"format": "pt"})
    enc = load_svd(p).image_encoder.state_dict()
    assert all(torch.equal(enc[k], v) for k, v in sd.items())


def _fx():
    spec = importlib.util.spec_from_file_location("vace_fixtures_for_incomplete_parts", FIXTURES)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def wan_folder(tmp_path_factory):
    from diffusers import UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel

    fx = _fx()
    tok, text = fx.tiny_text()
    tr = fx.randomize(WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4,
        text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        eps=1e-6, rope_max_seq_len=32), 3)
    root = tmp_path_factory.mktemp("wan_parts") / "t2v"
    WanPipeline(tokenizer=tok, text_encoder=text, transformer=tr, vae=fx.tiny_vae(),
                scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                                  flow_shift=5.0)).save_pretrained(root, safe_serialization=True)
    return root, text


def test_wan_text_encoder_missing_weights_is_one_line(wan_folder, tmp_path):
    from video.runtime.txt2vid import load_t2v

    p = shutil.copytree(wan_folder[0], tmp_path / "te_missing")
    gone = _drop(p / "text_encoder", "block.1.")
    with pytest.raises(CheckpointError) as e:
        load_t2v(p)
    msg = str(e.value)
    assert f"{len(gone)} weights of UMT5EncoderModel are missing from text_encoder/" in msg
    assert gone[0] in msg and "\n" not in msg


def test_wan_text_encoder_fp16_variant_only(wan_folder, tmp_path):
    from video.runtime.txt2vid import load_t2v

    p = shutil.copytree(wan_folder[0], tmp_path / "te_fp16")
    shutil.rmtree(p / "text_encoder")
    text = wan_folder[1]
    text.save_pretrained(p / "text_encoder", variant="fp16", safe_serialization=True)
    (f,) = (p / "text_encoder").glob("*.safetensors")
    assert f.name == "model.fp16.safetensors"
    save_file({k: v.half() for k, v in load_file(str(f)).items()}, str(f), metadata={"format": "pt"})
    got = load_t2v(p).text_encoder.state_dict()
    for k, v in text.state_dict().items():
        assert torch.equal(got[k], v.half().float()), k


def test_a_damaged_shard_is_one_line_naming_the_part(tmp_path):
    """A truncated shard (the usual broken download) is read for the index check first: its
    header error is the part's one-line CheckpointError, not a raw SafetensorError."""
    import json

    from diffusers import AutoencoderKL
    from safetensors.torch import save_file

    from video.models.components import load_diffusers_part
    from video.models.svd import CheckpointError

    part = tmp_path / "m" / "vae"
    part.mkdir(parents=True)
    save_file({"a": torch.zeros(2)}, str(part / "diffusion_pytorch_model-00001-of-00002.safetensors"))
    (part / "diffusion_pytorch_model-00002-of-00002.safetensors").write_bytes(b"\x10" + b"\x00" * 7 + b"{garbage")
    (part / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "a": "diffusion_pytorch_model-00001-of-00002.safetensors",
        "b": "diffusion_pytorch_model-00002-of-00002.safetensors"}}))
    (part / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match=r"cannot load vae/"):
        load_diffusers_part(AutoencoderKL, tmp_path / "m", "vae", torch.float32)
