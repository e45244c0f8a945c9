"""A damaged ``.safetensors`` file in the embeddings folder (empty, truncated, another format
under that name) is skipped with a warning naming it, as the other unusable files are: it was
safetensors' own error, naming no file, and it stopped every txt2vid render, even one whose
prompt did not use that embedding. Real files, the tiny text-to-video model."""

from __future__ import annotations

import warnings

import torch
from safetensors.torch import save_file

from video.prompts.embeddings import load_embeddings
from video.runtime.txt2vid import build_tiny


def _dim() -> int:
    return build_tiny().text_encoder.get_input_embeddings().embedding_dim


def _folder(tmp_path, dim: int):
    emb = tmp_path / "emb"
    emb.mkdir()
    good = emb / "mystyle.safetensors"
    save_file({"emb_params": torch.randn(2, dim)}, str(good))
    (emb / "empty.safetensors").write_bytes(b"")
    (emb / "cut.safetensors").write_bytes(good.read_bytes()[:-8])  # a download cut short
    (emb / "text.safetensors").write_bytes(b"not safetensors at all\n")
    return emb


def test_damaged_safetensors_are_skipped_naming_each_file(tmp_path):
    emb = _folder(tmp_path, 16)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        found = load_embeddings(emb, dim=16)
    assert list(found) == ["mystyle"]
    said = sorted(str(w.message) for w in seen)
    assert len(said) == 3, said
    for name, msg in zip(("cut", "empty", "text"), said, strict=True):
        why = "empty file (0 bytes)" if name == "empty" else "truncated or damaged safetensors file ("  # as video models
        assert msg.startswith(f"embedding skipped: {emb / name}.safetensors: {why}"), msg


def test_txt2vid_renders_past_a_damaged_embedding(tmp_path, cli):
    emb = _folder(tmp_path, _dim())
    out = tmp_path / "p" / "e.png"
    p = cli("txt2vid", "--model", "tiny", "--frames", "1", "--steps", "1", "--height", "16", "--width", "16",
            "--prompt", "a mystyle cat", "--embeddings", emb, "--output", out)
    assert p.returncode == 0, p.stderr
    assert out.is_file()
    for name in ("empty", "cut", "text"):
        why = "empty file (0 bytes)" if name == "empty" else "truncated or damaged safetensors file"
        assert f"embedding skipped: {emb / name}.safetensors: {why}" in p.stderr
