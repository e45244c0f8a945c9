"""``video models`` padded every row's name to the longest ``NAME -> TARGET`` label, so one link
into a hub cache (an absolute blob path) pushed the kind column of every row far right. Names
now set the column, with the short link labels; a longer one runs into its own row only."""

from __future__ import annotations

import os

import torch
from safetensors.torch import save_file

from video.models.detect import LABEL_WIDTH


def test_a_long_link_target_does_not_pad_every_row(tmp_path, cli):
    models = tmp_path / "models"
    (models / "embeddings").mkdir(parents=True)
    far = tmp_path / ("hub-cache-" + "x" * LABEL_WIDTH) / "blob.safetensors"
    far.parent.mkdir()
    save_file({"emb_params": torch.zeros(2, 32)}, str(far))
    save_file({"emb_params": torch.zeros(2, 32)}, str(models / "embeddings" / "a.safetensors"))
    os.symlink("a.safetensors", models / "embeddings" / "b.safetensors")
    os.symlink(far, models / "embeddings" / "c.safetensors")
    r = cli("models", "--models-dir", models)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    short = "embeddings/b.safetensors -> a.safetensors"  # the longest label within LABEL_WIDTH sets the column
    assert [line.index("embedding ") for line in lines[:2]] == [len(short) + 2] * 2, r.stdout
    assert lines[2].startswith(f"embeddings/c.safetensors -> {far}  embedding "), r.stdout
