"""Describe a checkpoint from its headers and configs, without loading the weights."""

from __future__ import annotations

import json
from pathlib import Path

from video.models.svd import CheckpointError, builtin_config, damaged_safetensors, detect_layout

SGM_PARTS = {
    "model.diffusion_model.": "unet",
    "first_stage_model.": "vae",
    "conditioner.embedders.0.": "image_encoder",
    "conditioner.embedders.3.": "conditioning_vae_encoder",
}


def safetensors_shapes(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str], set[str]]:
    """Key -> shape, the header's metadata, and the dtypes, read from the header only. A header
    that does not read is :class:`~video.models.svd.DamagedSafetensors` naming ``path``
    (safetensors' own error does not say which file)."""
    from safetensors import SafetensorError, safe_open

    shapes, dtypes = {}, set()
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            for k in f.keys():
                sl = f.get_slice(k)
                shapes[k] = tuple(sl.get_shape())
                dtypes.add(str(sl.get_dtype()))
    except SafetensorError as e:
        raise damaged_safetensors(path, e) from None
    return shapes, meta, dtypes


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _part_parameters(sub: Path) -> tuple[int, set[str]]:
    """Parameters and dtypes of the files the loader reads from a part folder: one variant
    (components.pick_variant, as loading), not the plain and fp16 copies summed."""
    from video.models.components import pick_variant, weight_files

    n, dtypes = 0, set()
    for f in weight_files(sub, pick_variant(sub)):
        shapes, _, dt = safetensors_shapes(f)
        n += sum(_numel(x) for x in shapes.values())
        dtypes |= dt
    return n, dtypes


def _folder_parameters(p: Path) -> tuple[dict[str, int], set[str]]:
    """Parameters per subfolder (transformer, vae, text_encoder...) from safetensors headers."""
    params, dtypes = {}, set()
    for sub in sorted(q for q in p.iterdir() if q.is_dir()):
        n, dt = _part_parameters(sub)
        dtypes |= dt
        if n:
            params[sub.name] = n
    return params, dtypes


def _describe_text_to_video(source: str | Path) -> dict | None:
    """A text-to-video model: our folder (``video_pipeline.yaml`` naming a backbone, as
    ``video train`` exports), a Wan 2.1 diffusers folder, or one of our DiT configs by name;
    None for anything else. A name of :func:`info_names` is the config whatever the working
    folder holds (``video info builtin:t2v_tiny`` read a ./t2v_tiny folder); ``./NAME`` is
    that folder."""
    import yaml

    from video.config import CONFIG_DIR

    p = Path(source)
    builtin = str(source) in info_names()
    if not builtin and p.is_dir() and (p / "video_pipeline.yaml").is_file():
        cfg = yaml.safe_load((p / "video_pipeline.yaml").read_text()) or {}
        if "backbone" not in cfg:
            return None
        params, dtypes = _folder_parameters(p)
        return {"model": str(p), "layout": "text-to-video folder (ours)", "kind": f"{cfg['backbone']} text-to-video",
                "sampling": cfg.get("sampling", {}), "dtypes": ",".join(sorted(dtypes)), "parameters": params}
    if not builtin and p.is_dir() and (p / "model_index.json").is_file():
        index = json.loads((p / "model_index.json").read_text())
        if "Wan" not in index.get("_class_name", ""):
            return None
        from video.models.detect import detect_kind

        params, dtypes = _folder_parameters(p)
        return {"model": str(p), "layout": "diffusers folder", "kind": index["_class_name"],
                "detail": detect_kind(p)["detail"], "dtypes": ",".join(sorted(dtypes)), "parameters": params}
    named = CONFIG_DIR / "model" / f"{source}.yaml"
    if (builtin or not p.exists()) and named.is_file():
        cfg = yaml.safe_load(named.read_text()) or {}
        dit = cfg.get("dit") if "backbone" in cfg else cfg if "patch_size" in cfg else None
        if dit is None:
            return None
        import torch

        from video.config import load_config
        from video.models.dit import DiT, DiTConfig

        if "backbone" in cfg and str(source) == "t2v_tiny":  # the parts `--model tiny` builds: each one's count
            from video.runtime.txt2vid import build_tiny

            m = build_tiny()
            params = {part: sum(q.numel() for q in mod.parameters())
                      for part, mod in (("transformer", m.transformer), ("text_encoder", m.text_encoder),
                                        ("vae", m.vae))}
            return {"model": str(source), "layout": "random weights (config)",
                    "kind": "text-to-video (DiT + text encoder + VAE)", "parameters": params}
        with torch.device("meta"):  # counts without allocating
            n = sum(q.numel() for q in DiT(load_config(DiTConfig, dict(dit))).parameters())
        return {"model": str(source), "layout": "random weights (config)",
                "kind": "text-to-video DiT (the text encoder and VAE come with a model folder)" if "backbone" in cfg
                else "DiT transformer", "parameters": {"transformer": n}}
    return None


def info_names() -> list[str]:
    """The names ``video info`` takes besides paths: ``tiny-svd`` and every config under
    ``configs/model`` (SVD, DiT and text-to-video ones)."""
    from video.config import CONFIG_DIR

    return sorted({"tiny-svd", *(q.stem for q in (CONFIG_DIR / "model").glob("*.yaml"))})


def describe(source: str | Path) -> dict:
    """What ``source`` is (a path or a name of :func:`info_names`), from headers and configs only:
    a built-in name's networks are built on the meta device to count them (``svd`` took half a
    minute drawing 2.25B random weights)."""
    t2v = _describe_text_to_video(source)
    if t2v is not None:
        return t2v
    try:
        layout = detect_layout(source)
    except CheckpointError:
        if Path(source).expanduser().exists():
            raise
        raise CheckpointError(f"model {str(source)!r} not found: give a model folder or .safetensors file, or one "
                              f"of the names {', '.join(info_names())}") from None
    if layout == "config":
        from video.config import load_model_config
        from video.models.sgm import _empty_models

        cfg = load_model_config(builtin_config(source) or str(source))
        nets = dict(zip(("unet", "vae", "image_encoder"), _empty_models(cfg), strict=True))
        return {"model": str(source), "layout": "random weights (config)", "kind": cfg.name,
                "frames": nets["unet"].config.num_frames,
                "parameters": {k: sum(q.numel() for q in net.parameters()) for k, net in nets.items()}}
    p = Path(source)
    if layout == "diffusers":
        params, dtypes = {}, set()
        for sub in ("unet", "vae", "image_encoder"):
            params[sub], dt = _part_parameters(p / sub)
            dtypes |= dt
        unet_cfg = json.loads((p / "unet" / "config.json").read_text())
        frames = unet_cfg.get("num_frames")
        return {"model": str(p), "layout": "diffusers folder", "kind": "svd_xt" if frames == 25 else "svd",
                "frames": frames, "dtypes": ",".join(sorted(dtypes)), "parameters": params}
    shapes, meta, dtypes = safetensors_shapes(p)
    params = {name: 0 for name in SGM_PARTS.values()}
    other = 0
    for k, s in shapes.items():
        for prefix, name in SGM_PARTS.items():
            if k.startswith(prefix):
                params[name] += _numel(s)
                break
        else:
            other += _numel(s)
    if other:
        params["other"] = other
    from video.models.detect import classify_keys
    from video.models.sgm import IMAGE_DECODER_NOTE, frames_from_metadata, has_image_decoder, is_sgm_svd

    if not is_sgm_svd(shapes):  # what `video models` calls it (a Wan transformer alone, a LoRA, a VAE...)
        found = classify_keys(shapes, meta)
        return {"model": str(p), "layout": "single file", "kind": found["kind"], "detail": found["detail"],
                "keys": len(shapes), "dtypes": ",".join(sorted(dtypes)),
                "parameters": {"total": sum(_numel(s) for s in shapes.values())}}
    frames = frames_from_metadata(meta)
    kind = {14: "svd", 25: "svd_xt", None: "svd or svd_xt (same keys; --frames decides)"}.get(
        frames, f"svd-shaped, {frames} frames")
    if has_image_decoder(shapes):
        kind += f", {IMAGE_DECODER_NOTE}"
    return {"model": str(p), "layout": "single file (sgm keys)", "kind": kind,
            "frames": frames or "14 or 25", "dtypes": ",".join(sorted(dtypes)), "parameters": params}
