"""Safetensors or pickle, by the first bytes (:mod:`video.models.sniff`, used by ``video
models``, ``video info``, ``--model``, ``--lora`` and the ComfyUI loader): a safetensors file
starts with its header length, whose bytes can be a pickle's (0x80 for a 384-byte header, about
1 file in 32; ``80 02 01 00`` for 0x10280), and was listed as "pickled, not loaded", or refused
as a pickled LoRA when cut short; a safetensors LoRA named ``.bin`` was refused by its suffix
unread. Real pickles are still refused, never unpickled. And a ControlNet in ComfyUI's key
layout and a HunyuanVideo transformer are no longer called image models. Real files, written
here."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save, save_file

from video.models.detect import classify_keys, detect_kind
from video.models.lora import LoraError, apply_loras, check_lora_file
from video.models.sniff import claims_safetensors, has_safetensors_header, is_pickled, looks_pickled
from video.models.svd import CheckpointError, DamagedSafetensors, detect_layout

LORA = {"0.lora_A.weight": torch.randn(2, 8), "0.lora_B.weight": torch.randn(6, 2)}


def _safetensors(path: Path, header_length: int) -> Path:
    """``LORA`` as safetensors writes it, its header padded with spaces (as safetensors pads it)
    to ``header_length`` bytes, so the file starts with that length's bytes."""
    data = save(LORA)
    n = int.from_bytes(data[:8], "little")
    header = data[8:8 + n].rstrip(b" ")
    assert len(header) <= header_length
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header_length.to_bytes(8, "little") + header + b" " * (header_length - len(header))
                     + data[8 + n:])
    return path


def _model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(8, 6))


@pytest.mark.parametrize("length,first", [(384, b"\x80\x01"), (0x10280, b"\x80\x02\x01\x00")])
def test_a_header_length_that_starts_like_a_pickle_is_safetensors(tmp_path, length, first):
    for name in ("style.safetensors", "style.bin", "style"):
        path = _safetensors(tmp_path / name, length)
        assert path.read_bytes().startswith(first)
        assert has_safetensors_header(path) and not looks_pickled(path) and not is_pickled(path), name
        assert detect_kind(path)["kind"] == "lora", name
        check_lora_file(path)
        assert apply_loras(_model(), [(path, 0.5)])[0].weight.isfinite().all()


@pytest.mark.parametrize("name", ["cut.safetensors", "cut.bin", "cut"])
def test_a_truncated_safetensors_file_whose_length_looks_pickled_is_damaged(tmp_path, name):
    whole = _safetensors(tmp_path / "whole.safetensors", 0x10280).read_bytes()
    cut = tmp_path / name
    cut.write_bytes(whole[: len(whole) // 2])
    assert claims_safetensors(cut) and not has_safetensors_header(cut) and not is_pickled(cut)
    with pytest.raises(LoraError, match=rf"^{cut}: a truncated or damaged \.safetensors file \("):
        check_lora_file(cut)
    with pytest.raises(DamagedSafetensors, match=rf"^{cut}: truncated or damaged safetensors file"):
        detect_kind(cut)


@pytest.mark.parametrize("name", ["evil.pt", "evil.bin", "evil.safetensors", "evil"])
def test_real_pickles_are_still_pickles_and_never_unpickled(tmp_path, name):
    marker = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    zipped = tmp_path / "zip" / name
    zipped.parent.mkdir()
    torch.save({"w": torch.zeros(2)}, zipped)
    for proto in (2, 3, 4, 5):
        bare = tmp_path / f"p{proto}" / name
        bare.parent.mkdir()
        bare.write_bytes(pickle.dumps(Evil(), protocol=proto))
        for p in (zipped, bare):
            assert looks_pickled(p) and is_pickled(p) and not has_safetensors_header(p), (p, proto)
            with pytest.raises(LoraError, match=rf"^{p}: pickled LoRA files are not loaded"):
                check_lora_file(p)
    assert not marker.exists()


def test_a_protocol_0_pickle_is_pickled_by_its_suffix_only(tmp_path):
    legacy = tmp_path / "old.ckpt"
    legacy.write_bytes(pickle.dumps({"a": 1}, protocol=0))
    assert not looks_pickled(legacy) and is_pickled(legacy)
    with pytest.raises(LoraError, match=rf"^{legacy}: pickled LoRA files are not loaded"):
        check_lora_file(legacy)


def test_model_refuses_a_pickle_by_its_bytes_and_a_renamed_safetensors_file_by_its_name(tmp_path):
    pickled = tmp_path / "svd_download"  # no suffix: a pickle by its bytes
    torch.save({"w": torch.zeros(2)}, pickled)
    with pytest.raises(CheckpointError, match="pickled checkpoints are not loaded"):
        detect_layout(pickled)
    renamed = _safetensors(tmp_path / "svd.bin", 384)
    with pytest.raises(CheckpointError, match=rf"^{renamed}: not a diffusers SVD folder .* nor a \.safetensors"):
        detect_layout(renamed)


def test_a_comfy_layout_controlnet_and_a_hunyuanvideo_transformer_are_not_image_models(tmp_path):
    from video.comfy.refusals import image_family

    controlnet = {"input_blocks.0.0.weight": (320, 4, 3, 3), "zero_convs.0.0.weight": (320, 320, 1, 1),
                  "input_hint_block.0.weight": (16, 3, 3, 3), "middle_block_out.0.weight": (1280, 1280, 1, 1),
                  "time_embed.0.weight": (1280, 320)}
    hunyuan = {"double_blocks.0.img_attn_qkv.weight": (9216, 3072),
               "txt_in.individual_token_refiner.blocks.0.norm1.weight": (3072,),
               "img_in.proj.weight": (3072, 16, 1, 2, 2), "single_blocks.0.linear1.weight": (21504, 3072)}
    assert classify_keys(controlnet)["kind"] == "controlnet"
    assert classify_keys(hunyuan) == {"kind": "unknown", "detail": "a HunyuanVideo transformer (not supported here)"}
    path = tmp_path / "control_canny.safetensors"
    save_file({f"model.diffusion_model.{k}": torch.zeros(1) for k in controlnet}, str(path))
    assert detect_kind(path)["kind"] == "controlnet"
    assert image_family(list(controlnet)) is None and image_family(list(hunyuan)) is None
    flux = {"double_blocks.0.img_attn.qkv.weight": (2, 2), "txt_in.weight": (2, 2)}  # still Flux
    assert image_family(list(flux)) == "Flux"
    found = classify_keys(flux)
    assert found["kind"] == "image_model" and "ComfyUI's image loaders" in found["detail"], found
