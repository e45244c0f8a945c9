"""What ``video models`` (and ``video info``) say about each file of a models folder: a name in
two trees is listed once per model, by the name that loads it; ``--models-dir=~/x`` works; a
truncated safetensors file is named as such (it was "unrecognised file" in the list and an
anonymous "a .safetensors file is damaged" from info and img2vid); SD / SDXL checkpoints are
image models, as the ComfyUI loader calls them; a folder whose config.json names an unknown class
says so; a pickled LoRA is listed as not loadable. Real files, written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from video.models.detect import detect_kind, list_models


def _embedding(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"emb_params": torch.randn(2, 32)}, str(path))
    return path


def _rows(out: str) -> list[str]:
    return [" ".join(line.split()) for line in out.strip().splitlines()]


def test_a_name_in_two_trees_is_two_different_rows(tmp_path, cli):
    models = tmp_path / "ComfyUI" / "models"
    mine = _embedding(models / "embeddings" / "tok.safetensors")
    theirs = _embedding(tmp_path / "webui" / "embeddings" / "tok.safetensors")
    (tmp_path / "ComfyUI" / "extra_model_paths.yaml").write_text(f"a111:\n    base_path: {tmp_path / 'webui'}\n")
    p = cli("models", "--models-dir", models)
    assert p.returncode == 0, p.stderr
    detail = "embedding textual inversion, 2 vector(s) of 32"
    assert _rows(p.stdout) == [f"embeddings/tok.safetensors {detail}", f"{theirs} {detail}"]
    rows = list_models(models)
    assert [(r["label"], r["path"]) for r in rows] == [("tok.safetensors", str(mine)), (str(theirs), str(theirs))]


def test_models_dir_with_a_tilde(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    _embedding(tmp_path / "cm" / "embeddings" / "tok.safetensors")
    p = cli("models", "--models-dir=~/cm")
    assert p.returncode == 0 and p.stdout.split()[:2] == ["embeddings/tok.safetensors", "embedding"], p.stderr
    assert cli("models", "--models-dir=~/none").errors == ["error: --models-dir ~/none: not found"]


@pytest.fixture
def damaged(tmp_path, tiny_models):
    """A real SVD single file cut in half (an interrupted download), in checkpoints/."""
    from video.models.sgm import save_sgm_checkpoint

    whole = save_sgm_checkpoint(tiny_models, tmp_path / "whole.safetensors")
    bad = tmp_path / "models" / "checkpoints" / "truncated.safetensors"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return bad


def test_a_truncated_file_is_named_by_info_img2vid_and_models(damaged, cli, tmp_path):
    from video.models.svd import DamagedSafetensors

    said = f"{damaged}: truncated or damaged safetensors file (Error while deserializing header"
    p = cli("info", damaged)
    assert p.returncode == 2 and len(p.errors) == 1 and p.errors[0].startswith(f"error: {said}"), p.stderr
    p = cli("img2vid", "--model", "truncated", "--models-dir", damaged.parents[1], "--output", tmp_path / "o.mp4")
    assert p.returncode == 2 and len(p.errors) == 1 and p.errors[0].startswith(f"error: {said}"), p.stderr
    with pytest.raises(DamagedSafetensors, match="truncated or damaged safetensors file"):
        detect_kind(damaged)
    (row,) = list_models(damaged.parents[1])
    assert row["kind"] == "unknown" and row["detail"].startswith(said), row
    p = cli("models", "--models-dir", damaged.parents[1])
    assert said in p.stdout and "unrecognised" not in p.stdout, p.stdout


def test_an_empty_sft_file_is_empty_not_unrecognised(tmp_path):
    empty = tmp_path / "svd.sft"
    empty.write_bytes(b"")
    assert detect_kind(empty) == {"kind": "unknown", "detail": "empty file (0 bytes)"}


@pytest.mark.parametrize("keys,family", [
    (["model.diffusion_model.input_blocks.0.0.weight", "cond_stage_model.transformer.text_model.x"],
     "Stable Diffusion 1.x/2.x"),
    (["model.diffusion_model.input_blocks.0.0.weight", "conditioner.embedders.0.transformer.text_model.x"], "SDXL"),
])
def test_image_checkpoints_are_named_as_the_comfy_loader_names_them(tmp_path, cli, keys, family):
    path = tmp_path / "checkpoints" / "model.safetensors"
    path.parent.mkdir()
    save_file({k: torch.zeros(2, 2) for k in keys}, str(path))
    found = detect_kind(path)
    assert found["kind"] == "image_model" and f"an image model ({family})" in found["detail"], found
    p = cli("info", path, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["kind"] == "image_model", p.stderr


def test_a_folder_with_an_unknown_config_names_its_class(tmp_path):
    tool = tmp_path / "random_tool"
    tool.mkdir()
    (tool / "config.json").write_text(json.dumps({"_class_name": "FooScheduler"}))
    detail = detect_kind(tool)["detail"]
    assert "FooScheduler" in detail and "without" not in detail, detail
    (tool / "config.json").write_text('{"foo": 1}')
    detail = detect_kind(tool)["detail"]
    assert "config.json names no model class" in detail and "without" not in detail, detail


def test_a_pickled_lora_is_listed_as_not_loadable(tmp_path):
    loras = tmp_path / "models" / "loras"
    loras.mkdir(parents=True)
    lora = {"unet.x.lora_A.weight": torch.randn(2, 4), "unet.x.lora_B.weight": torch.randn(4, 2)}
    torch.save(lora, loras / "style.pt")  # tensors only: torch.load(weights_only=True) reads its keys
    save_file(lora, str(loras / "fine.safetensors"))
    # a safetensors header length of 384 starts with 0x80, a pickle's first byte (it was listed as
    # pickled); 0x10280 starts 80 02 01 00, a protocol-2 pickle's, and cut short is a damaged file
    padded = _with_header_length(loras / "padded.safetensors", lora, 384)
    assert padded.read_bytes()[:1] == b"\x80"
    whole = _with_header_length(tmp_path / "big.safetensors", lora, 0x10280).read_bytes()
    (loras / "cut.safetensors").write_bytes(whole[: len(whole) // 2])
    rows = {r["name"]: r for r in list_models(tmp_path / "models")}
    note = "pickled, not loaded: convert to .safetensors"
    assert rows["style.pt"]["kind"] == "lora" and rows["style.pt"]["detail"].endswith(f"; {note}"), rows
    for name in ("fine.safetensors", "padded.safetensors"):
        assert rows[name]["kind"] == "lora" and note not in rows[name]["detail"], rows[name]
    cut = rows["cut.safetensors"]
    assert cut["kind"] == "unknown" and "truncated or damaged" in cut["detail"] and note not in cut["detail"], cut


def _with_header_length(path: Path, tensors: dict, length: int) -> Path:
    """``tensors`` as safetensors writes them, the header padded with spaces (as safetensors pads
    it) to ``length`` bytes: the file's first 8 bytes are that length."""
    from safetensors.torch import save

    data = save(tensors)
    n = int.from_bytes(data[:8], "little")
    header = data[8:8 + n].rstrip(b" ")
    path.write_bytes(length.to_bytes(8, "little") + header + b" " * (length - len(header)) + data[8 + n:])
    return path


def test_an_svd_unet_alone_is_not_called_an_image_model(tmp_path):
    """SVD's UNet saved without its VAE has SD's ``input_blocks`` names plus temporal layers."""
    path = tmp_path / "unet.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(2, 2),
               "model.diffusion_model.input_blocks.1.0.time_stack.in_layers.0.weight": torch.zeros(2)}, str(path))
    assert detect_kind(path)["kind"] != "image_model"
