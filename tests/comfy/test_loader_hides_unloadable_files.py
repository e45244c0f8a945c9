"""The loader's drop-down leaves out files that no run can load, told from their first bytes: a
pickled SD 1.5 ``.ckpt`` (named once in the console, as the LoRA list does), a GGUF quant in
``diffusion_models/`` (ComfyUI-GGUF's format), a render saved as ``.safetensors`` / ``.sft``, a
truncated ``.safetensors`` download. Each was listed (only whole safetensors headers were read)
and failed every run it was picked in. And a models folder whose extra_model_paths.yaml does not
read keeps the loader node: its ``INPUT_TYPES`` raised, and ComfyUI drops a node type whose
``INPUT_TYPES`` raises. Real files, written here."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save, save_file

import video.comfy.nodes
from video.comfy import models as F
from video.media import write_video
from video.models.svd import CheckpointError

WAN_KEYS = ["patch_embedding.weight", "blocks.0.self_attn.q.weight", "head.head.weight"]
PICKLE_LINE = "pickled checkpoints are not loaded; convert it to .safetensors"


def _wan_file(path: Path) -> Path:
    """A Wan transformer saved alone: a part the drop-down lists (the loader says what to get)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: torch.zeros(2, 2) for k in WAN_KEYS}, str(path))
    return path


def _combo(monkeypatch, models: Path) -> list[str]:
    """The loader node's ckpt_name options, as ComfyUI asks for them (outside ComfyUI the models
    folder is $VIDEO_MODELS)."""
    monkeypatch.setenv("VIDEO_MODELS", str(models))
    loader = video.comfy.nodes.NODE_CLASS_MAPPINGS["VideoPipelineModelLoader"]
    return loader.INPUT_TYPES()["required"]["ckpt_name"][0]


def test_pickles_gguf_renders_and_truncated_files_are_not_listed(tmp_path, monkeypatch, caplog):
    ck, dm = tmp_path / "checkpoints", tmp_path / "diffusion_models"
    wan = _wan_file(dm / "wan2.1_t2v_1.3B.safetensors")
    ck.mkdir()
    torch.save({"state_dict": {"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(2)}},
               ck / "v1-5-pruned-emaonly.ckpt")
    # GGUF v3: magic, version, tensor count, metadata count (a header with nothing in it)
    (dm / "wan2.1-t2v-14b-Q4_K_M.gguf").write_bytes(b"GGUF" + (3).to_bytes(4, "little") + bytes(16))
    render = write_video(np.zeros((3, 16, 16, 3), np.uint8), tmp_path / "render.mp4")
    for name in ("render.safetensors", "render.sft"):
        (ck / name).write_bytes(render.read_bytes())
    whole = wan.read_bytes()
    (ck / "truncated.safetensors").write_bytes(whole[:20])  # a download cut short: its header does not fit
    # a header length of 0x10280 starts 80 02 01 00, a pickle's bytes: cut short, a damaged safetensors
    # file (not named as a pickle)
    data = save({"x": torch.zeros(2)})
    n = int.from_bytes(data[:8], "little")
    (ck / "cut.safetensors").write_bytes((0x10280).to_bytes(8, "little") + data[8:8 + n] + b" " * 64)
    assert (ck / "cut.safetensors").read_bytes()[:2] == b"\x80\x02"

    with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
        names = _combo(monkeypatch, tmp_path)
        assert _combo(monkeypatch, tmp_path) == names  # a second ask: the same list, nothing said again
    assert names == ["wan2.1_t2v_1.3B.safetensors", *F.BUILTIN_LABELS], names
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"not in the video model list: {ck / 'v1-5-pruned-emaonly.ckpt'}: {PICKLE_LINE}"], said
    # named anyway (an API prompt), the loader still says what each is, in one line
    with pytest.raises(CheckpointError, match=r"detected as unknown \(GGUF file"):
        F.load_video_model("wan2.1-t2v-14b-Q4_K_M.gguf", tmp_path)
    with pytest.raises(CheckpointError, match=r"detected as media \(a video file \(MP4\)"):
        F.load_video_model("render.safetensors", tmp_path)


def test_a_models_folder_whose_extra_paths_do_not_read_keeps_the_loader(tmp_path, monkeypatch, caplog):
    """A broken models/extra_model_paths.yaml (ComfyUI itself never reads that one, so it runs on):
    the list shows what the rest of the folder holds and the built-ins, the console says once why
    the YAML's folders are missing, and what is listed loads."""
    yaml_file = tmp_path / "extra_model_paths.yaml"
    yaml_file.write_text("comfyui:\n  base_path: /x\n  checkpoints: [unclosed\n")
    _wan_file(tmp_path / "checkpoints" / "wan.safetensors")
    with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
        names = _combo(monkeypatch, tmp_path)
        assert _combo(monkeypatch, tmp_path) == names
        model = F.load_video_model("tiny", tmp_path)
    assert names == ["wan.safetensors", *F.BUILTIN_LABELS], names
    assert model.kind == "dit_t2v"
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].startswith(f"extra model paths not used: {yaml_file}: cannot read it"), said
    assert "\n" not in said[0]
    with pytest.raises(CheckpointError, match="single-file Wan transformer"):  # the listed file: its own refusal
        F.load_video_model("wan.safetensors", tmp_path)
