"""Stability's single-file SVD checkpoints (``svd.safetensors``, ``svd_xt.safetensors``).

The file holds four networks under sgm's module names:
``model.diffusion_model.*`` (the UNet, with ``time_stack`` temporal layers),
``first_stage_model.*`` (the temporal-decoder VAE: its decoder is the one we use),
``conditioner.embedders.0.open_clip.model.*`` (OpenCLIP ViT-H/14) and
``conditioner.embedders.3.encoder.*`` (a legacy AutoencoderKL whose ``encoder`` and
``quant_conv`` encode the conditioning frame; ``first_stage_model`` has no ``quant_conv``,
so diffusers' VAE encoder side is read from here).

Conversion is a key map in both directions (torchtitan's ``state_dict_adapter`` idea):
``sgm_key(diffusers_key)`` names where each of our parameters lives in the file, with a
small transform where the layouts differ (1x1 convs vs linears, a fused q/k/v, a transposed
projection). Loading walks the diffusers model's own parameters, so every parameter is
accounted for and a missing one is an error naming it; writing is the same map backwards.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import torch

from video.config import ModelConfig, load_config, load_model_config, to_dict

UNET = "model.diffusion_model."
VAE = "first_stage_model."
CLIP = "conditioner.embedders.0.open_clip.model.visual."
COND_ENCODER = "conditioner.embedders.3.encoder."
CONFIG_METADATA_KEY = "video_pipeline.config"  # our own writer stores the architecture here
# The configs/model name whose unet / vae / image_encoder sections are the published files'
# architecture (svd.yaml and svd_xt.yaml differ only in num_frames and sampling).
PUBLISHED_ARCHITECTURE = "svd"
# Containers a whole checkpoint's keys may sit under when saved as is: a lightning checkpoint's
# ``state_dict``, DDP's ``module``.
WRAPPERS = ("state_dict.", "module.", "state_dict.module.")
# How the image encoder's keys are named under CLIP: OpenCLIP's (Stability's files) or
# transformers' (ComfyUI's checkpoint saves: ``process_clip_vision_state_dict_for_saving``
# prefixes its CLIPVisionModelProjection's state dict, which has transformers' names).
OPENCLIP, TRANSFORMERS = "openclip", "transformers"

# Transforms, applied file -> model (and inverted model -> file).
SAME, CONV1X1, TRANSPOSE = "same", "conv1x1", "transpose"


def _resnet_sgm(rest: str) -> str:
    """diffusers ResnetBlock names -> sgm openaimodel ResBlock names (UNet and VAE time_stack)."""
    table = {"norm1.": "in_layers.0.", "conv1.": "in_layers.2.", "time_emb_proj.": "emb_layers.1.",
             "norm2.": "out_layers.0.", "conv2.": "out_layers.3.", "conv_shortcut.": "skip_connection."}
    for a, b in table.items():
        if rest.startswith(a):
            return b + rest[len(a):]
    raise KeyError(rest)


def _unet_resnet(rest: str) -> str:
    if rest.startswith("spatial_res_block."):
        return _resnet_sgm(rest[len("spatial_res_block."):])
    if rest.startswith("temporal_res_block."):
        return "time_stack." + _resnet_sgm(rest[len("temporal_res_block."):])
    if rest == "time_mixer.mix_factor":
        return rest
    raise KeyError(rest)


def _unet_attention(rest: str) -> str:
    if rest.startswith("temporal_transformer_blocks."):
        return "time_stack." + rest[len("temporal_transformer_blocks."):]
    m = re.match(r"time_pos_embed\.linear_([12])\.(.*)", rest)
    if m:
        return f"time_pos_embed.{0 if m[1] == '1' else 2}.{m[2]}"
    return rest  # norm, proj_in, proj_out, transformer_blocks.*, time_mixer.mix_factor


def unet_key(k: str, layers_per_block: int, up_has_attention: list[bool]) -> str:
    """A diffusers ``UNetSpatioTemporalConditionModel`` key -> its sgm ``VideoUNet`` key."""
    n = layers_per_block + 1
    simple = {"conv_in.": "input_blocks.0.0.", "time_embedding.linear_1.": "time_embed.0.",
              "time_embedding.linear_2.": "time_embed.2.", "add_embedding.linear_1.": "label_emb.0.0.",
              "add_embedding.linear_2.": "label_emb.0.2.", "conv_norm_out.": "out.0.", "conv_out.": "out.2."}
    for a, b in simple.items():
        if k.startswith(a):
            return UNET + b + k[len(a):]
    if m := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", k):
        b, kind, r, rest = int(m[1]), m[2], int(m[3]), m[4]
        idx = 1 + b * n + r
        return UNET + (f"input_blocks.{idx}.0.{_unet_resnet(rest)}" if kind == "resnets"
                       else f"input_blocks.{idx}.1.{_unet_attention(rest)}")
    if m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", k):
        return UNET + f"input_blocks.{(int(m[1]) + 1) * n}.0.op.{m[2]}"
    if m := re.match(r"mid_block\.resnets\.([01])\.(.*)", k):
        return UNET + f"middle_block.{0 if m[1] == '0' else 2}.{_unet_resnet(m[2])}"
    if m := re.match(r"mid_block\.attentions\.0\.(.*)", k):
        return UNET + f"middle_block.1.{_unet_attention(m[1])}"
    if m := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", k):
        u, kind, r, rest = int(m[1]), m[2], int(m[3]), m[4]
        idx = u * n + r
        return UNET + (f"output_blocks.{idx}.0.{_unet_resnet(rest)}" if kind == "resnets"
                       else f"output_blocks.{idx}.1.{_unet_attention(rest)}")
    if m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", k):
        u = int(m[1])
        return UNET + f"output_blocks.{u * n + layers_per_block}.{2 if up_has_attention[u] else 1}.conv.{m[2]}"
    raise KeyError(f"no sgm name for UNet key {k}")


def unet_sgm_key(unet, key: str) -> str | None:
    """The sgm name (without ``model.diffusion_model.``) of one parameter key of a diffusers SVD
    ``unet``, or None where :func:`unet_key` has no place for it: the checkpoint map, for what else
    names the UNet's layers the sgm way (LoRA files made for Stability's code or ComfyUI)."""
    lpb = unet.config.layers_per_block
    lpb = lpb[0] if isinstance(lpb, (list, tuple)) else lpb
    try:
        return unet_key(key, lpb, [hasattr(b, "attentions") for b in unet.up_blocks])[len(UNET):]
    except KeyError:
        return None


def _vae_resnet(rest: str, temporal_decoder: bool) -> str:
    if temporal_decoder:
        if rest.startswith("spatial_res_block."):
            rest = rest[len("spatial_res_block."):]
        elif rest.startswith("temporal_res_block."):
            return "time_stack." + _resnet_sgm(rest[len("temporal_res_block."):])
        elif rest == "time_mixer.mix_factor":
            return "mix_factor"
    return rest.replace("conv_shortcut.", "nin_shortcut.")


def _vae_attention(rest: str) -> tuple[str, str]:
    table = {"group_norm.": "norm.", "to_q.": "q.", "to_k.": "k.", "to_v.": "v.", "to_out.0.": "proj_out."}
    for a, b in table.items():
        if rest.startswith(a):
            return b + rest[len(a):], (CONV1X1 if a != "group_norm." and rest.endswith("weight") else SAME)
    raise KeyError(rest)


def vae_key(k: str, num_levels: int) -> tuple[str, str]:
    """A diffusers ``AutoencoderKLTemporalDecoder`` key -> (sgm key, transform)."""
    for side in ("encoder", "decoder"):
        if not k.startswith(side + "."):
            continue
        rest = k[len(side) + 1:]
        prefix = VAE if side == "decoder" else COND_ENCODER
        temporal = side == "decoder"
        simple = {"conv_in.": "conv_in.", "conv_out.": "conv_out.", "conv_norm_out.": "norm_out.",
                  "time_conv_out.": "conv_out.time_mix_conv."}
        for a, b in simple.items():
            if rest.startswith(a):
                return f"{prefix}{side}.{b}{rest[len(a):]}", SAME
        if m := re.match(r"(down|up)_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", rest):
            i = int(m[2]) if m[1] == "down" else num_levels - 1 - int(m[2])
            return f"{prefix}{side}.{m[1]}.{i}.block.{m[3]}.{_vae_resnet(m[4], temporal)}", SAME
        if m := re.match(r"(down|up)_blocks\.(\d+)\.(down|up)samplers\.0\.conv\.(.*)", rest):
            i = int(m[2]) if m[1] == "down" else num_levels - 1 - int(m[2])
            return f"{prefix}{side}.{m[1]}.{i}.{m[3]}sample.conv.{m[4]}", SAME
        if m := re.match(r"mid_block\.resnets\.([01])\.(.*)", rest):
            return f"{prefix}{side}.mid.block_{int(m[1]) + 1}.{_vae_resnet(m[2], temporal)}", SAME
        if m := re.match(r"mid_block\.attentions\.0\.(.*)", rest):
            name, tf = _vae_attention(m[1])
            return f"{prefix}{side}.mid.attn_1.{name}", tf
    if k.startswith("quant_conv."):
        return COND_ENCODER + k, SAME
    raise KeyError(f"no sgm name for VAE key {k}")


def clip_key(k: str) -> tuple[str, str]:
    """A transformers ``CLIPVisionModelWithProjection`` key -> (OpenCLIP key, transform).

    The fused ``in_proj`` of OpenCLIP holds q, k, v stacked on dim 0: transform ``qkv:<i>``.
    """
    if k == "visual_projection.weight":
        return CLIP + "proj", TRANSPOSE
    simple = {"vision_model.embeddings.class_embedding": "class_embedding",
              "vision_model.embeddings.patch_embedding.weight": "conv1.weight",
              "vision_model.embeddings.position_embedding.weight": "positional_embedding"}
    if k in simple:
        return CLIP + simple[k], SAME
    for a, b in (("vision_model.pre_layrnorm.", "ln_pre."), ("vision_model.post_layernorm.", "ln_post.")):
        if k.startswith(a):
            return CLIP + b + k[len(a):], SAME
    if m := re.match(r"vision_model\.encoder\.layers\.(\d+)\.(.*)", k):
        i, rest = m[1], m[2]
        pre = f"{CLIP}transformer.resblocks.{i}."
        if m2 := re.match(r"self_attn\.([qkv])_proj\.(weight|bias)", rest):
            return pre + f"attn.in_proj_{m2[2]}", f"qkv:{'qkv'.index(m2[1])}"
        table = {"self_attn.out_proj.": "attn.out_proj.", "layer_norm1.": "ln_1.", "layer_norm2.": "ln_2.",
                 "mlp.fc1.": "mlp.c_fc.", "mlp.fc2.": "mlp.c_proj."}
        for a, b in table.items():
            if rest.startswith(a):
                return pre + b + rest[len(a):], SAME
    raise KeyError(f"no OpenCLIP name for CLIP key {k}")


def _from_file(t: torch.Tensor, transform: str, target_shape) -> torch.Tensor:
    if transform == SAME:
        return t
    if transform == CONV1X1:
        return t.reshape(target_shape)
    if transform == TRANSPOSE:
        return t.t().contiguous()
    if transform.startswith("qkv:"):
        return t.chunk(3, dim=0)[int(transform[4:])]
    raise ValueError(transform)


def _key_maps(models_or_cfg, clip: str = OPENCLIP) -> dict[str, dict[str, tuple[str, str]]]:
    """For each network, our key -> (file key, transform); ``clip``: how the file names the image
    encoder (:func:`clip_names`: transformers' names are ours, under the same prefix)."""
    unet, vae, enc = models_or_cfg
    up_attn = [hasattr(b, "attentions") for b in unet.up_blocks]
    lpb = unet.config.layers_per_block
    lpb = lpb[0] if isinstance(lpb, (list, tuple)) else lpb
    n_vae = len(vae.config.block_out_channels)
    return {
        "unet": {k: (unet_key(k, lpb, up_attn), SAME) for k in unet.state_dict()},
        "vae": {k: vae_key(k, n_vae) for k in vae.state_dict()},
        "image_encoder": {k: clip_key(k) if clip == OPENCLIP else (CLIP + k, SAME) for k in enc.state_dict()
                          if not k.endswith("position_ids")},
    }


def is_sgm_svd(keys) -> bool:
    """Whether ``keys`` (without a wrapper: :func:`unwrapped`) are an SVD checkpoint in sgm's
    layout: a UNet with temporal layers and a VAE; :func:`absent_parts` says what else it lacks."""
    keys = set(keys)
    return any(k.startswith(UNET) and "time_stack" in k for k in keys) and any(k.startswith(VAE) for k in keys)


def wrapper_prefix(keys) -> str:
    """The container (:data:`WRAPPERS`) a checkpoint's sgm keys sit under, or "": a lightning
    checkpoint saved as is was "unknown" to `video models` and "not an SVD checkpoint" to img2vid."""
    keys = list(keys)
    return next((w for w in WRAPPERS[::-1] if any(k.startswith(w + UNET) for k in keys)), "")


def unwrapped(keys) -> set[str]:
    """``keys`` without their :func:`wrapper_prefix` (keys outside it dropped)."""
    prefix = wrapper_prefix(keys)
    return {k[len(prefix):] for k in keys if k.startswith(prefix)}


def clip_names(keys) -> str | None:
    """How a checkpoint names its image encoder (:data:`OPENCLIP`, :data:`TRANSFORMERS`), as
    ComfyUI's ``clip_vision.convert_to_transformers`` tells them apart (OpenCLIP's fused
    ``in_proj``), or None where it has none."""
    if CLIP + "transformer.resblocks.0.attn.in_proj_weight" in keys:
        return OPENCLIP
    if any(k.startswith(CLIP + "vision_model.") for k in keys):
        return TRANSFORMERS
    return OPENCLIP if any(k.startswith(CLIP) for k in keys) else None


# What an sgm SVD checkpoint lacking conditioner.embedders.3 is told: sgm encodes the conditioning
# frame with that embedder's AutoencoderKLModeOnly (encoder, then quant_conv); first_stage_model
# is an AutoencodingEngine without quant_conv, so its encoder is not known to be the same network.
NO_COND_ENCODER = ("first_stage_model's encoder is no stand-in (no quant_conv; sgm conditions on embedders.3's "
                   "own encoder): use Stability's file or a diffusers folder")


def absent_parts(keys) -> list[str]:
    """The networks an sgm SVD checkpoint (``keys`` unwrapped) lacks that the loader reads:
    ComfyUI's checkpoint saves (ImageOnlyCheckpointSave) have no ``conditioner.embedders.3``, a
    UNet-and-VAE file no conditioner at all. `video info` called them runnable; the loader then
    said only "138 expected keys missing"."""
    gaps = []
    if clip_names(keys) is None:
        gaps.append("conditioner.embedders.0 (the CLIP image encoder)")
    if not any(k.startswith(COND_ENCODER) for k in keys):
        gaps.append("conditioner.embedders.3 (the conditioning-frame encoder)")
    if not any(k.startswith(VAE + "decoder.") for k in keys):
        gaps.append("first_stage_model.decoder (the VAE decoder)")
    return gaps


def absent_message(path: Path, gaps: list[str]) -> str:
    """The loader's one line for an sgm SVD checkpoint without the parts ``gaps`` names."""
    why = f"; {NO_COND_ENCODER}" if any(g.startswith("conditioner.embedders.3") for g in gaps) else ""
    return f"{path}: an SVD checkpoint without {', '.join(gaps)}: not loaded{why}"


# Stability's file names for SVD-XT (stabilityai/stable-video-diffusion-img2vid-xt: svd_xt.safetensors,
# svd_xt_image_decoder.safetensors; -img2vid-xt-1-1: svd_xt_1_1.safetensors), and the same with "-".
_XT_NAME = re.compile(r"(?:svd|stable[_-]video[_-]diffusion[_-]img2vid)[_-]?xt(?:[_.-].*)?", re.IGNORECASE)


def xt_by_name(path: str | Path) -> bool:
    """Whether a file's name (stem) is one of Stability's SVD-XT names (:data:`_XT_NAME`): the
    published files declare no frame count, so the name is the one hint left; an SVD-XT file
    read as SVD ran 14 frames at SVD's guidance and warned of drift at its own 25."""
    return _XT_NAME.fullmatch(Path(path).stem) is not None


def has_image_decoder(keys) -> bool:
    """Stability's ``svd_image_decoder.safetensors`` / ``svd_xt_image_decoder.safetensors``
    (same repositories): the same UNet and encoders, but ``first_stage_model.decoder`` is sgm's
    per-frame image ``Decoder`` (no ``time_stack`` / ``time_mix`` layers), not the temporal one
    this pipeline (and diffusers' ``AutoencoderKLTemporalDecoder``) decodes with. Not supported."""
    dec = [k for k in keys if k.startswith(VAE + "decoder.")]
    return bool(dec) and not any("time_stack" in k or "time_mix" in k for k in dec)


IMAGE_DECODER_NOTE = ("image-decoder variant (svd*_image_decoder: a per-frame VAE decoder instead of the temporal "
                      "one): not supported; use svd.safetensors / svd_xt.safetensors")


def frames_from_metadata(meta: dict) -> int | None:
    """The frame count a file declares: our own config, or a ``num_frames``-like entry."""
    if CONFIG_METADATA_KEY in meta:
        return int(json.loads(meta[CONFIG_METADATA_KEY])["unet"]["num_frames"])
    for key in ("num_frames", "modelspec.num_frames", "frames"):
        if key in meta and str(meta[key]).isdigit():
            return int(meta[key])
    return None


def _empty_models(cfg: ModelConfig):
    """The three networks with parameters on the meta device (no random init of 1.5B weights)."""
    from video.models.svd import build_image_encoder, build_unet, build_vae

    try:
        from accelerate import init_empty_weights
    except ImportError:  # slower, same result
        return build_unet(cfg), build_vae(cfg), build_image_encoder(cfg)
    with init_empty_weights(include_buffers=False):
        return build_unet(cfg), build_vae(cfg), build_image_encoder(cfg)


SCALED_FP8_MARKER = UNET + "scaled_fp8"  # ComfyUI's marker of its "scaled fp8" files (model_detection.py)
EMA_PREFIX = "model_ema."  # sgm's LitEma copy of the UNet, kept by training checkpoints


def weight_scales(keys, read: set[str]) -> tuple[dict[str, str], set[str]]:
    """ComfyUI's scaled fp8 layout, present only with :data:`SCALED_FP8_MARKER`: each scaled
    ``X.weight`` is stored divided by ``X.scale_weight`` (the real weight is their product, as
    ComfyUI's ``scaled_fp8_ops`` computes ``linear(x, weight * scale_weight)``); ``X.scale_input``
    only scales activations for fp8 matmuls, which a dequantized weight does not need.
    Returns ({weight key: its scale key}, the layout's keys accounted for: the marker and the
    scales of weights in ``read``; a scale of any other weight is left unaccounted)."""
    keys = set(keys)
    if SCALED_FP8_MARKER not in keys:
        return {}, set()
    scales, accounted = {}, {SCALED_FP8_MARKER}
    for k in keys:
        for suffix in (".scale_weight", ".scale_input"):
            if k.endswith(suffix) and (weight := k[: -len(suffix)] + ".weight") in read:
                accounted.add(k)
                if suffix == ".scale_weight":
                    scales[weight] = k
    return scales, accounted


def unknown_unet_keys(keys, accounted: set[str]) -> list[str]:
    """Keys under the UNet prefix that nothing reads: loading without them would silently drop
    what they change (another UNet variant, a quantisation format we do not know)."""
    return sorted(k for k in keys if k.startswith(UNET) and k not in accounted)


def dequantize(t: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``t * scale`` (a scaled-fp8 weight times its one-value scale) computed in float32, then cast."""
    return (t.to(torch.float32) * scale.to(torch.float32)).to(dtype)


# What to give for an SVD UNet saved alone where no whole model is beside it.
SVD_WHOLE = "give the whole checkpoint (svd.safetensors, svd_xt.safetensors) or a diffusers folder"


def _not_svd_message(path: Path, f) -> str:
    """What a .safetensors file that is not a full sgm SVD checkpoint is, from its header."""
    from video.models.detect import classify_keys

    shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    found = classify_keys(shapes, f.metadata() or {}, path.name)
    if found["kind"] in ("svd", "svd_xt"):  # its UNet saved alone (sgm's names: the detail says what to give)
        from video.models.inspect import whole_model_near

        hint = "" if "give the whole" in found["detail"] else f": one part of a model, not a whole one; " \
            f"{whole_model_near(path, SVD_WHOLE)}"
        return f"{path}: {found['detail']}{hint}"
    if found["kind"] == "vae":
        return (f"{path} is a VAE-only file ({found['detail']}); --model needs a full SVD checkpoint (UNet, VAE and "
                "image encoder in one file, or a diffusers folder); there is no separate VAE option")
    what = "" if found["kind"] == "unknown" else f" ({found['kind']}: {found['detail']})"
    return f"{path}: a .safetensors file{what}, but not an SVD checkpoint in sgm's layout" + use_instead(path, found)


def use_instead(path: Path, found: dict) -> str:
    """Where a single file that is not a model goes instead, for the kinds a user gives
    ``--model`` by mistake: a LoRA or an embedding (the flag that takes it), one network of a
    model saved alone (the whole model), else nothing."""
    kind, detail = found["kind"], found["detail"]
    if kind == "lora":
        base = _run_base(path)
        if base is not None:
            return f"; a LoRA trained on {base[1]}: `video {base[0]} --model {base[1]} --lora {path} ...`"
        return f"; a LoRA: give it as --lora {path} to the command that renders its base model (img2vid, txt2vid)"
    if kind == "embedding":
        return f"; a textual inversion for text prompts: `video txt2vid --embeddings DIR` reads it ({path.stem})"
    if kind in ("clip_vision", "text_encoder") or ("alone" in detail and "need" not in detail):
        from video.models.inspect import whole_model_near

        return f"; one part of a model, not a whole one: {whole_model_near(path)}"
    return ""


def _run_base(path: Path) -> tuple[str, str] | None:
    """(command, base model) of a LoRA a ``video train`` run exported (``RUN/final/*.safetensors``,
    its ``RUN/config.yaml`` recording ``model``, ``init_from`` and ``task``), or None: the command
    that renders it and the base it was trained on, named as the run was given it: ``model``, or
    where ``init_from`` gave the base's weights, that run's ``final/model`` (``model`` then only
    names the architecture: ``tiny`` would be random weights)."""
    import yaml

    config = path.parent.parent / "config.yaml"
    if path.parent.name != "final" or not config.is_file():
        return None
    try:
        cfg = yaml.safe_load(config.read_text())
    except (OSError, ValueError, yaml.YAMLError):
        return None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model"), str) or not cfg["model"]:
        return None
    base = cfg["model"]
    init = cfg.get("init_from")
    if isinstance(init, str) and init:  # the base's weights came from an earlier run: its runtime export
        i = Path(init)
        exported = next((m for m in (i / "final" / "model", i / "model") if m.is_dir()), None)
        if exported is None:
            return None  # a checkpoint or file: no one folder renders it; the general hint stands
        base = str(exported)
    return ("txt2vid" if str(cfg.get("task", "")).startswith("dit") else "img2vid"), base


def load_sgm_checkpoint(path: Path, config: str | Path | None = None, dtype: torch.dtype = torch.float32):
    """Read an sgm single-file SVD checkpoint into our three diffusers/transformers networks,
    every tensor cast once, straight to ``dtype`` (a float16 file read as float16 is never
    widened to float32 on the way: the parameters are the file's own tensors).

    Every key under ``model.diffusion_model.`` must be read: unknown ones are an error, as
    are missing ones. ComfyUI's scaled fp8 files are dequantized (:func:`weight_scales`).
    ``model_ema.*`` (sgm's EMA copy in training checkpoints) is not used, as sgm's own
    inference does not use it (``DiffusionEngine(use_ema=False)``, the default of its svd*.yaml
    sampling configs, never creates ``model_ema`` and loads the file with ``strict=False``);
    a warning says so."""
    import warnings

    from safetensors import safe_open

    from video.models.svd import CheckpointError, SVDModels

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        prefix = wrapper_prefix(f.keys())  # a lightning state_dict saved as is: read under it
        keys = unwrapped(f.keys())
        if not is_sgm_svd(keys):
            raise CheckpointError(_not_svd_message(path, f))
        if has_image_decoder(keys):
            raise CheckpointError(f"{path}: an SVD {IMAGE_DECODER_NOTE}")
        gaps = absent_parts(keys)
        if gaps:
            raise CheckpointError(absent_message(path, gaps))
        cfg, unstated = file_config(path, meta, config)
        nets = _empty_models(cfg)
        maps = _key_maps(nets, clip_names(keys))
        read = {fk for m in maps.values() for fk, _ in m.values()}
        missing = sorted(read - keys)
        if missing:
            raise CheckpointError(f"{path}: {len(missing)} expected keys missing, e.g. {missing[0]}")
        scales, layout = weight_scales(keys, read)
        unknown = unknown_unet_keys(keys, read | layout)
        if unknown:
            raise CheckpointError(f"{path}: {len(unknown)} UNet keys this loader has no place for (e.g. "
                                  f"{', '.join(unknown[:3])}); another UNet architecture or a format not read here")
        for sk in scales.values():
            if (shape := f.get_slice(prefix + sk).get_shape()) not in ([], [1]):
                raise CheckpointError(f"{path}: {sk} has shape {tuple(shape)}; only one scale "
                                      "per weight (ComfyUI's scaled fp8) is supported, not block-wise scales")
        if any(k.startswith(EMA_PREFIX) for k in keys):
            warnings.warn(f"{path.name}: has EMA weights (model_ema.*); they are not used (as in Stability's own "
                          "inference, which loads model.diffusion_model.*)", stacklevel=3)
        for net, (name, m) in zip(nets, maps.items(), strict=True):
            target = net.state_dict()
            left = Counter(fk for fk, _ in m.values())
            fused: dict[str, torch.Tensor] = {}  # a fused q/k/v tensor read once, until its last chunk
            sd = {}
            for k, (fk, tf) in m.items():
                if fk not in fused:
                    fused[fk] = f.get_tensor(prefix + fk)
                left[fk] -= 1
                raw = fused.pop(fk) if left[fk] == 0 else fused[fk]
                t = _from_file(raw, tf, target[k].shape)
                if tuple(t.shape) != tuple(target[k].shape):
                    raise CheckpointError(f"{path}: {fk} has shape {tuple(t.shape)}, {name} expects "
                                          f"{tuple(target[k].shape)} (not the architecture of {cfg.name})")
                if fk in scales:
                    t = dequantize(t, f.get_tensor(prefix + scales[fk]), dtype)
                elif t.dtype.is_floating_point:
                    t = t.to(dtype)  # no copy when the file already holds dtype
                sd[k] = t
            net.load_state_dict(sd, strict=False, assign=True)
            for mod in net.modules():  # buffers outside the file (built real, in float32): the same dtype
                for bname, b in mod._buffers.items():
                    if b is not None and b.is_floating_point() and b.dtype != dtype:
                        mod._buffers[bname] = b.to(dtype)
    unet, vae, enc = (n.eval() for n in nets)
    return SVDModels(unet, vae, enc, cfg, layout="single_file", extra={"metadata": meta, "frames_unstated": unstated})


def file_config(path: Path, meta: dict, config: str | Path | None) -> tuple[ModelConfig, bool]:
    """The config the single file ``path`` loads with, and whether its frame count went unstated
    (no ``config``, none declared, no XT name: read as SVD's 14). The architecture is our
    writer's (:data:`CONFIG_METADATA_KEY`), else the published one. Sampling comes from
    ``config``, else our writer's, else the frames the file declares, else Stability's XT names
    (:func:`xt_by_name`, said in one note line), else SVD's. The UNet's ``num_frames`` (what
    img2vid's drift warning compares with) is the declared count, else the chosen config's:
    ``--model-config svd_xt`` kept 14 there and every default 25-frame run warned of drift."""
    import sys

    declared = frames_from_metadata(meta)
    ours = CONFIG_METADATA_KEY in meta
    arch = (load_config(ModelConfig, json.loads(meta[CONFIG_METADATA_KEY])) if ours
            else load_model_config(PUBLISHED_ARCHITECTURE))
    named = config is None and declared is None and xt_by_name(path)
    if config is None and ours:
        cfg = arch
    else:
        cfg = load_model_config(config or ("svd_xt" if declared == 25 or named else "svd"))
        frames = cfg.unet.num_frames
        cfg.unet, cfg.vae, cfg.image_encoder = arch.unet, arch.vae, arch.image_encoder
        cfg.unet.num_frames = declared if declared is not None else frames
    if named:
        s = cfg.sampling
        print(f"note: {path.name}: read as SVD-XT ({s.num_frames} frames, CFG {s.min_guidance_scale:.1f}->"
              f"{s.max_guidance_scale:.1f}) by its file name, as the file does not say; --model-config svd reads it "
              "as SVD", file=sys.stderr)
    cfg.name = path.stem
    return cfg, config is None and declared is None and not named


def to_sgm_state_dict(models) -> dict[str, torch.Tensor]:
    """Our networks -> one state dict in sgm's layout (the inverse of the loader's map)."""
    out: dict[str, torch.Tensor] = {}
    nets = (models.unet, models.vae, models.image_encoder)
    qkv: dict[str, list] = {}
    for net, m in zip(nets, _key_maps(nets).values(), strict=True):
        sd = net.state_dict()
        for k, (fk, tf) in m.items():
            t = sd[k].detach().cpu()
            if tf == CONV1X1:
                t = t.reshape(*t.shape, 1, 1)
            elif tf == TRANSPOSE:
                t = t.t()
            elif tf.startswith("qkv:"):
                qkv.setdefault(fk, [None] * 3)[int(tf[4:])] = t
                continue
            out[fk] = t.contiguous()
    for fk, parts in qkv.items():
        out[fk] = torch.cat(parts, dim=0).contiguous()
    # The published files also keep a copy of the encoder in first_stage_model (unused here).
    for k in list(out):
        if k.startswith(COND_ENCODER + "encoder."):
            out[VAE + k[len(COND_ENCODER):]] = out[k].clone()
    return out


def save_sgm_checkpoint(models, path: str | Path, write_config: bool = True) -> Path:
    """Write a single-file checkpoint in sgm's layout (temp name, then rename).

    ``write_config`` stores our architecture in the header so that non-published sizes
    (``tiny``) load back; the published files carry no such entry (:func:`file_config` reads them).
    """
    import os

    from safetensors.torch import save_file

    path = Path(path)
    meta = {CONFIG_METADATA_KEY: json.dumps(to_dict(models.config))} if write_config else {}
    tmp = path.with_name(f".{path.name}.partial")
    save_file(to_sgm_state_dict(models), str(tmp), metadata=meta)
    os.replace(tmp, path)
    return path
