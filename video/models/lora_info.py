"""What ``video info`` says of a LoRA file beyond its layout: its ranks and alphas, the model it
adapts and the run that trained it, from the header (and its alpha scalars) only. Split from
:mod:`video.models.inspect`, which describes every kind of model.
"""

from __future__ import annotations

import json
from pathlib import Path

# What a LoRA adapts, from its layer names normalised to "_a_b_c_" (dots and kohya's underscores
# alike): the UNet's blocks (diffusers' and sgm's names; SVD's has temporal layers), our DiT's
# (video.models.dit: fused qkv / kv, mlp) and Wan's (its own names and diffusers' attn1 / attn2 /
# ffn.net). A UNet is tested first (its attn1 / attn2 are diffusers' names too), our DiT before Wan.
_UNET_MARKS = ("_down_blocks_", "_up_blocks_", "_mid_block_", "_input_blocks_", "_output_blocks_", "_middle_block_")
_TEMPORAL_MARKS = ("_temporal_", "_time_stack_", "_time_mix")
_DIT_MARKS = ("_self_attn_qkv_", "_self_attn_out_", "_cross_attn_kv_", "_cross_attn_out_", "_mlp_0_", "_mlp_2_",
              "_text_embed_", "_time_embed_", "_patch_embed_")
_WAN_MARKS = ("_self_attn_q_", "_self_attn_k_", "_self_attn_v_", "_self_attn_o_", "_cross_attn_k_", "_cross_attn_v_",
              "_cross_attn_o_", "_k_img_", "_v_img_", "_ffn_0_", "_ffn_2_", "_ffn_net_", "_attn1_", "_attn2_",
              "_condition_embedder_", "_text_embedding_", "_time_embedding_", "_patch_embedding_", "_vace_blocks_",
              "_scale_shift_table_", "_head_head_", "_diffusion_model_blocks_")


def lora_target(layers) -> str:
    """The model a LoRA's ``layers`` (names as the file spells them) adapt: ``svd unet`` (a UNet
    with temporal layers), ``unet`` (one without: SVD's image stage or an image model's),
    ``dit`` (ours), ``wan``, ``text encoder`` (only those layers, which --lora skips), else
    ``unknown``. Key names only: no model is built."""
    import re

    from video.models.lora_keys import _OTHER_COMPONENTS

    ours = [f"_{re.sub(r'[._]', '_', n)}_" for n in layers if not n.startswith(_OTHER_COMPONENTS)]
    if not ours:
        return "text encoder" if layers else "unknown"
    if any(m in n for n in ours for m in _UNET_MARKS):
        return "svd unet" if any(m in n for n in ours for m in _TEMPORAL_MARKS) else "unet"
    for marks, name in ((_DIT_MARKS, "dit"), (_WAN_MARKS, "wan")):
        if any(m in n for n in ours for m in marks):
            return name
    return "unknown"


def _one_or_many(name: str, values: list) -> dict:
    """``{name: v}`` for one value, ``{name + "s": [...]}`` for several (a LoRA of mixed ranks)."""
    return {name: values[0]} if len(values) == 1 else {f"{name}s": values}


def _peft_config(p: Path, meta: dict) -> dict:
    """A peft/diffusers LoRA file's config: diffusers' ``lora_adapter_metadata``, else peft's
    ``adapter_config.json`` beside it; {} where neither is readable."""
    from video.models.lora_keys import METADATA_KEY

    try:
        cfg = json.loads(meta[METADATA_KEY]) if METADATA_KEY in meta else json.loads(
            (p.parent / "adapter_config.json").read_text())
    except (OSError, ValueError):
        return {}
    return cfg if isinstance(cfg, dict) else {}


def _stored_alphas(p: Path, meta: dict, alpha_keys: list[str]) -> list[float]:
    """The alphas a LoRA file stores, as ``--lora`` reads them: kohya's ``.alpha`` scalars (read
    from the file: a number each), diffusers' ``lora_adapter_metadata`` (``[prefix.]lora_alpha``
    and ``alpha_pattern``), else peft's ``adapter_config.json`` beside it; [] where none is
    stored (``--lora`` then takes alpha = rank)."""
    if alpha_keys:
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as f:
            scalars = [f.get_tensor(k) for k in alpha_keys]
        return sorted({float(t.float().reshape(-1)[0]) for t in scalars if t.numel()})
    found = set()
    for k, v in _peft_config(p, meta).items():
        name = k.rpartition(".")[2]
        if name == "lora_alpha" and isinstance(v, (int, float)):
            found.add(float(v))
        elif name == "alpha_pattern" and isinstance(v, dict):
            found |= {float(a) for a in v.values() if isinstance(a, (int, float))}
    return sorted(found)


# What `video train` records in a LoRA it exports (video.training.lora.run_metadata).
LORA_RUN_KEYS = ("base_model", "task", "init_from")


def lora_fields(p: Path, shapes: dict[str, tuple[int, ...]], meta: dict[str, str]) -> dict:
    """What ``video info`` says of the LoRA file ``p`` beside its layout: its rank (``ranks``
    where they differ), from the header's shapes of its down (A) matrices; the alpha it stores
    (:func:`_stored_alphas`), both of the layers ``--lora`` applies (a kohya file's text-encoder
    layers, which it skips, are said apart: their ranks were shown as the LoRA's); the model it adapts (:func:`lora_target`); and, for one our
    trainer wrote, the base model and task of its run (:data:`LORA_RUN_KEYS`). Only the layout
    and layer count were said, so a LoRA could not be matched to its model before a render."""
    from video.models.detect import lora_key_kinds
    from video.models.lora_keys import _OTHER_COMPONENTS

    kinds = lora_key_kinds(shapes)
    out = {}
    applied = {k: v for k, v in kinds.items() if not k.startswith(_OTHER_COMPONENTS)}
    skipped = {k: v for k, v in kinds.items() if k.startswith(_OTHER_COMPONENTS)}
    if not any(kind == "A" for _, kind in applied.values()):  # text-encoder layers only: those are the file's
        applied, skipped = kinds, {}
    ranks = _ranks(shapes, applied)
    if ranks:
        out.update(_one_or_many("rank", ranks))
    alphas = _stored_alphas(p, meta, [k for k, (_, kind) in applied.items() if kind == "alpha"])
    if alphas:
        out.update(_one_or_many("alpha", alphas))
    if _ranks(shapes, skipped):  # said apart: --lora skips them, so their ranks are not what it applies
        n = len({layer for layer, kind in skipped.values() if kind == "A"})
        te_ranks = ", ".join(map(str, _ranks(shapes, skipped)))
        out["skipped"] = f"{n} text-encoder layer{'' if n == 1 else 's'}, rank {te_ranks}"
    if any(k.rpartition(".")[2] == "use_rslora" and v is True for k, v in _peft_config(p, meta).items()):
        out["use_rslora"] = True  # the scale --lora applies is alpha / sqrt(rank), not alpha / rank
    out["target"] = lora_target({layer for layer, _ in kinds.values()})
    out.update({k: meta[k] for k in LORA_RUN_KEYS if meta.get(k)})
    return out


def _ranks(shapes: dict[str, tuple[int, ...]], kinds: dict[str, tuple[str, str]]) -> list[int]:
    """The ranks of the down (A) matrices among ``kinds`` (:func:`~video.models.detect.lora_key_kinds`)."""
    return sorted({shapes[k][0] for k, (_, kind) in kinds.items() if kind == "A" and shapes[k]})
