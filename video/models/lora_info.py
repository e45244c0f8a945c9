"""What ``video info`` and ``video models`` say of a LoRA file: its layout, ranks and alphas, the
model it adapts and the run that trained it, from the header (and its alpha scalars) only. Split
from :mod:`video.models.inspect` and :mod:`video.models.detect`, which describe every kind of model.
"""

from __future__ import annotations

import json
import math
import re
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


def lora_key_kinds(keys) -> dict[str, tuple[str, str]]:
    """``{key: (layer name as the file spells it, tensor kind)}`` for the keys ``--lora`` reads
    (``video.models.lora_keys``' one reading of a key: its table of accepted key forms, A, B,
    alpha, diff...), text-encoder keys included; any other key is left out. Key names only."""
    from video.models.lora_keys import _layer_and_kind

    return {k: found for k in keys if (found := _layer_and_kind(k)) is not None}


def lora_layout(keys) -> str | None:
    """The detail of a LoRA file from its key names, or None when ``--lora`` would not read it
    as one: a lora_A/lora_B (peft) or lora_down/lora_up key under any name (kohya's
    ``lora_unet_``, Wan's or ComfyUI's module names with ``diffusion_model.``...), or only
    ``.diff`` deltas and the keys that go with them. Only keys starting ``lora_`` counted here
    before, so a ComfyUI Wan LoRA that ``--lora`` loads was "unknown". Keys are sorted first: the
    example key named was a set's first, another one each run."""
    from video.models.lora_keys import _OTHER_COMPONENTS, KOHYA_LIKE

    keys = sorted(keys)
    kinds = lora_key_kinds(keys)
    layers = {layer for layer, kind in kinds.values() if kind in ("A", "diff", "diff_b")}
    count = _layer_count(layers, {layer for k, (layer, kind) in kinds.items() if kind in ("A", "diff", "diff_b")
                                  and k.startswith(_OTHER_COMPONENTS)})
    down = [k for k, (_, kind) in kinds.items() if kind == "A" and k.endswith(".lora_down.weight")]
    if any(kind in ("A", "B") for _, kind in kinds.values()):
        if down and all(k.startswith(("lora_", *KOHYA_LIKE)) for k in down):
            return f"{_kohya_label(keys)}, {count}"
        if down:
            return f"lora_down/lora_up layout under module names (e.g. {down[0].removesuffix('.lora_down.weight')}), {count}"
        return f"{_peft_label([k for k, (_, kind) in kinds.items() if kind == 'A'])}, {count}"
    if layers and all(k in kinds or k.startswith(_OTHER_COMPONENTS) for k in keys):
        return f".diff layout (whole-weight deltas), {count}"
    return None


def _kohya_label(keys: list[str]) -> str:
    """Which kohya-style naming: sd-scripts' ``lora_unet_``, LyCORIS's ``lycoris_`` or the
    ``lora_transformer_`` of DiT trainers (a file of the last was "text encoder only" here)."""
    if any(k.startswith("lora_unet_") for k in keys):
        return "kohya layout (lora_down/lora_up), UNet/transformer"
    if any(k.startswith("lycoris_") for k in keys):
        return "LyCORIS/SimpleTuner layout (lycoris_ prefix, lora_down/lora_up)"
    if any(k.startswith("lora_transformer_") for k in keys):
        return "kohya layout (lora_transformer_ prefix, lora_down/lora_up), transformer"
    return "kohya layout (lora_down/lora_up), text encoder only"


def _peft_label(down: list[str]) -> str:
    """What wrote a lora_A/lora_B file, by its ``down`` (A) keys: DiffSynth's training wrapper
    (``pipe.dit.``), a peft state dict with its adapter's name (DiffSynth's files and peft
    training checkpoints: ``lora_A.default.weight``), ComfyUI / ai-toolkit (``diffusion_model.``),
    else peft / diffusers. All were "peft layout", which named none of the first three."""
    if any(k.startswith("pipe.dit.") for k in down):
        return "DiffSynth layout (pipe.dit. prefix, lora_A/lora_B)"
    if any(re.search(r"\.lora_A\.[^.]+\.weight$", k) for k in down):
        return "DiffSynth / peft checkpoint layout (lora_A.default/lora_B.default)"
    if any(k.startswith("diffusion_model.") for k in down):
        return "ComfyUI/ai-toolkit layout (diffusion_model. prefix, lora_A/lora_B)"
    return "peft layout (lora_A/lora_B)"


def _layer_count(layers: set[str], text: set[str]) -> str:
    """"N layers", the text-encoder ones said apart where some others are there: ``--lora``
    skips them, and counting them with the rest overstated what it merges."""
    def n(x: int, what: str = "") -> str:
        return f"{x} {what}layer{'' if x == 1 else 's'}"

    if not text or text == layers:
        return n(len(layers))
    return f"{n(len(layers - text))} and {n(len(text), 'text-encoder ')} (which --lora skips)"


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


def _distinct(values) -> list:
    """Each value once, sorted; NaN and infinities last as strings ("nan"): NaN != NaN kept every
    one apart (``[nan, nan, ...]``), and JSON has no NaN."""
    values = list(values)
    return sorted({v for v in values if math.isfinite(v)}) + sorted({str(v) for v in values if not math.isfinite(v)})


def _stored_alphas(p: Path, meta: dict, alpha_keys: list[str]) -> list:
    """The alphas a LoRA file stores, as ``--lora`` reads them: kohya's ``.alpha`` scalars (read
    from the file: a number each), diffusers' ``lora_adapter_metadata`` (``[prefix.]lora_alpha``
    and ``alpha_pattern``), else peft's ``adapter_config.json`` beside it; [] where none is
    stored (``--lora`` then takes alpha = rank)."""
    if alpha_keys:
        return _distinct(float(t.float().reshape(-1)[0]) for t in _alpha_scalars(p, alpha_keys).values() if t.numel())
    found = set()
    for k, v in _peft_config(p, meta).items():
        name = k.rpartition(".")[2]
        if name == "lora_alpha" and isinstance(v, (int, float)):
            found.add(float(v))
        elif name == "alpha_pattern" and isinstance(v, dict):
            found |= {float(a) for a in v.values() if isinstance(a, (int, float))}
    return _distinct(found)


def _alpha_scalars(p: Path, alpha_keys: list[str]) -> dict:
    from safetensors import safe_open

    with safe_open(str(p), framework="pt") as f:
        return {k: f.get_tensor(k) for k in sorted(alpha_keys)}


def _alpha_used(p: Path, alphas: list, alpha_keys: list[str], ranks: list[int], bare: int) -> str | None:
    """The alpha ``--lora`` applies where it is not the one stored: kohya's alpha 0 (sd-scripts
    reads it as the rank), none stored (the rank; a training checkpoint's from its run's
    state.json), or none at all (an alpha ``--lora`` refuses: NaN, several values). ``bare``:
    layers with A and B but no ``.alpha`` beside a file's others. ``video info`` printed
    ``alpha: 0.0`` where rank was applied, and nothing where no alpha was stored."""
    from video.models.lora_keys import nonfinite_count

    r = ranks[0] if len(ranks) == 1 else None
    bad = [k for k, t in _alpha_scalars(p, alpha_keys).items() if t.numel() != 1 or nonfinite_count(t)]
    if bad or any(isinstance(a, str) for a in alphas):
        return f"none: --lora refuses this file (an alpha that is not one finite number{f': {bad[0]}' if bad else ''})"
    if not alphas:
        from video.models.lora import checkpoint_adapter_config

        run = checkpoint_adapter_config(p)
        if run is not None:
            return f"{run['lora_alpha']:g} (lora.alpha of the run, from the state.json beside it)"
        return f"{r} (= rank: none stored)" if r else "each layer's rank (none stored)"
    kohya = "a stored alpha of 0 means the rank, as in kohya's sd-scripts"
    if alpha_keys and alphas == [0.0] and not bare:
        return f"{r} (= rank: {kohya})" if r else f"each layer's rank ({kohya})"
    said, the_rank = [], f"{r} (= rank)" if r else "the rank"
    if alpha_keys and 0.0 in alphas:
        said.append(f"{the_rank} where the stored alpha is 0 ({kohya})")
    if bare:
        said.append(f"{the_rank} for the {bare} layer{'s' if bare > 1 else ''} with no .alpha")
    return "; ".join(said) or None


# What `video train` records in a LoRA it exports (video.training.lora.run_metadata).
LORA_RUN_KEYS = ("base_model", "task", "init_from")


def lora_fields(p: Path, shapes: dict[str, tuple[int, ...]], meta: dict[str, str]) -> dict:
    """What ``video info`` says of the LoRA file ``p`` beside its layout: its rank (``ranks``
    where they differ), from the header's shapes of its down (A) matrices; the alpha it stores
    (:func:`_stored_alphas`), both of the layers ``--lora`` applies (a kohya file's text-encoder
    layers, which it skips, are said apart: their ranks were shown as the LoRA's); the model it adapts (:func:`lora_target`); and, for one our
    trainer wrote, the base model and task of its run (:data:`LORA_RUN_KEYS`). Only the layout
    and layer count were said, so a LoRA could not be matched to its model before a render."""
    kinds = lora_key_kinds(shapes)
    out = {}
    applied, skipped = _applied(kinds)
    ranks = _ranks(shapes, applied)
    if ranks:
        out.update(_one_or_many("rank", ranks))
    alpha_keys = [k for k, (_, kind) in applied.items() if kind == "alpha"]
    alphas = _stored_alphas(p, meta, alpha_keys)
    if alphas:
        out.update(_one_or_many("alpha", alphas))
    if ranks:
        with_alpha = {layer for k, (layer, _) in applied.items() if k in alpha_keys}
        bare = len({layer for layer, kind in applied.values() if kind == "A"} - with_alpha) if alpha_keys else 0
        used = _alpha_used(p, alphas, alpha_keys, ranks, bare)
        if used:
            out["alpha_used"] = used
    if _ranks(shapes, skipped):  # said apart: --lora skips them, so their ranks are not what it applies
        n = len({layer for layer, kind in skipped.values() if kind == "A"})
        te_ranks = ", ".join(map(str, _ranks(shapes, skipped)))
        out["skipped"] = f"{n} text-encoder layer{'' if n == 1 else 's'}, rank {te_ranks}"
    if any(k.rpartition(".")[2] == "use_rslora" and v is True for k, v in _peft_config(p, meta).items()):
        out["use_rslora"] = True  # the scale --lora applies is alpha / sqrt(rank), not alpha / rank
    out["target"] = lora_target({layer for layer, _ in kinds.values()})
    out.update({k: meta[k] for k in LORA_RUN_KEYS if meta.get(k)})
    return out


def _applied(kinds: dict[str, tuple[str, str]]) -> tuple[dict, dict]:
    """``kinds`` split into the layers ``--lora`` applies and the text-encoder ones it skips (a
    file of text-encoder layers only: those are the file's)."""
    from video.models.lora_keys import _OTHER_COMPONENTS

    applied = {k: v for k, v in kinds.items() if not k.startswith(_OTHER_COMPONENTS)}
    if not any(kind == "A" for _, kind in applied.values()):
        return kinds, {}
    return applied, {k: v for k, v in kinds.items() if k.startswith(_OTHER_COMPONENTS)}


def lora_row(p: Path) -> dict:
    """What ``video models`` adds to a LoRA file's row: the model it adapts and its rank (or
    ranks), as ``video info`` says them (:func:`lora_fields`); the row said only the layout and
    the layer count, so which LoRA fits which model took a ``video info`` per file."""
    from video.models.inspect import safetensors_shapes

    shapes, _, _ = safetensors_shapes(p)
    kinds = lora_key_kinds(shapes)
    ranks = _ranks(shapes, _applied(kinds)[0])
    return {"target": lora_target({layer for layer, _ in kinds.values()}), **(_one_or_many("rank", ranks) if ranks else {})}


def row_note(row: dict) -> str:
    """``"; for wan, rank 4"``: :func:`lora_row`'s fields as ``video models`` prints them."""
    if "target" not in row:
        return ""
    rank = f"rank {row['rank']}" if "rank" in row else f"ranks {', '.join(map(str, row['ranks']))}" if "ranks" in row else ""
    target = "model unknown" if row["target"] == "unknown" else f"for {row['target']}"
    return "; " + ", ".join(x for x in (target, rank) if x)


def _ranks(shapes: dict[str, tuple[int, ...]], kinds: dict[str, tuple[str, str]]) -> list[int]:
    """The ranks of the down (A) matrices among ``kinds`` (:func:`lora_key_kinds`)."""
    return sorted({shapes[k][0] for k, (_, kind) in kinds.items() if kind == "A" and shapes[k]})
