"""LoRA key layouts: the names a LoRA file gives its tensors, read into and written from
``{module path: LoraPart}`` against a model's own layers. A module of its own because the
layouts are most of what LoRA handling is, and none of it changes a weight: reading files
(:mod:`video.models.lora`) and applying them (:mod:`video.models.lora_merge`) build on it.
So it also holds what all three share, :class:`LoraError`, :class:`LoraPart` and
:func:`require_peft`: the bottom of the import chain lora -> lora_merge -> lora_keys, no cycle.

A LoRA of a layer with weight W (out, in[, k...]) is a down matrix A (r, in[, k...]), an up
matrix B (out, r[, 1...]) and alpha; alpha / r is kohya sd-scripts' ``LoRAModule.scale``
(alpha 0 or absent means alpha = r) and peft's ``scaling``.

Layouts, detected by keys:
- peft / diffusers: ``<prefix>.<module.path>.lora_A.weight`` (A), ``.lora_B.weight`` (B); prefix
  ``unet`` or ``transformer`` as diffusers' ``save_lora_weights`` writes it (``pipe.dit.``: DiffSynth's
  training wrapper, when its checkpoint keeps the prefix); alpha in the
  safetensors metadata ``lora_adapter_metadata`` (``<prefix>.lora_alpha``, ``<prefix>.alpha_pattern``,
  ``<prefix>.use_rslora``) or in peft's ``adapter_config.json`` beside the file, else alpha = r, as
  diffusers reads such files. Pattern keys match as peft matches them (:func:`pattern_key`), and
  rsLoRA's scale alpha / sqrt(r) is kept as the alpha that gives it under alpha / r.
- kohya: ``lora_unet_<module_path_with_underscores>.lora_down.weight`` (A), ``.lora_up.weight`` (B),
  ``.alpha`` (sd-scripts ``networks/lora.py``: ``(prefix + "." + name).replace(".", "_")``); the
  same names under ``lycoris_`` (LyCORIS's own wrapper, as SimpleTuner saves it) and
  ``lora_transformer_`` (kohya-style files of DiT models), read as diffusers reads them
  (``_convert_lycoris_flux2_lokr_to_diffusers``, the ``lora_transformer_`` "mixture" files of
  ``_convert_kohya_flux_lora_to_diffusers``: the rest is the module path with underscores). Our
  DiT and the SVD UNet use their own (diffusers) module paths under the same ``lora_unet_`` prefix;
  a Wan transformer's are written in Wan's own names (below), as musubi-tuner writes them and
  diffusers' ``WanPipeline.load_lora_weights`` and ComfyUI read them.
- Wan's own module names (``blocks.N.self_attn.q``, as Wan, DiffSynth, ComfyUI and musubi-tuner
  write them, with or without ``diffusion_model.``, dotted or kohya-style) resolve to diffusers'
  ``WanTransformer3DModel`` paths through diffusers' own single-file rename
  (``convert_wan_transformer_to_diffusers``); so do its modulation tables (``blocks.N.modulation``,
  ``head.modulation``: diffusers' ``scale_shift_table`` parameters), whose deltas LightX2V writes
  as ``blocks.N.diff_m`` and ComfyUI as ``blocks.N.modulation.diff``.
- The SVD UNet's sgm names (``input_blocks.1.1.transformer_blocks.0.attn1.to_q``, as Stability's
  checkpoints and ComfyUI name its layers, under ``diffusion_model.`` or kohya-style) resolve through
  the single-file checkpoint map (:func:`video.models.sgm.unet_sgm_key`).

Beside A and B, the keys ``.diff`` / ``.diff_b``, ``lora_B.bias`` (peft ``lora_bias``),
``lora_magnitude_vector`` (peft DoRA) and ``dora_scale`` (LyCORIS DoRA) are read too; what each
does to a weight is :mod:`video.models.lora_merge`'s. Any other key kind (LoHa, LoKr, OFT...) is
an error naming it: a LoRA is applied whole or not at all.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field

import torch

from video.models.svd import CheckpointError

KOHYA_PREFIX = "lora_unet_"
METADATA_KEY = "lora_adapter_metadata"  # diffusers' LORA_ADAPTER_METADATA_KEY
_PEFT_PREFIXES = ("base_model.model.", "unet.", "transformer.", "model.diffusion_model.", "diffusion_model.",
                  "pipe.dit.")
KOHYA_LIKE = ("lycoris_", "lora_transformer_")  # read as lora_unet_: the same module-path names follow
_DIFF_M = re.compile(r"^(.*)\.diff_m$")  # LightX2V: the full delta of <module>.modulation
# (key pattern, kind): the module path is what precedes the suffix (<module>.modulation for _DIFF_M)
_KEY_KINDS = (
    (re.compile(r"^(.*)\.lora_A(?:\.[^.]+)?\.weight$"), "A"),
    (re.compile(r"^(.*)\.lora_B(?:\.[^.]+)?\.weight$"), "B"),
    (re.compile(r"^(.*)\.lora_B(?:\.[^.]+)?\.bias$"), "B_bias"),
    (re.compile(r"^(.*)\.lora_magnitude_vector(?:\.[^.]+)?(?:\.weight)?$"), "magnitude"),
    (re.compile(r"^(.*)\.lora_down\.weight$"), "A"),
    (re.compile(r"^(.*)\.lora_up\.weight$"), "B"),
    (re.compile(r"^(.*)\.alpha$"), "alpha"),
    (re.compile(r"^(.*)\.diff$"), "diff"),
    (re.compile(r"^(.*)\.diff_b$"), "diff_b"),
    (_DIFF_M, "diff"),
    (re.compile(r"^(.*)\.dora_scale$"), "dora_scale"),
)
_KIND_NAMES = {"A": "lora_A/lora_down", "B": "lora_B/lora_up", "B_bias": "lora_B.bias",
               "magnitude": "lora_magnitude_vector", "alpha": "alpha", "diff": ".diff", "diff_b": ".diff_b",
               "dora_scale": "dora_scale"}
_UNSUPPORTED = {"hada_": "LyCORIS LoHa", "lokr_": "LyCORIS LoKr", "oft_": "OFT"}  # key-name prefixes
_OTHER_COMPONENTS = ("lora_te", "text_encoder")  # text-encoder parts of SD files: not ours to apply


class LoraError(CheckpointError):
    """A LoRA file or ``--lora`` argument we cannot use (the CLI prints it as one line)."""


def require_peft() -> None:
    """peft (the ``lora`` and ``train`` extras) is what LoRA layers are found, merged and trained
    with; without it, one line saying what to install rather than an import traceback."""
    import importlib.util

    if importlib.util.find_spec("peft") is None:
        raise LoraError("LoRA needs the peft package: pip install peft (or the project's `lora` extra: "
                        "pip install -e \".[lora]\")")


@dataclass
class LoraPart:
    """One layer's LoRA: ``down`` A (r, in, *k), ``up`` B (out, r, *1), ``alpha`` (its scale is
    alpha / r: an rsLoRA file's alpha is read as alpha * sqrt(r), the same scale); and the
    optional ``bias`` (peft ``lora_B.bias``), ``magnitude`` (peft DoRA), ``dora_scale``
    (LyCORIS DoRA), ``diff`` / ``diff_b`` (full deltas of the weight / bias; such a part may
    have no A and B, and a bare parameter such as Wan's ``scale_shift_table`` has only ``diff``);
    ``key``, the layer's name in the file it was read from (errors name it: the module path
    alone is not what a user can find in the file)."""

    down: torch.Tensor | None
    up: torch.Tensor | None
    alpha: float
    bias: torch.Tensor | None = None
    magnitude: torch.Tensor | None = None
    diff: torch.Tensor | None = None
    diff_b: torch.Tensor | None = None
    dora_scale: torch.Tensor | None = None
    key: str | None = field(default=None, compare=False, repr=False)

    @property
    def rank(self) -> int:
        return self.down.shape[0] if self.down is not None else 0

    def extras(self) -> list[str]:
        """What is here beside A and B (only merging applies these)."""
        return [name for name, t in (("lora_B.bias", self.bias), ("DoRA magnitude", self.magnitude),
                                     ("DoRA scale", self.dora_scale), (".diff", self.diff),
                                     (".diff_b", self.diff_b)) if t is not None]

    def delta(self) -> torch.Tensor:
        """(alpha / r) B A, shaped like the layer's weight, in float32."""
        ba = self.up.float().flatten(1) @ self.down.float().flatten(1)
        return (self.alpha / self.rank) * ba.view(self.up.shape[0], *self.down.shape[1:])


def kohya_name(path: str) -> str:
    return KOHYA_PREFIX + path.replace(".", "_")


def lycoris_kinds(keys) -> list[str]:
    """The LyCORIS (or OFT) kinds whose tensors the keys name (``hada_w1_a``: LoHa...), by the
    key-name prefixes of :data:`_UNSUPPORTED`: what a file we refuse is, said by name."""
    tails = {k.rpartition(".")[2] for k in keys}
    return sorted({what for pre, what in _UNSUPPORTED.items() if any(t.startswith(pre) for t in tails)})


def adaptable_layers(model: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """Linear and convolution layers by module path; a layer that peft already wraps counts
    once, under its own path (not its ``base_layer`` or adapter children)."""
    require_peft()
    from peft.tuners.lora import LoraLayer

    wrapped = [n for n, m in model.named_modules() if isinstance(m, LoraLayer)]
    out = {}
    for name, m in model.named_modules():
        if any(name.startswith(w + ".") for w in wrapped):
            continue
        if isinstance(m, LoraLayer) or isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d,
                                                      torch.nn.Conv3d)):
            out[name] = m
    return out


def _targets(model: torch.nn.Module, layers: dict[str, torch.nn.Module]) -> dict:
    """What a ``.diff`` / ``.diff_b`` may patch: the adaptable layers, every other module
    owning a weight or bias (norms), and every bare parameter (named neither weight nor bias,
    e.g. Wan's ``scale_shift_table``, as ComfyUI patches any state-dict key), outside peft's
    wrappers. Values are modules, or the :class:`torch.nn.Parameter` itself."""
    out: dict = dict(layers)

    def wrapped(name: str) -> bool:  # base_layer / lora_A of a wrapped layer
        parts = name.split(".")
        return any(".".join(parts[:i]) in layers for i in range(1, len(parts)))

    for name, m in model.named_modules():
        if name and name not in out and not wrapped(name) and any(
                isinstance(getattr(m, a, None), torch.nn.Parameter) for a in ("weight", "bias")):
            out[name] = m
    for name, p in model.named_parameters():
        if name.rpartition(".")[2] not in ("weight", "bias") and name not in out and not wrapped(name):
            out[name] = p
    return out


def _wan_reverse(name: str) -> str | None:
    """A diffusers Wan module path -> Wan's own name (checked by converting it back)."""
    top = {"condition_embedder.time_embedder.linear_1": "time_embedding.0",
           "condition_embedder.time_embedder.linear_2": "time_embedding.2",
           "condition_embedder.text_embedder.linear_1": "text_embedding.0",
           "condition_embedder.text_embedder.linear_2": "text_embedding.2",
           "condition_embedder.time_proj": "time_projection.1",
           "condition_embedder.image_embedder.norm1": "img_emb.proj.0",
           "condition_embedder.image_embedder.ff.net.0.proj": "img_emb.proj.1",
           "condition_embedder.image_embedder.ff.net.2": "img_emb.proj.3",
           "condition_embedder.image_embedder.norm2": "img_emb.proj.4",
           "proj_out": "head.head", "patch_embedding": "patch_embedding", "scale_shift_table": "head.modulation",
           "vace_patch_embedding": "vace_patch_embedding"}
    if name in top:
        return top[name]
    if not name.startswith(("blocks.", "vace_blocks.")):
        return None
    k = f".{name}."
    for a, b in ((".attn1.", ".self_attn."), (".attn2.", ".cross_attn."), (".to_out.0.", ".o."), (".to_q.", ".q."),
                 (".to_k.", ".k."), (".to_v.", ".v."), (".add_k_proj.", ".k_img."), (".add_v_proj.", ".v_img."),
                 (".norm_added_k.", ".norm_k_img."), (".ffn.net.0.proj.", ".ffn.0."), (".ffn.net.2.", ".ffn.2."),
                 (".norm2.", ".norm__3."), (".norm3.", ".norm2."), (".norm__3.", ".norm3."),
                 (".proj_in.", ".before_proj."), (".proj_out.", ".after_proj."),
                 (".scale_shift_table.", ".modulation.")):
        k = k.replace(a, b)
    return k[1:-1]


def wan_original_names(model: torch.nn.Module, paths) -> dict[str, str]:
    """``{Wan's own name: diffusers path}`` for the module or parameter ``paths`` of a diffusers
    Wan transformer (empty for any other model): each name is one that diffusers' single-file
    converter (``convert_wan_transformer_to_diffusers``) renames to that path. A Wan class is
    found among the model's classes, not only its own: FSDP2's ``fully_shard`` makes the class
    ``FSDPWanTransformer3DModel``, a subclass of the model's."""
    if not any(c.__name__.startswith("Wan") for c in type(model).__mro__):
        return {}
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    params = dict(model.named_parameters())
    out = {}
    for path in paths:
        orig = _wan_reverse(path)
        if orig is None:
            continue
        suffix = "" if path in params else ".weight"  # a bare parameter converts under its own name
        back = convert_wan_transformer_to_diffusers({f"{orig}{suffix}": torch.empty(0)})
        if list(back) == [f"{path}{suffix}"]:
            out[orig] = path
    return out


def sgm_unet_names(model: torch.nn.Module, targets: dict) -> dict[str, str]:
    """``{sgm name: diffusers path}`` for the ``targets`` of a diffusers SVD UNet (empty for any
    other model): the names Stability's single-file checkpoints give those layers
    (:func:`video.models.sgm.unet_sgm_key`), which ComfyUI's and sgm-trained LoRAs use."""
    if type(model).__name__ != "UNetSpatioTemporalConditionModel":
        return {}
    from video.models.sgm import unet_sgm_key

    out = {}
    for path, t in targets.items():
        if isinstance(t, torch.nn.Parameter):
            name = unet_sgm_key(model, path)
        else:
            base = t.get_base_layer() if hasattr(t, "get_base_layer") else t
            suffix = ".weight" if isinstance(getattr(base, "weight", None), torch.nn.Parameter) else ".bias"
            name = unet_sgm_key(model, path + suffix)
            name = name[: -len(suffix)] if name is not None and name.endswith(suffix) else None
        if name is not None and name != path:
            out[name] = path
    return out


def pattern_key(patterns, name: str, what: str = "alpha_pattern") -> str | None:
    """The first key of peft's ``rank_pattern`` / ``alpha_pattern`` that matches the module
    ``name``, or None: peft's own rule (``get_pattern_key``), each key a regular expression
    matched as ``(.*\\.)?(key)$``, so ``attn2.to_k`` means every module path ending in it."""
    for key in patterns:
        try:
            if re.match(rf"(.*\.)?({key})$", name):
                return key
        except re.error as e:
            raise LoraError(f"{what} key {key!r} is not a regular expression, as peft reads these keys ({e})") from None
    return None


def metadata_alpha(meta: dict, prefix: str, path: str, rank: int) -> float:
    """alpha of the layer ``path`` (tensor rank ``rank``) from peft's config, as peft builds the
    layer: ``alpha_pattern`` / ``rank_pattern`` by :func:`pattern_key`, else ``lora_alpha`` (absent:
    alpha = r); with ``use_rslora`` the scale is alpha / sqrt(r), returned as the alpha giving it
    under alpha / r. ``prefix``: the key prefix (``transformer``) diffusers' metadata entries carry.
    A declared rank unlike the tensors' is an error: peft and diffusers fail on such a file too,
    and its alpha was meant for another rank."""
    pre = f"{prefix}." if prefix else ""
    ranks = meta.get(f"{pre}rank_pattern") or {}
    key = pattern_key(ranks, path, "rank_pattern")
    declared = ranks[key] if key is not None else meta.get(f"{pre}r")
    if declared is not None and int(declared) != rank:
        raise LoraError(f"{path}: the LoRA's config gives rank {declared}"
                        f"{f' (rank_pattern {key!r})' if key is not None else ''} but its tensors have rank {rank}")
    alphas = meta.get(f"{pre}alpha_pattern") or {}
    key = pattern_key(alphas, path)
    alpha = float(alphas[key] if key is not None else meta.get(f"{pre}lora_alpha", rank))
    return alpha * rank ** 0.5 if meta.get(f"{pre}use_rslora") else alpha


# ---- layouts: to and from {module path: LoraPart} ----

def to_peft_layout(parts: dict[str, LoraPart], prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and safetensors metadata in diffusers' ``save_lora_weights`` layout."""
    tensors = {}
    for path, p in parts.items():
        if p.dora_scale is not None:
            raise LoraError(f"LoRA for {path}: a LyCORIS dora_scale has no peft form; save it as kohya")
        if p.down is not None:
            tensors[f"{prefix}.{path}.lora_A.weight"] = p.down.contiguous()
            tensors[f"{prefix}.{path}.lora_B.weight"] = p.up.contiguous()
        for suffix, t in (("lora_B.bias", p.bias), ("lora_magnitude_vector", p.magnitude), ("diff", p.diff),
                          ("diff_b", p.diff_b)):
            if t is not None:
                tensors[f"{prefix}.{path}.{suffix}"] = t.contiguous()
    ab = {k: p for k, p in parts.items() if p.down is not None}
    r = Counter(p.rank for p in ab.values()).most_common(1)[0][0] if ab else 0
    alpha = Counter(p.alpha for p in ab.values()).most_common(1)[0][0] if ab else 0.0
    exact = {k: "^" + re.escape(k) for k in ab}  # one layer each: peft matches keys as suffixes
    meta = {"r": r, "lora_alpha": alpha, "target_modules": sorted(ab),
            "rank_pattern": {exact[k]: p.rank for k, p in ab.items() if p.rank != r},
            "alpha_pattern": {exact[k]: p.alpha for k, p in ab.items() if p.alpha != alpha}}
    return tensors, {"format": "pt", METADATA_KEY: json.dumps({f"{prefix}.{k}": v for k, v in meta.items()},
                                                                sort_keys=True)}


def kohya_export_names(model: torch.nn.Module, paths) -> dict[str, str]:
    """``{module path: the name its kohya keys spell}`` for the ``paths`` of ``model`` whose
    convention is not their own path: Wan's own names for a diffusers Wan transformer
    (``blocks.0.attn1.to_q`` -> ``blocks.0.self_attn.q``), the names musubi-tuner writes and the
    only ones diffusers' ``WanPipeline.load_lora_weights`` (``_convert_musubi_wan_lora_to_diffusers``)
    reads under ``lora_unet_``. Empty for our DiT and the SVD UNet, whose kohya files keep the
    diffusers paths (sd-scripts' own names for a diffusers UNet)."""
    return {path: orig for orig, path in wan_original_names(model, paths).items()}


def kohya_header(parts: dict[str, LoraPart]) -> dict[str, str]:
    """The safetensors header of a kohya file: sd-scripts' ``ss_network_module``,
    ``ss_network_dim`` and ``ss_network_alpha`` (strings, as ``train_network.py`` writes them;
    ``Dynamic`` where layers differ, as its ``resize_lora.py`` does), which A1111, kohya's tools
    and LoRA browsers show as the file's rank and alpha."""
    ab = [p for p in parts.values() if p.down is not None]
    if not ab:
        return {"format": "pt"}
    ranks, alphas = {p.rank for p in ab}, {float(p.alpha) for p in ab}
    return {"format": "pt", "ss_network_module": "networks.lora",
            "ss_network_dim": str(ranks.pop()) if len(ranks) == 1 else "Dynamic",
            "ss_network_alpha": str(alphas.pop()) if len(alphas) == 1 else "Dynamic"}


def to_kohya_layout(parts: dict[str, LoraPart], names: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """Tensors in kohya's layout; ``names`` (:func:`kohya_export_names`) gives a module path the
    name its keys spell where that is not the path itself."""
    names = names or {}
    written = Counter(kohya_name(names.get(p, p)) for p in parts)
    clash = [n for n, c in written.items() if c > 1]
    if clash:
        raise LoraError(f"module paths collide in kohya names: {clash[:3]}")
    out = {}
    for path, p in parts.items():
        k = kohya_name(names.get(path, path))
        if p.bias is not None or p.magnitude is not None:
            raise LoraError(f"LoRA for {path}: lora_B.bias and DoRA magnitudes have no kohya form; save it as peft")
        if p.down is not None:
            out[f"{k}.lora_down.weight"] = p.down.contiguous()
            out[f"{k}.lora_up.weight"] = p.up.contiguous()
            out[f"{k}.alpha"] = torch.tensor(float(p.alpha))
        for suffix, t in (("diff", p.diff), ("diff_b", p.diff_b), ("dora_scale", p.dora_scale)):
            if t is not None:
                out[f"{k}.{suffix}"] = t.contiguous()
    return out


def _resolve(raw: str, targets: dict, aliases: dict[str, str], kohya: dict[str, str]) -> tuple[str, str] | None:
    """(module path, the prefix it came under) of a key's module name (our path, or another
    name of it: ``aliases``), or None."""
    for pre in ("", *_PEFT_PREFIXES):
        if pre and not raw.startswith(pre):
            continue
        rest = raw[len(pre):]
        if rest in targets:
            return rest, pre.rstrip(".")
        if aliases.get(rest) in targets:
            return aliases[rest], pre.rstrip(".")
    for pre in ("", *KOHYA_LIKE):
        name = KOHYA_PREFIX + raw[len(pre):] if pre else raw
        if raw.startswith(pre) and kohya.get(name) in targets:
            return kohya[name], ""
    return None


def _key_kind_name(key: str) -> str:
    tail = key.rsplit(".", 2)[-2:]
    name = ".".join(tail) if tail[-1] in ("weight", "bias") and len(tail) == 2 else tail[-1]
    known = next((what for pre, what in _UNSUPPORTED.items() if name.startswith(pre)), None)
    return f".{name}" + (f" ({known})" if known else "")


def _layer_and_kind(key: str) -> tuple[str, str] | None:
    """``(layer name as the file spells it, tensor kind)`` of one LoRA key; None for a key of
    no kind :func:`parse_lora` applies."""
    for rx, kind in _KEY_KINDS:
        m = rx.match(key)
        if m:
            return m.group(1) + (".modulation" if rx is _DIFF_M else ""), kind
    return None


def lora_layer_names(keys) -> set[str]:
    """The layers a LoRA file's keys adapt, as :func:`parse_lora` groups them, from the key
    names alone (its header: no tensor read); text-encoder keys, which it skips, left out."""
    return {found[0] for key in keys if not key.startswith(_OTHER_COMPONENTS)
            if (found := _layer_and_kind(key))}


def nonfinite_count(t: torch.Tensor) -> int:
    """How many values of ``t`` are NaN or infinite. fp8 is read through fp16 (every fp8 value
    fits; torch has no ``isfinite`` for float8_e4m3fn: an fp8 LoRA was a traceback). The largest
    and smallest value carry any NaN or inf, so a clean tensor costs two reductions, not a
    full-size boolean mask (0.06 s against 1.2 s per 100 M values)."""
    if not t.is_floating_point() or t.numel() == 0:
        return 0
    x = t.to(torch.float16) if t.element_size() == 1 else t
    if bool(torch.isfinite(x.amax())) and bool(torch.isfinite(x.amin())):
        return 0
    return x.numel() - int(torch.isfinite(x).sum())


def check_values(source: str, key: str, kind: str, t: torch.Tensor) -> None:
    """Refuse a tensor no merge can use: an alpha that is not one number (``float(alpha)`` was a
    traceback), or NaN / infinite values (a diverged fp16 training writes them; merged, they make
    every output NaN: a black video that still exits 0, as a NaN ``--lora`` scale did)."""
    if kind == "alpha" and t.numel() != 1:
        raise LoraError(f"{source}: {key!r} holds {t.numel()} values where an alpha is one number; the file is "
                        "damaged or not a LoRA")
    bad = nonfinite_count(t)
    if bad:
        what = f"is {float(t.float())}" if t.numel() == 1 else f"holds {bad} NaN or infinite values of {t.numel()}"
        raise LoraError(f"{source}: {key!r} {what} (a diverged training?); refusing this LoRA: merged, it makes "
                        "the output NaN (a black video)")


def parse_lora(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None, model: torch.nn.Module,
               source: str = "LoRA", adapter_config: dict | None = None) -> dict[str, LoraPart]:
    """Every key of a LoRA file (peft, kohya, Wan's own names, the SVD UNet's sgm names) resolved
    to ``model``'s module (or parameter) paths; an error for any key it would not apply (a LoRA
    is applied whole or not at all)."""
    layers = adaptable_layers(model)
    targets = _targets(model, layers)
    aliases = wan_original_names(model, targets) | sgm_unet_names(model, targets)
    kohya = {kohya_name(p): p for p in targets} | {kohya_name(o): p for o, p in aliases.items()}
    groups: dict[str, dict[str, torch.Tensor]] = {}
    unknown, other = [], []
    for key, t in tensors.items():
        if key.startswith(_OTHER_COMPONENTS):
            other.append(key)
            continue
        found = _layer_and_kind(key)
        if found is None:
            unknown.append(key)
            continue
        check_values(source, key, found[1], t)
        if found[1] in groups.setdefault(found[0], {}):  # e.g. blocks.0.diff_m and blocks.0.modulation.diff
            raise LoraError(f"{source}: two {_KIND_NAMES[found[1]]} tensors for {found[0]} ({key!r} and "
                            "another name of it)")
        else:
            groups[found[0]][found[1]] = t
    if unknown:
        kinds = sorted({_key_kind_name(k) for k in unknown})
        raise LoraError(f"{source}: {len(unknown)} key{'s' if len(unknown) > 1 else ''} of "
                        f"{'kinds' if len(kinds) > 1 else 'a kind'} not applied here ({', '.join(kinds)}; e.g. "
                        f"{unknown[0]!r}); refusing to apply only part of this LoRA")
    meta = json.loads((metadata or {}).get(METADATA_KEY, "{}"))
    if adapter_config is not None and not meta:  # peft's own save_pretrained: alpha in adapter_config.json
        meta = {k: adapter_config[k] for k in ("r", "rank_pattern", "lora_alpha", "alpha_pattern", "use_rslora")
                if k in adapter_config}
        meta.update({f"base_model.model.{k}": v for k, v in meta.items()})
    parts, unmatched = {}, []
    for raw, g in groups.items():
        ab = {"A", "B"} & set(g)
        if len(ab) == 1:
            have, lack = ("lora_A/lora_down", "lora_B/lora_up") if "A" in ab else ("lora_B/lora_up", "lora_A/lora_down")
            raise LoraError(f"{source}: {raw} has {have} without its {lack}")
        names = {"B_bias": "lora_B.bias", "magnitude": "lora_magnitude_vector", "alpha": "alpha",
                 "dora_scale": "dora_scale"}
        if not ab and names.keys() & g.keys():
            kinds = sorted(names[k] for k in g if k in names)
            raise LoraError(f"{source}: {raw} has {', '.join(kinds)} without lora_A/lora_B weights")
        if {"magnitude", "dora_scale"} <= g.keys():
            raise LoraError(f"{source}: {raw} has both a peft DoRA magnitude and a LyCORIS dora_scale")
        found = _resolve(raw, layers if ab else targets, aliases, kohya)
        if found is None:
            unmatched.append(raw)
            continue
        path, prefix = found
        alpha = 0.0
        if ab:
            rank = g["A"].shape[0]
            if g["B"].ndim < 2 or g["B"].shape[1] != rank:
                raise LoraError(f"{source}: {raw}: lora_A/lora_down has rank {rank} but lora_B/lora_up "
                                f"{tuple(g['B'].shape)} has {g['B'].shape[1] if g['B'].ndim > 1 else 'none'}; "
                                "the file is damaged or mixes two LoRAs")
            if "alpha" in g:
                alpha = float(g["alpha"].item()) or float(rank)  # kohya: alpha 0 means alpha = r
            else:
                try:
                    alpha = metadata_alpha(meta, prefix, path, rank)
                except LoraError as e:
                    raise LoraError(f"{source}: {e}") from None
                if not math.isfinite(alpha):
                    raise LoraError(f"{source}: {raw}: its config gives alpha {alpha}; refusing this LoRA: merged, "
                                    "it makes the output NaN (a black video)")
        if path in parts:
            raise LoraError(f"{source}: two entries for {path} ({raw} and another name of the same layer)")
        parts[path] = LoraPart(g.get("A"), g.get("B"), alpha, bias=g.get("B_bias"), magnitude=g.get("magnitude"),
                               diff=g.get("diff"), diff_b=g.get("diff_b"), dora_scale=g.get("dora_scale"),
                               key=raw)
    if other:
        warnings.warn(f"{source}: skipping {len(other)} text-encoder LoRA keys (only the denoiser is adapted)",
                      stacklevel=3)
    if unmatched:
        raise LoraError(f"{source}: {len(unmatched)} LoRA layers match no layer of this model "
                        f"(e.g. {unmatched[0]!r}); was it trained for another model?")
    return parts


def from_peft_layout(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None, model: torch.nn.Module,
                     source: str = "LoRA", adapter_config: dict | None = None) -> dict[str, LoraPart]:
    return parse_lora(tensors, metadata, model, source, adapter_config)


def from_kohya_layout(tensors: dict[str, torch.Tensor], model: torch.nn.Module,
                      source: str = "LoRA") -> dict[str, LoraPart]:
    return parse_lora(tensors, None, model, source)


