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
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from video.models.svd import CheckpointError

KOHYA_PREFIX = "lora_unet_"
METADATA_KEY = "lora_adapter_metadata"  # diffusers' LORA_ADAPTER_METADATA_KEY
_PEFT_KEY = re.compile(r"^(.*)\.lora_([AB])(?:\.[^.]+)?\.weight$")  # optional adapter name: lora_A.default.weight
_PEFT_PREFIXES = ("base_model.model.", "unet.", "transformer.")
_OTHER_COMPONENTS = ("lora_te", "text_encoder")  # text-encoder parts of SD files: not ours to apply


class LoraError(CheckpointError):
    """A LoRA file or ``--lora`` argument we cannot use (the CLI prints it as one line)."""


@dataclass
class LoraPart:
    """One layer's LoRA: ``down`` A (r, in, *k), ``up`` B (out, r, *1), ``alpha``."""

    down: torch.Tensor
    up: torch.Tensor
    alpha: float

    @property
    def rank(self) -> int:
        return self.down.shape[0]

    def delta(self) -> torch.Tensor:
        """(alpha / r) B A, shaped like the layer's weight, in float32."""
        ba = self.up.float().flatten(1) @ self.down.float().flatten(1)
        return (self.alpha / self.rank) * ba.view(self.up.shape[0], *self.down.shape[1:])


def parse_lora_arg(arg: str) -> tuple[str, float]:
    """``"style.safetensors:0.8"`` -> ``("style.safetensors", 0.8)``; no scale means 1.0. Only a
    number after the last colon is a scale, so ``C:\\loras\\x.safetensors`` stays one path."""
    path, sep, tail = arg.rpartition(":")
    if sep:
        try:
            scale = float(tail)
        except ValueError:
            path, scale = arg, 1.0
    else:
        path, scale = arg, 1.0
    if not path:
        raise LoraError(f"--lora {arg!r}: give FILE or FILE:SCALE (e.g. style.safetensors:0.8)")
    return path, scale


def kohya_name(path: str) -> str:
    return KOHYA_PREFIX + path.replace(".", "_")


def adaptable_layers(model: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """Linear and convolution layers by module path; a layer that peft already wraps counts
    once, under its own path (not its ``base_layer`` or adapter children)."""
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


# ---- layouts: to and from {module path: LoraPart} ----

def to_peft_layout(parts: dict[str, LoraPart], prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and safetensors metadata in diffusers' ``save_lora_weights`` layout."""
    tensors = {}
    for path, p in parts.items():
        tensors[f"{prefix}.{path}.lora_A.weight"] = p.down.contiguous()
        tensors[f"{prefix}.{path}.lora_B.weight"] = p.up.contiguous()
    r = Counter(p.rank for p in parts.values()).most_common(1)[0][0]
    alpha = Counter(p.alpha for p in parts.values()).most_common(1)[0][0]
    meta = {"r": r, "lora_alpha": alpha, "target_modules": sorted(parts),
            "rank_pattern": {k: p.rank for k, p in parts.items() if p.rank != r},
            "alpha_pattern": {k: p.alpha for k, p in parts.items() if p.alpha != alpha}}
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
        out[f"{k}.lora_down.weight"] = p.down.contiguous()
        out[f"{k}.lora_up.weight"] = p.up.contiguous()
        out[f"{k}.alpha"] = torch.tensor(float(p.alpha))
    return out


def _resolve(path: str, layers: dict) -> str | None:
    if path in layers:
        return path
    for pre in _PEFT_PREFIXES:
        if path.startswith(pre) and path[len(pre):] in layers:
            return path[len(pre):]
    return None


def _skip_or_raise(unmatched: list[str], source: str) -> None:
    other = [k for k in unmatched if k.startswith(_OTHER_COMPONENTS)]
    if other:
        warnings.warn(f"{source}: skipping {len(other)} text-encoder LoRA layers (only the denoiser is adapted)",
                      stacklevel=3)
    rest = [k for k in unmatched if k not in other]
    if rest:
        raise LoraError(f"{source}: {len(rest)} LoRA layers match no layer of this model "
                         f"(e.g. {rest[0]!r}); was it trained for another model?")


def from_peft_layout(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None, model: torch.nn.Module,
                     source: str = "LoRA", adapter_config: dict | None = None) -> dict[str, LoraPart]:
    layers = adaptable_layers(model)
    found: dict[str, dict[str, torch.Tensor]] = {}
    alphas: dict[str, float] = {}
    for key, t in tensors.items():
        m = _PEFT_KEY.match(key)
        if m:
            found.setdefault(m.group(1), {})[m.group(2)] = t
        elif key.endswith(".alpha"):  # some converters store kohya-style alphas beside lora_A/B
            alphas[key[: -len(".alpha")]] = float(t.item())
    meta = json.loads((metadata or {}).get(METADATA_KEY, "{}"))
    if adapter_config is not None and not meta:  # peft's own save_pretrained: alpha in adapter_config.json
        meta = {k: adapter_config[k] for k in ("lora_alpha", "alpha_pattern") if k in adapter_config}
        meta.update({f"base_model.model.{k}": v for k, v in meta.items()})
    parts, unmatched = {}, []
    for raw, ab in found.items():
        if set(ab) != {"A", "B"}:
            raise LoraError(f"{source}: {raw} has lora_{''.join(ab)} without its pair")
        path = _resolve(raw, layers)
        if path is None:
            unmatched.append(raw)
            continue
        prefix = raw[: len(raw) - len(path)].rstrip(".")
        pre = f"{prefix}." if prefix else ""
        pattern = meta.get(f"{pre}alpha_pattern") or {}
        alpha = alphas.get(raw, pattern.get(path, meta.get(f"{pre}lora_alpha", ab["A"].shape[0])))
        parts[path] = LoraPart(ab["A"], ab["B"], float(alpha))
    _skip_or_raise(unmatched, source)
    return parts


def from_kohya_layout(tensors: dict[str, torch.Tensor], model: torch.nn.Module,
                      source: str = "LoRA") -> dict[str, LoraPart]:
    by_name = {kohya_name(p): p for p in adaptable_layers(model)}
    parts, unmatched = {}, []
    for key in tensors:
        if not key.endswith(".lora_down.weight"):
            continue
        name = key.split(".")[0]
        if name not in by_name:
            unmatched.append(name)
            continue
        down, up = tensors[key], tensors.get(f"{name}.lora_up.weight")
        if up is None:
            raise LoraError(f"{source}: {name} has lora_down without lora_up")
        alpha = tensors.get(f"{name}.alpha")
        alpha = float(alpha.item()) if alpha is not None else 0.0
        parts[by_name[name]] = LoraPart(down, up, alpha or float(down.shape[0]))  # kohya: alpha 0/None -> r
    _skip_or_raise(unmatched, source)
    return parts


def read_lora(path: str | Path, model: torch.nn.Module) -> dict[str, LoraPart]:
    """A LoRA file of either layout, its layers resolved to ``model``'s module paths."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    p = Path(path)
    if not p.is_file():
        raise LoraError(f"LoRA file {str(path)!r} not found")
    tensors = load_file(str(p))
    with safe_open(str(p), framework="pt") as f:
        metadata = f.metadata()
    if any(k.endswith(".lora_down.weight") for k in tensors):
        parts = from_kohya_layout(tensors, model, p.name)
    elif any(_PEFT_KEY.match(k) for k in tensors):
        cfg_file = p.parent / "adapter_config.json"
        parts = from_peft_layout(tensors, metadata, model, p.name,
                                 json.loads(cfg_file.read_text()) if cfg_file.is_file() else None)
    else:
        raise LoraError(f"{p.name}: no lora_A/lora_B (peft) or lora_down/lora_up (kohya) keys; not a LoRA file")
    if not parts:
        raise LoraError(f"{p.name}: no LoRA layers for this model")
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

@torch.no_grad()
def merge_lora(model: torch.nn.Module, parts: dict[str, LoraPart], scale: float = 1.0) -> None:
    """W += scale * (alpha / r) B A, computed in float32 and cast back to W's dtype."""
    layers = adaptable_layers(model)
    for path, p in parts.items():
        layer = layers[path]
        w = layer.get_base_layer().weight if hasattr(layer, "get_base_layer") else layer.weight
        delta = p.delta()
        if delta.shape != w.shape:
            raise LoraError(f"LoRA for {path}: delta {tuple(delta.shape)} does not fit weight {tuple(w.shape)}")
        w.copy_((w.float() + scale * delta.to(w.device)).to(w.dtype))


def _adapter_names(model: torch.nn.Module) -> set[str]:
    from peft.tuners.lora import LoraLayer

    return {n for m in model.modules() if isinstance(m, LoraLayer) for n in m.lora_A}


def attach_lora(model: torch.nn.Module, parts: dict[str, LoraPart], scale: float = 1.0,
                adapter: str | None = None) -> str:
    """Add ``parts`` as an unmerged peft adapter with scaling ``scale * alpha / r``, active
    together with any adapters already attached. Returns the adapter's name."""
    from peft import LoraConfig, inject_adapter_in_model
    from peft.tuners.lora import LoraLayer

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
    for path, scale in loras:
        parts = read_lora(path, module)
        if merge:
            merge_lora(module, parts, scale)
        else:
            attach_lora(module, parts, scale)
    return module
