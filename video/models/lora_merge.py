"""Applying a parsed LoRA (``{module path: LoraPart}``) to a model: merged into the base
weights, or attached as an unmerged peft adapter. A module of its own because the arithmetic
(DoRA included) and the fit checks that keep a merge all or nothing are the same whatever
names the file gave its keys (:mod:`video.models.lora_keys`).

    W' = W + s * (alpha / r) * B A            (Hu et al. 2021, Eq. 3; s: the user's scale)

For a convolution B A is the 1x1-after-kxk composition (kohya ``merge_to``).

Beside A and B (ComfyUI's weight-patch semantics, peft's where peft defines them):
- ``.diff`` / ``.diff_b``: full deltas, W += s diff, b += s diff_b (any layer with a weight, norms too;
  ``.diff`` also any bare parameter, e.g. Wan's modulation table ``scale_shift_table``);
- ``lora_B.bias`` (peft ``lora_bias``): b += s (alpha / r) bias;
- ``lora_magnitude_vector`` (peft DoRA): W' = m / ||W + dW||_row (W + dW), dW = s (alpha / r) B A,
  as peft merges it (merge only);
- ``dora_scale`` (LyCORIS DoRA, kohya-layout files): with V = W + (alpha / r) B A and its norm
  per output row (``dora_scale`` shaped (out, 1, ...)) or per input column ((1, in, ...)),
  W' = V * (s (dora_scale / ||V|| - 1) + 1), as LyCORIS's own module merges and runs it (merge
  only). ComfyUI's merge agrees at s = 1 for input-axis scales only: on the output axis it divides
  by ||W|| instead of ||V||, and for other strengths it blends W + s (W'(1) - W).
"""

from __future__ import annotations

import re
import warnings
from collections import Counter

import torch

from video.models.lora_keys import LoraError, LoraPart, _targets, adaptable_layers, require_peft


def weight_and_bias(target) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """What a LoRA part changes in ``target``: a layer's weight and bias (its base layer's where
    peft wraps it), or a bare parameter itself (no bias)."""
    if isinstance(target, torch.nn.Parameter):
        return target, None
    base = target.get_base_layer() if hasattr(target, "get_base_layer") else target
    return getattr(base, "weight", None), getattr(base, "bias", None)


def _sizes(shape) -> list[int]:
    """A shape without its 1s: a bare parameter's delta must have its sizes in its order (a
    layer's may be reshaped, a 1x1 convolution's weight to a linear's)."""
    return [d for d in shape if d != 1]


def fit_error(path: str, p: LoraPart, layer: torch.nn.Module | torch.nn.Parameter) -> str | None:
    """Why ``p`` cannot be merged into ``layer`` (a shape that does not fit), or None; checked
    for every layer before any weight changes, so a bad layer leaves the model as it was."""
    w, b = weight_and_bias(layer)
    if (p.down is not None or p.diff is not None) and w is None:
        return f"LoRA for {path}: a weight delta, but the layer has no weight"
    if p.down is not None:
        shape = (p.up.shape[0], *p.down.shape[1:])
        if p.up.shape[1] != p.rank or shape != tuple(w.shape):
            return (f"LoRA for {path}: A {tuple(p.down.shape)} and B {tuple(p.up.shape)} do not fit weight "
                    f"{tuple(w.shape)}")
    bare = isinstance(layer, torch.nn.Parameter)
    if p.diff is not None and (p.diff.numel() != w.numel() or bare and _sizes(p.diff.shape) != _sizes(w.shape)):
        what = "parameter" if bare else "weight"
        return f"LoRA for {path}: .diff {tuple(p.diff.shape)} does not fit {what} {tuple(w.shape)}"
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
    """:func:`fit_error` for every layer of ``parts``: the first misfit as a :class:`LoraError`,
    naming the layer as the file does too (a kohya or Wan name is what a user finds in the file)
    and saying how many layers misfit: all of them is a LoRA of another model, one a damaged file."""
    layers = _targets(model, adaptable_layers(model))
    misfits = [why + (f" (the file's {p.key})" if p.key not in (None, path) else "")
               for path, p in parts.items() if (why := fit_error(path, p, layers[path]))]
    if misfits:
        n = len(misfits)
        raise LoraError(f"{misfits[0]}; {n} of {len(parts)} LoRA layer{'s' if len(parts) > 1 else ''} "
                        f"{'does' if n == 1 else 'do'} not fit this model: was it trained for another model?")


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
        w, b = weight_and_bias(layers[path])
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
