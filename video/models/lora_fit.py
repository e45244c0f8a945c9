"""Whether LoRA files fit a model, answered before the model's weights load.

:func:`video.models.lora.apply_loras` refuses a LoRA made for another model only once the
model is loaded: minutes and ~28 GB for Wan 14B before the user learns it. The module a LoRA
merges into (SVD: the UNet; text-to-video: our DiT or the Wan transformer) is built here on
the meta device from the model's config files alone (no weights, no memory), and the same
reading and fit check (:func:`video.models.lora.read_loras`) runs against it, so the refusal
is the one the load would give, in the same words. The check after the load stays the
authority: a layout this module cannot build cheaply is left to it (None), as is any model the
loader itself refuses (its own line says why).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from video.runtime.errors import CheckpointError, InputError

TASKS = ("img2vid", "txt2vid")


def _svd_unet(source: str | Path) -> torch.nn.Module | None:
    """The UNet ``load_svd(source)`` builds, on the meta device: a built-in name's config, a
    diffusers folder's ``unet/config.json``, or a single file's architecture (our writer's in
    its header, else the published one, as :func:`video.models.sgm.file_config` reads it)."""
    from video.config import ModelConfig, load_config, load_model_config
    from video.models.svd import _unet_class, build_unet, builtin_config, detect_layout, quiet_library_logs

    layout = detect_layout(source)
    quiet_library_logs()
    p = Path(source).expanduser()
    if layout == "config":
        cfg = load_model_config(builtin_config(source) or str(source))
        with torch.device("meta"):
            return build_unet(cfg)
    if layout == "diffusers":
        cls = _unet_class()
        config = cls.load_config(p / "unet")
        with torch.device("meta"):
            return cls.from_config(config)
    from safetensors import safe_open

    from video.models.sgm import CONFIG_METADATA_KEY, PUBLISHED_ARCHITECTURE, is_sgm_svd, unwrapped

    with safe_open(str(p), framework="pt") as f:
        meta, keys = f.metadata() or {}, unwrapped(f.keys())
    if not is_sgm_svd(keys):
        return None  # the loader says what the file is
    arch = (load_config(ModelConfig, json.loads(meta[CONFIG_METADATA_KEY])) if CONFIG_METADATA_KEY in meta
            else load_model_config(PUBLISHED_ARCHITECTURE))
    with torch.device("meta"):
        return build_unet(arch)


def _t2v_transformer(source: str | Path) -> torch.nn.Module | None:
    """The transformer ``load_t2v(source)`` gives ``lora_target()``, on the meta device: the
    tiny DiT, our layout's DiT from ``video_pipeline.yaml``, or a Wan folder's transformer from
    ``transformer/config.json``. A two-expert Wan folder is refused as ``lora_target()``
    refuses it."""
    from video.config import TextToVideoConfig, load_config, model_config_path
    from video.models.dit import DiT, DiTConfig
    from video.models.inspect import wrong_model
    from video.models.wan import read_index, t2v_parts

    p = Path(source).expanduser()
    if str(source) == "tiny":
        cfg = load_config(TextToVideoConfig, model_config_path("t2v_tiny"))
    elif not p.is_dir():
        return None
    elif (index := read_index(p)) is not None:
        experts = t2v_parts(p, index)["transformers"]
        if len(experts) > 1:
            from video.runtime.t2v_checks import TWO_EXPERT_LORA

            raise InputError(TWO_EXPERT_LORA)
        from video.models.svd import quiet_library_logs

        quiet_library_logs()
        from diffusers import WanTransformer3DModel

        config = WanTransformer3DModel.load_config(p / experts[0])
        with torch.device("meta"):
            return WanTransformer3DModel.from_config(config)
    elif wrong_model(p, "txt2vid") is None and (p / "video_pipeline.yaml").is_file():
        cfg = load_config(TextToVideoConfig, p / "video_pipeline.yaml")
    else:
        return None
    with torch.device("meta"):
        return DiT(load_config(DiTConfig, dict(cfg.dit or {})))


def lora_target_on_meta(source: str | Path, task: str) -> torch.nn.Module | None:
    """The module a LoRA of the ``task`` (``img2vid``, ``txt2vid``) pipeline of ``source``
    merges into, with its parameters on the meta device; None where it is not built (a file
    that is not an SVD checkpoint, a model the loader refuses, a config that does not read:
    the loader's own line says why, and the check after the load still runs)."""
    from video.config import ConfigError

    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    try:
        return _svd_unet(source) if task == "img2vid" else _t2v_transformer(source)
    except InputError:  # a refusal of the LoRA itself (two experts), not of the model
        raise
    except (CheckpointError, ConfigError, OSError, ValueError, TypeError):
        return None


def check_loras_fit(source: str | Path, task: str, loras: list[tuple[str | Path, float]]) -> None:
    """Refuse now, before any weights load, what :func:`video.models.lora.apply_loras` would
    refuse of ``[(file, scale), ...]`` merged into the ``task`` pipeline of ``source`` after the
    load: a file read against the model's layers (a LoRA of another model: its layers match
    none), each layer's shape against the model's. Nothing when the target module cannot be
    built from the config files (:func:`lora_target_on_meta`)."""
    if not loras:
        return
    module = lora_target_on_meta(source, task)
    if module is not None:
        from video.models.lora import read_loras

        read_loras(module, loras, merge=True)


def check_lora_args(source: str | Path, task: str, specs: list[str]) -> None:
    """:func:`check_loras_fit` for the CLI's ``--lora FILE[:SCALE]`` arguments."""
    if specs:
        from video.models.lora import parse_lora_arg

        check_loras_fit(source, task, [parse_lora_arg(x) for x in specs])
