"""`video info` counted a kohya LoRA's alpha scalars (one per layer) as parameters: the kohya
export of a run said 79,936 where the peft export of the same adapters said 79,872. The count
is now the adapters' weights alone, the same for both layouts of the same LoRA."""

from __future__ import annotations

import json

import torch

from video.models.lora import LoraPart, save_lora


def test_both_layouts_of_one_lora_count_the_same_weights(tmp_path, cli):
    g = torch.Generator().manual_seed(0)
    parts = {f"down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_{x}":
             LoraPart(torch.randn(4, 32, generator=g), torch.randn(32, 4, generator=g), 8.0) for x in "qkv"}
    weights = sum(p.down.numel() + p.up.numel() for p in parts.values())  # the reference: A and B of each layer
    totals = {}
    for layout in ("peft", "kohya"):
        path = save_lora(parts, tmp_path / f"{layout}.safetensors", layout, prefix="unet")
        r = cli("info", path, "--json")
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        assert info["kind"] == "lora" and info["alpha"] == 8.0, info
        totals[layout] = info["parameters"]["total"]
    assert totals == {"peft": weights, "kohya": weights}
