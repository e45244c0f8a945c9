"""LoRA files at inference: read the peft/diffusers or the kohya key layout, scale, and either
merge into the base weights or attach unmerged adapters (peft); ``--lora FILE:SCALE``.

A LoRA of a layer with weight W (out, in[, k...]) is a down matrix A (r, in[, k...]), an up
matrix B (out, r[, 1...]) and alpha:

    W' = W + s * (alpha / r) * B A            (Hu et al. 2021, Eq. 3; s: the user's scale)

alpha / r is kohya sd-scripts' ``LoRAModule.scale`` (alpha 0 or absent means alpha = r) and
peft's ``scaling``. For a convolution B A is the 1x1-after-kxk composition (kohya ``merge_to``).

Layouts, detected by keys:
- peft / diffusers: ``<prefix>.<module.path>.lora_A.weight`` (A), ``.lora_B.weight`` (B); prefix
  ``unet`` or ``transformer`` as diffusers' ``save_lora_weights`` writes it; alpha in the
  safetensors metadata ``lora_adapter_metadata`` (``<prefix>.lora_alpha``, ``<prefix>.alpha_pattern``),
  else alpha = r, as diffusers reads such files.
- kohya: ``lora_unet_<module_path_with_underscores>.lora_down.weight`` (A), ``.lora_up.weight`` (B),
  ``.alpha`` (sd-scripts ``networks/lora.py``: ``(prefix + "." + name).replace(".", "_")``). Our
  DiT and the SVD UNet use their own (diffusers) module paths under the same ``lora_unet_`` prefix.
- Wan's own module names (``blocks.N.self_attn.q``, as Wan, DiffSynth, ComfyUI and musubi-tuner
  write them, with or without ``diffusion_model.``, dotted or kohya-style) resolve to diffusers'
  ``WanTransformer3DModel`` paths through diffusers' own single-file rename
  (``convert_wan_transformer_to_diffusers``).

Beside A and B (ComfyUI's weight-patch semantics, peft's where peft defines them):
- ``.diff`` / ``.diff_b``: full deltas, W += s diff, b += s diff_b (any layer with a weight, norms too);
- ``lora_B.bias`` (peft ``lora_bias``): b += s (alpha / r) bias;
- ``lora_magnitude_vector`` (peft DoRA): W' = m / ||W + dW||_row (W + dW), dW = s (alpha / r) B A,
  as peft merges it (merge only);
- ``dora_scale`` (LyCORIS DoRA, kohya-layout files): with V = W + (alpha / r) B A and its norm
  per output row (``dora_scale`` shaped (out, 1, ...)) or per input column ((1, in, ...)),
  W' = V * (s (dora_scale / ||V|| - 1) + 1), as LyCORIS's own module merges and runs it (merge
  only). ComfyUI's merge agrees at s = 1 for input-axis scales only: on the output axis it divides
  by ||W|| instead of ||V||, and for other strengths it blends W + s (W'(1) - W).
Any other key kind (LoHa, LoKr, OFT...) is an error naming it: a LoRA is applied whole or not
at all.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from video.models.sniff import SAFETENSORS_SUFFIXES, claims_safetensors, is_pickled
from video.models.svd import CheckpointError

KOHYA_PREFIX = "lora_unet_"
METADATA_KEY = "lora_adapter_metadata"  # diffusers' LORA_ADAPTER_METADATA_KEY
_PEFT_PREFIXES = ("base_model.model.", "unet.", "transformer.", "model.diffusion_model.", "diffusion_model.")
# (key pattern, kind): the module path is what precedes the suffix
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
    (re.compile(r"^(.*)\.dora_scale$"), "dora_scale"),
)
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
    """One layer's LoRA: ``down`` A (r, in, *k), ``up`` B (out, r, *1), ``alpha``; and the
    optional ``bias`` (peft ``lora_B.bias``), ``magnitude`` (peft DoRA), ``dora_scale``
    (LyCORIS DoRA), ``diff`` / ``diff_b`` (full deltas of the weight / bias; such a part may
    have no A and B)."""

    down: torch.Tensor | None
    up: torch.Tensor | None
    alpha: float
    bias: torch.Tensor | None = None
    magnitude: torch.Tensor | None = None
    diff: torch.Tensor | None = None
    diff_b: torch.Tensor | None = None
    dora_scale: torch.Tensor | None = None

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


def lora_scale(arg: str, tail: str) -> float | None:
    """The scale ``tail`` after the last colon of ``--lora ARG``, or None when it is not a number
    (the colon is then part of the path). NaN and infinities are refused: float() takes them,
    and merged they make every weight NaN, a black video that still exits 0."""
    try:
        scale = float(tail)
    except ValueError:
        return None
    if not math.isfinite(scale):
        raise LoraError(f"--lora {arg}: the scale must be a finite number")
    return scale


def parse_lora_arg(arg: str) -> tuple[str, float]:
    """``"style.safetensors:0.8"`` -> ``("style.safetensors", 0.8)``; no scale means 1.0. Only a
    number after the last colon is a scale, so ``C:\\loras\\x.safetensors`` stays one path."""
    path, sep, tail = arg.rpartition(":")
    scale = lora_scale(arg, tail) if sep else None
    if scale is None:
        path, scale = arg, 1.0
    if not path:
        raise LoraError(f"--lora {arg!r}: give FILE or FILE:SCALE (e.g. style.safetensors:0.8)")
    return os.path.expanduser(path), scale  # ~ in --lora=~/x or a YAML config: the shell left it


def kohya_name(path: str) -> str:
    return KOHYA_PREFIX + path.replace(".", "_")


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


def _targets(model: torch.nn.Module, layers: dict[str, torch.nn.Module]) -> dict[str, torch.nn.Module]:
    """What a ``.diff`` / ``.diff_b`` may patch: the adaptable layers and every other module
    owning a weight or bias (norms), outside peft's wrappers."""
    out = dict(layers)
    for name, m in model.named_modules():
        if not name or name in out:
            continue
        parts = name.split(".")
        if any(".".join(parts[:i]) in layers for i in range(1, len(parts))):
            continue  # base_layer / lora_A of a wrapped layer
        if any(isinstance(getattr(m, a, None), torch.nn.Parameter) for a in ("weight", "bias")):
            out[name] = m
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
           "proj_out": "head.head", "patch_embedding": "patch_embedding",
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
                 (".proj_in.", ".before_proj."), (".proj_out.", ".after_proj.")):
        k = k.replace(a, b)
    return k[1:-1]


def wan_original_names(model: torch.nn.Module, paths) -> dict[str, str]:
    """``{Wan's own module name: diffusers path}`` for the ``paths`` of a diffusers Wan
    transformer (empty for any other model): each name is one that diffusers' single-file
    converter (``convert_wan_transformer_to_diffusers``) renames to that path."""
    if not type(model).__name__.startswith("Wan"):
        return {}
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    out = {}
    for path in paths:
        orig = _wan_reverse(path)
        if orig is None:
            continue
        back = convert_wan_transformer_to_diffusers({f"{orig}.weight": torch.empty(0)})
        if list(back) == [f"{path}.weight"]:
            out[orig] = path
    return out


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
    meta = {"r": r, "lora_alpha": alpha, "target_modules": sorted(ab),
            "rank_pattern": {k: p.rank for k, p in ab.items() if p.rank != r},
            "alpha_pattern": {k: p.alpha for k, p in ab.items() if p.alpha != alpha}}
    return tensors, {"format": "pt", METADATA_KEY: json.dumps({f"{prefix}.{k}": v for k, v in meta.items()},
                                                                sort_keys=True)}


def to_kohya_layout(parts: dict[str, LoraPart]) -> dict[str, torch.Tensor]:
    names = Counter(kohya_name(p) for p in parts)
    clash = [n for n, c in names.items() if c > 1]
    if clash:
        raise LoraError(f"module paths collide in kohya names: {clash[:3]}")
    out = {}
    for path, p in parts.items():
        k = kohya_name(path)
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


def _resolve(raw: str, targets: dict, wan: dict[str, str], kohya: dict[str, str]) -> tuple[str, str] | None:
    """(module path, the prefix it came under) of a key's module name, or None."""
    for pre in ("", *_PEFT_PREFIXES):
        if pre and not raw.startswith(pre):
            continue
        rest = raw[len(pre):]
        if rest in targets:
            return rest, pre.rstrip(".")
        if wan.get(rest) in targets:
            return wan[rest], pre.rstrip(".")
    if kohya.get(raw) in targets:
        return kohya[raw], ""
    return None


def _key_kind_name(key: str) -> str:
    tail = key.rsplit(".", 2)[-2:]
    name = ".".join(tail) if tail[-1] in ("weight", "bias") and len(tail) == 2 else tail[-1]
    known = next((what for pre, what in _UNSUPPORTED.items() if name.startswith(pre)), None)
    return f".{name}" + (f" ({known})" if known else "")


def parse_lora(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None, model: torch.nn.Module,
               source: str = "LoRA", adapter_config: dict | None = None) -> dict[str, LoraPart]:
    """Every key of a LoRA file (peft, kohya, Wan's own names) resolved to ``model``'s module
    paths; an error for any key it would not apply (a LoRA is applied whole or not at all)."""
    layers = adaptable_layers(model)
    targets = _targets(model, layers)
    wan = wan_original_names(model, targets)
    kohya = {kohya_name(p): p for p in targets} | {kohya_name(o): p for o, p in wan.items()}
    groups: dict[str, dict[str, torch.Tensor]] = {}
    unknown, other = [], []
    for key, t in tensors.items():
        if key.startswith(_OTHER_COMPONENTS):
            other.append(key)
            continue
        for rx, kind in _KEY_KINDS:
            m = rx.match(key)
            if m:
                groups.setdefault(m.group(1), {})[kind] = t
                break
        else:
            unknown.append(key)
    if unknown:
        kinds = sorted({_key_kind_name(k) for k in unknown})
        raise LoraError(f"{source}: {len(unknown)} keys of kinds not applied here ({', '.join(kinds)}; e.g. "
                        f"{unknown[0]!r}); refusing to apply only part of this LoRA")
    meta = json.loads((metadata or {}).get(METADATA_KEY, "{}"))
    if adapter_config is not None and not meta:  # peft's own save_pretrained: alpha in adapter_config.json
        meta = {k: adapter_config[k] for k in ("lora_alpha", "alpha_pattern") if k in adapter_config}
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
        found = _resolve(raw, layers if ab else targets, wan, kohya)
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
                pre = f"{prefix}." if prefix else ""
                pattern = meta.get(f"{pre}alpha_pattern") or {}
                alpha = float(pattern.get(path, meta.get(f"{pre}lora_alpha", rank)))
        if path in parts:
            raise LoraError(f"{source}: two entries for {path} ({raw} and another name of the same layer)")
        parts[path] = LoraPart(g.get("A"), g.get("B"), alpha, bias=g.get("B_bias"), magnitude=g.get("magnitude"),
                               diff=g.get("diff"), diff_b=g.get("diff_b"), dora_scale=g.get("dora_scale"))
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


def _not_a_file(path: str | Path, p: Path) -> str:
    """Why ``--lora PATH`` is not a file we can read: missing, or a folder (naming the LoRA
    file a training run's folder holds, when there is one)."""
    if not p.is_dir():
        return f"LoRA file {str(path)!r} not found"
    inside = [q for q in (p / "lora.safetensors", p / "final" / "lora.safetensors") if q.is_file()]
    hint = f"; did you mean {inside[0]}?" if inside else "; give the .safetensors file in it"
    return f"LoRA path {str(path)!r} is a folder, not a LoRA file{hint}"


def _unreadable(path: str | Path, p: Path, e: Exception) -> str:
    """One line for a LoRA file safetensors cannot read, naming it (with several ``--lora``
    files, the CLI's generic SafetensorError line did not say which): a file that starts as
    safetensors is damaged (its header length may begin with a pickle's bytes); else a pickle
    by its bytes or suffix (:mod:`video.models.sniff`, never unpickled)."""
    if is_pickled(p):
        return f"{path}: pickled LoRA files are not loaded; convert it to .safetensors"
    if claims_safetensors(p) or p.suffix.lower() in SAFETENSORS_SUFFIXES:
        return f"{path}: a truncated or damaged .safetensors file ({e})"
    return f"{path}: not a .safetensors LoRA file ({e})"


def check_lora_file(path: str | Path) -> None:
    """What :func:`read_lora` would refuse in the file itself, checked from its name and header
    alone so the CLI can say it before any model weights load: a missing path or a folder, a
    pickled file (by its first bytes, or by its suffix, ``.ckpt``, ``.pt``..., when its
    safetensors header does not read: a safetensors LoRA named ``.bin`` loads; nothing is ever
    unpickled, since a pickle can run code), or a file whose safetensors header does not read
    (truncated, damaged, not safetensors)."""
    from safetensors import SafetensorError, safe_open

    p = Path(path).expanduser()
    if not p.is_file():
        raise LoraError(_not_a_file(path, p))
    try:
        with safe_open(str(p), framework="pt") as f:
            f.metadata()
    except SafetensorError as e:
        raise LoraError(_unreadable(path, p, e)) from None


def checkpoint_adapter_config(p: Path) -> dict | None:
    """alpha for a LoRA training checkpoint's ``model.safetensors`` (``checkpoints/step_N/``)
    written before its header carried alpha (``training.lora.checkpoint_header``), which holds
    the peft adapters without alpha: read from the run's config recorded beside it
    in ``state.json`` (``lora.alpha``, 0 meaning rank, as the trainer gives peft), in the form of
    peft's ``adapter_config.json``. Without it alpha would default to the rank, and the
    checkpoint render at rank / alpha times the strength of ``final/lora.safetensors``. None
    for any other file."""
    state = p.parent / "state.json"
    if p.name != "model.safetensors" or not state.is_file():
        return None
    try:
        lora = (json.loads(state.read_text()).get("config") or {}).get("lora") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if not lora.get("enabled"):
        return None
    return {"lora_alpha": float(lora.get("alpha") or lora.get("rank"))}


def warn_if_raw_adapters(p: Path) -> None:
    """A LoRA training checkpoint's ``model.safetensors`` beside an ``ema.safetensors``: the raw
    adapters, where final/ exports their EMA, so it renders unlike final/ at the same step."""
    if p.name == "model.safetensors" and (p.parent / "ema.safetensors").is_file() and (p.parent / "state.json").is_file():
        warnings.warn(f"{p}: this run keeps an EMA of the adapters (ema.safetensors beside it), which final/ "
                      "exports; this file holds the raw adapters, so it renders unlike final/ at the same step",
                      stacklevel=3)


def read_lora(path: str | Path, model: torch.nn.Module) -> dict[str, LoraPart]:
    """A LoRA file of any layout, its layers resolved to ``model``'s module paths. Errors name
    ``path`` as given (with several ``--lora`` files, names alone may not tell which one)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    p = Path(path).expanduser()
    check_lora_file(path)
    source = str(path)
    try:
        tensors = load_file(str(p))
        with safe_open(str(p), framework="pt") as f:
            metadata = f.metadata()
    except SafetensorError as e:
        raise LoraError(_unreadable(path, p, e)) from None
    if not any(rx.match(k) and kind in ("A", "B", "diff", "diff_b") for k in tensors for rx, kind in _KEY_KINDS):
        raise LoraError(f"{source}: no lora_A/lora_B (peft) or lora_down/lora_up (kohya) keys; not a LoRA file")
    cfg_file = p.parent / "adapter_config.json"
    adapter_config = json.loads(cfg_file.read_text()) if cfg_file.is_file() else None
    if adapter_config is None and METADATA_KEY not in (metadata or {}):
        adapter_config = checkpoint_adapter_config(p)
    warn_if_raw_adapters(p)  # new checkpoints carry alpha in their header: checked for them too
    parts = parse_lora(tensors, metadata, model, source, adapter_config)
    if not parts:
        raise LoraError(f"{source}: no LoRA layers for this model")
    return parts


def save_lora(parts: dict[str, LoraPart], path: str | Path, layout: str = "peft", prefix: str = "unet") -> Path:
    """Write ``parts`` in the ``peft`` (diffusers, under ``prefix``) or ``kohya`` layout."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout == "peft":
        tensors, meta = to_peft_layout(parts, prefix)
    elif layout == "kohya":
        tensors, meta = to_kohya_layout(parts), {"format": "pt"}
    else:
        raise ValueError(f"layout must be peft or kohya; got {layout!r}")
    save_file({k: v.detach().cpu() for k, v in tensors.items()}, str(path), metadata=meta)
    return path


# ---- applying ----

def fit_error(path: str, p: LoraPart, layer: torch.nn.Module) -> str | None:
    """Why ``p`` cannot be merged into ``layer`` (a shape that does not fit), or None; checked
    for every layer before any weight changes, so a bad layer leaves the model as it was."""
    base = layer.get_base_layer() if hasattr(layer, "get_base_layer") else layer
    w, b = getattr(base, "weight", None), getattr(base, "bias", None)
    if (p.down is not None or p.diff is not None) and w is None:
        return f"LoRA for {path}: a weight delta, but the layer has no weight"
    if p.down is not None:
        shape = (p.up.shape[0], *p.down.shape[1:])
        if p.up.shape[1] != p.rank or shape != tuple(w.shape):
            return (f"LoRA for {path}: A {tuple(p.down.shape)} and B {tuple(p.up.shape)} do not fit weight "
                    f"{tuple(w.shape)}")
    if p.diff is not None and p.diff.numel() != w.numel():
        return f"LoRA for {path}: .diff {tuple(p.diff.shape)} does not fit weight {tuple(w.shape)}"
    if p.magnitude is not None and p.magnitude.numel() != w.shape[0]:
        return f"LoRA for {path}: DoRA magnitude of {p.magnitude.numel()} does not fit {w.shape[0]} outputs"
    if p.dora_scale is not None and dora_axis(tuple(p.dora_scale.shape), w.shape[0], w.shape[1]) is None:
        return (f"LoRA for {path}: dora_scale {tuple(p.dora_scale.shape)} fits neither the {w.shape[0]} outputs "
                f"nor the {w.shape[1]} inputs of weight {tuple(w.shape)}")
    if p.bias is not None or p.diff_b is not None:
        if b is None:
            return f"LoRA for {path}: a bias delta, but the layer has no bias"
        for t in (p.bias, p.diff_b):
            if t is not None and t.numel() != b.numel():
                return f"LoRA for {path}: bias delta {tuple(t.shape)} does not fit {tuple(b.shape)}"
    return None


def check_fits(model: torch.nn.Module, parts: dict[str, LoraPart]) -> None:
    """:func:`fit_error` for every layer of ``parts``: the first misfit as a :class:`LoraError`."""
    layers = _targets(model, adaptable_layers(model))
    for path, p in parts.items():
        why = fit_error(path, p, layers[path])
        if why:
            raise LoraError(why)


@torch.no_grad()
def merge_lora(model: torch.nn.Module, parts: dict[str, LoraPart], scale: float = 1.0) -> None:
    """W += scale * ((alpha / r) B A + diff), b += scale * ((alpha / r) lora_B.bias + diff_b);
    with a DoRA magnitude m, W' = m / ||W + dW||_row (W + dW) (peft's merge), with a LyCORIS
    dora_scale see :func:`lycoris_dora`; in float32, cast back to W's dtype. All or nothing:
    every layer's shapes are checked (:func:`check_fits`) before the first weight changes
    (checking first, rather than computing every new weight first, keeps the peak memory one
    layer's copy, not the model's)."""
    check_fits(model, parts)
    layers = _targets(model, adaptable_layers(model))
    for path, p in parts.items():
        layer = layers[path]
        base = layer.get_base_layer() if hasattr(layer, "get_base_layer") else layer
        w = getattr(base, "weight", None)
        if p.down is not None or p.diff is not None:
            delta = torch.zeros(w.shape, dtype=torch.float32, device=w.device)
            if p.down is not None:
                delta += p.delta().to(w.device)
            if p.diff is not None:
                delta += p.diff.float().reshape(w.shape).to(w.device)
            if p.dora_scale is not None:
                new = lycoris_dora(w.float() + delta, p.dora_scale.float().to(w.device), scale, path)
            else:
                new = w.float() + scale * delta
            if p.magnitude is not None:
                m = p.magnitude.float().reshape(-1).to(w.device)
                new = (m / new.flatten(1).norm(dim=1)).view(-1, *[1] * (w.ndim - 1)) * new
            w.copy_(new.to(w.dtype))
        if p.bias is not None or p.diff_b is not None:
            b = base.bias
            db = torch.zeros(b.shape, dtype=torch.float32, device=b.device)
            for t, k in ((p.bias, p.alpha / max(p.rank, 1)), (p.diff_b, 1.0)):
                if t is not None:
                    db += k * t.float().reshape(b.shape).to(b.device)
            b.copy_((b.float() + scale * db).to(b.dtype))


def dora_axis(shape: tuple[int, ...], out: int, inp: int) -> str | None:
    """Which axis a LyCORIS ``dora_scale`` of ``shape`` normalises: "out" (one value per output
    row, shaped (out, 1, ...)), "in" (per input column, (1, in, ...)), or None (neither fits)."""
    n = 1
    for d in shape:
        n *= d
    if n == out and (len(shape) < 2 or shape[0] == out):
        return "out"
    return "in" if n == inp else None


def lycoris_dora(v: torch.Tensor, dora_scale: torch.Tensor, scale: float, path: str = "layer") -> torch.Tensor:
    """LyCORIS's weight decomposition of ``v`` = W + (alpha / r) B A (the whole delta, whatever
    the user's scale): v * (scale * (dora_scale / ||v|| - 1) + 1), the norm per output row when
    ``dora_scale`` has one value per output (shaped (out, 1, ...)), else per input column
    ((1, in, ...)); float32 epsilon added to the norm, as there."""
    out, inp = v.shape[0], v.shape[1]
    axis = dora_axis(tuple(dora_scale.shape), out, inp)
    if axis == "out":
        norm = v.flatten(1).norm(dim=1).view(out, *[1] * (v.ndim - 1))
    elif axis == "in":
        norm = v.transpose(0, 1).flatten(1).norm(dim=1).view(1, inp, *[1] * (v.ndim - 2))
    else:
        raise LoraError(f"LoRA for {path}: dora_scale {tuple(dora_scale.shape)} fits neither the {out} outputs "
                        f"nor the {inp} inputs of weight {tuple(v.shape)}")
    ratio = dora_scale.reshape(norm.shape) / (norm + torch.finfo(torch.float32).eps)
    return v * (scale * (ratio - 1) + 1)


def _adapter_names(model: torch.nn.Module) -> set[str]:
    require_peft()
    from peft.tuners.lora import LoraLayer

    return {n for m in model.modules() if isinstance(m, LoraLayer) for n in m.lora_A}


def attach_lora(model: torch.nn.Module, parts: dict[str, LoraPart], scale: float = 1.0,
                adapter: str | None = None) -> str:
    """Add ``parts`` as an unmerged peft adapter with scaling ``scale * alpha / r``, active
    together with any adapters already attached. Returns the adapter's name."""
    from peft import LoraConfig, inject_adapter_in_model
    from peft.tuners.lora import LoraLayer

    extra = sorted({e for p in parts.values() for e in p.extras()})
    if extra:
        raise LoraError(f"{', '.join(extra)}: only merged into the weights, not attached as an adapter (merge=True)")
    existing = _adapter_names(model)
    adapter = adapter or next(f"lora_{i}" for i in range(len(existing) + 1) if f"lora_{i}" not in existing)
    r = Counter(p.rank for p in parts.values()).most_common(1)[0][0]
    alpha = Counter(p.alpha for p in parts.values()).most_common(1)[0][0]
    exact = {k: "^" + re.escape(k) for k in parts}  # peft matches pattern keys as (.*\.)?(key)$
    config = LoraConfig(r=r, lora_alpha=alpha, init_lora_weights=False,
                        target_modules="^(?:" + "|".join(re.escape(k) for k in parts) + ")$",
                        rank_pattern={exact[k]: p.rank for k, p in parts.items() if p.rank != r},
                        alpha_pattern={exact[k]: p.alpha for k, p in parts.items() if p.alpha != alpha})
    with warnings.catch_warnings():  # peft warns that a model without a PEFT config is "unknown"
        warnings.simplefilter("ignore")
        inject_adapter_in_model(config, model, adapter_name=adapter)
    layers = adaptable_layers(model)
    with torch.no_grad():
        for path, p in parts.items():
            layer = layers[path]
            if layer.lora_A[adapter].weight.shape != p.down.shape or layer.lora_B[adapter].weight.shape != p.up.shape:
                raise LoraError(f"LoRA for {path}: A {tuple(p.down.shape)}, B {tuple(p.up.shape)} do not fit the layer")
            layer.lora_A[adapter].weight.copy_(p.down)
            layer.lora_B[adapter].weight.copy_(p.up)
            if layer.r[adapter] != p.rank or layer.lora_alpha[adapter] != p.alpha:
                raise RuntimeError(f"peft gave {path} rank {layer.r[adapter]}, alpha {layer.lora_alpha[adapter]}")
            layer.set_scale(adapter, scale)
    trainable = {id(p): p.requires_grad for p in model.parameters()}  # set_adapter makes adapters trainable
    for m in model.modules():
        if isinstance(m, LoraLayer):
            m.set_adapter(list(m.lora_A))  # a new adapter on an already wrapped layer starts inactive
    for p in model.parameters():
        p.requires_grad_(trainable.get(id(p), False))  # the new adapter is for inference
    return adapter


def apply_loras(module: torch.nn.Module, loras: list[tuple[str | Path, float]], merge: bool = True) -> torch.nn.Module:
    """Apply ``[(file, scale), ...]`` (either layout) to ``module`` in place: merged into the
    base weights (no cost per step; not undoable) or attached as unmerged peft adapters."""
    for path, scale in loras:  # the CLI checked its --lora text; callers with numbers (ComfyUI) too
        if not math.isfinite(scale):
            raise LoraError(f"{path}: the LoRA scale must be a finite number, not {scale}")
    read = [(read_lora(path, module), scale) for path, scale in loras]  # every file read and
    if merge:  # checked before the first weight changes: an error leaves the model as it was
        for (parts, _), (path, _) in zip(read, loras, strict=True):
            try:
                check_fits(module, parts)
            except LoraError as e:
                raise LoraError(f"{path}: {e}") from None
    for parts, scale in read:
        if merge:
            merge_lora(module, parts, scale)
        else:
            attach_lora(module, parts, scale)
    return module
