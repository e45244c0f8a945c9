"""The loader's drop-downs leave out files that hold no weights whatever their names say: an
empty file, a Git LFS pointer (a clone without ``git lfs`` has one in place of every model) and
other text (a README or an error page saved under a weights name). Each was listed and failed
every run it was picked in; the console says once why each is missing. Real files, written here."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import save_file

import video.comfy.nodes
from video.comfy import models as F

LFS = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 2862137296\n"
WAN_KEYS = ["patch_embedding.weight", "blocks.0.self_attn.q.weight", "head.head.weight"]


def _placeholders(folder: Path) -> dict[str, str]:
    """File name -> why it is left out, as the console says it."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"empty.safetensors": ("", "empty file (0 bytes)"),
             "svd_xt.safetensors": (LFS, "a Git LFS pointer, not the weights: fetch them with `git lfs pull`"),
             "wan.ckpt": (LFS, "a Git LFS pointer, not the weights: fetch them with `git lfs pull`"),
             "readme.safetensors": ("Download the weights from the model page. Ünïcode too.\n", F.TEXT_NOTE),
             "page.ckpt": ("<html><body>404 Not Found</body></html>\n", F.TEXT_NOTE)}
    for name, (text, _) in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return {name: why for name, (_, why) in files.items()}


def test_empty_pointer_and_text_files_are_not_in_the_model_list(tmp_path, monkeypatch, caplog):
    ck = tmp_path / "checkpoints"
    why = _placeholders(ck)
    (tmp_path / "diffusion_models").mkdir()
    save_file({k: torch.zeros(2, 2) for k in WAN_KEYS}, str(tmp_path / "diffusion_models" / "wan.safetensors"))
    monkeypatch.setenv("VIDEO_MODELS", str(tmp_path))
    loader = video.comfy.nodes.NODE_CLASS_MAPPINGS["VideoPipelineModelLoader"]
    with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
        names = loader.INPUT_TYPES()["required"]["ckpt_name"][0]
        assert loader.INPUT_TYPES()["required"]["ckpt_name"][0] == names  # asked again: nothing said again
    assert names == ["wan.safetensors", *F.BUILTIN_LABELS], names
    said = sorted(r.getMessage() for r in caplog.records)
    assert said == sorted(f"not in the video model list: {ck / n}: {w}" for n, w in why.items()), said


def test_empty_pointer_and_text_files_are_not_in_the_lora_list(tmp_path, caplog):
    loras = tmp_path / "loras"
    why = _placeholders(loras)
    save_file({"lora_unet_blocks_0_attn.lora_down.weight": torch.zeros(2, 4)}, str(loras / "real.safetensors"))
    with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
        assert F.model_names("loras", tmp_path) == ["real.safetensors"]
    said = sorted(r.getMessage() for r in caplog.records)
    assert said == sorted(f"not in the LoRA list: {loras / n}: {w}" for n, w in why.items()), said


def test_weights_and_a_protocol_0_pickle_are_not_text(tmp_path):
    """The text test never takes weights for text: a safetensors file and torch.save's zip hold
    NULs at once; a protocol 0 pickle is ASCII, and stays a pickle (named so in the console)."""
    import pickle

    save_file({"x": torch.ones(3)}, str(tmp_path / "w.safetensors"))
    torch.save({"x": torch.ones(3)}, tmp_path / "w.pt")
    (tmp_path / "p0.ckpt").write_bytes(pickle.dumps({"a": [1, 2]}, protocol=0))
    assert not any(F._is_text(tmp_path / n) for n in ("w.safetensors", "w.pt"))
    assert F.listed_kind(tmp_path / "p0.ckpt") == F.PICKLED
