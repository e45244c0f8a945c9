"""What `video info` / `video models` say about a folder missing a shard its index lists (it said
"ready to run"), a pickled embedding that ``--embeddings`` loads (it said "pickled, not loaded"),
a pickle of protocol 4 (torch's "please file an issue" warning was printed), and a LoRA with
text-encoder layers that ``--lora`` skips (they were counted with the rest)."""

from __future__ import annotations

import json
import shutil
import warnings

import torch
from safetensors.torch import load_file, save_file

from video.models.components import missing_parts
from video.models.detect import detect_kind, list_models


def _info(cli, path) -> dict:
    p = cli("info", path, "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def _shard(part, drop_second: bool) -> str:
    """Split ``part``'s single weight file into two shards listed by an index, as
    ``save_pretrained(max_shard_size=...)`` writes them; the second left out with ``drop_second``."""
    single = part / "diffusion_pytorch_model.safetensors"
    sd = load_file(str(single))
    keys = sorted(sd)
    names = [f"diffusion_pytorch_model-0000{i}-of-00002.safetensors" for i in (1, 2)]
    halves = (keys[: len(keys) // 2], keys[len(keys) // 2:])
    weight_map = {}
    for name, ks in zip(names, halves, strict=True):
        save_file({k: sd[k] for k in ks}, str(part / name))
        weight_map |= dict.fromkeys(ks, name)
    (part / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    single.unlink()
    if drop_second:
        (part / names[1]).unlink()
    return names[1]


def test_a_shard_listed_in_the_index_and_not_there_is_missing(tmp_path, tiny_diffusers_dir, cli):
    whole, broken = tmp_path / "checkpoints" / "whole", tmp_path / "checkpoints" / "broken"
    for folder, drop in ((whole, False), (broken, True)):
        shutil.copytree(tiny_diffusers_dir, folder)
        gone = _shard(folder / "unet", drop)
    assert missing_parts(whole, "svd") == [] and "run_with" in _info(cli, whole)
    said = f"unet/{gone} (listed in the index, not there)"
    assert missing_parts(broken, "svd") == [said]
    info = _info(cli, broken)
    assert info["missing"] == said and "run_with" not in info, info
    (row,) = [r for r in list_models(tmp_path) if r["path"] == str(broken)]
    assert row["detail"].endswith(f"missing: {said}"), row


def test_a_pickled_embedding_that_embeddings_loads_is_not_called_unloaded(tmp_path, cli):
    torch.save({"string_to_param": {"*": torch.zeros(2, 8)}}, tmp_path / "style.pt")
    info = _info(cli, tmp_path / "style.pt")
    assert info["kind"] == "embedding" and "not loaded" not in info["detail"], info
    torch.save({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 8),
                "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": torch.zeros(8, 4)}, tmp_path / "l.pt")
    info = _info(cli, tmp_path / "l.pt")  # --lora refuses pickles: said
    assert info["kind"] == "lora" and info["detail"].endswith("pickled, not loaded: convert to .safetensors"), info


def test_listing_a_protocol_4_pickle_prints_no_torch_warning(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    torch.save({"weight": torch.zeros(2)}, tmp_path / "checkpoints" / "old.ckpt", pickle_protocol=4)
    with warnings.catch_warnings(record=True) as caught:  # recorded: an error would be caught as "not opened"
        warnings.simplefilter("always")
        (row,) = list_models(tmp_path)
    assert row["kind"] == "pytorch", row
    assert not [w for w in caught if "pickle protocol" in str(w.message)]


def test_text_encoder_layers_are_counted_apart(tmp_path):
    def pair(name: str) -> dict:
        return {f"{name}.lora_down.weight": torch.zeros(4, 8), f"{name}.lora_up.weight": torch.zeros(8, 4),
                f"{name}.alpha": torch.tensor(4.0)}

    unet = [f"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_{x}" for x in "qkv"]
    te = [f"lora_te_text_model_encoder_layers_0_self_attn_{x}_proj" for x in "qk"]
    sd = {k: v for n in unet + te for k, v in pair(n).items()}
    save_file(sd, str(tmp_path / "both.safetensors"))
    detail = detect_kind(tmp_path / "both.safetensors")["detail"]
    assert detail.endswith("3 layers and 2 text-encoder layers (which --lora skips)"), detail
    save_file({k: v for n in te for k, v in pair(n).items()}, str(tmp_path / "te.safetensors"))
    assert detect_kind(tmp_path / "te.safetensors")["detail"].endswith("text encoder only, 2 layers")
