"""Configs: OmegaConf YAML validated against dataclass schemas.

A YAML file, a ``key=value`` override and a CLI flag all set the same schema key; an
unknown key or a wrong type is a :class:`ConfigError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

T = TypeVar("T")

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


class ConfigError(ValueError):
    """A config file or override that does not fit its schema."""


@dataclass
class UNetConfig:
    """Arguments of diffusers' ``UNetSpatioTemporalConditionModel``."""

    sample_size: int = 96
    in_channels: int = 8
    out_channels: int = 4
    block_out_channels: list[int] = field(default_factory=lambda: [320, 640, 1280, 1280])
    layers_per_block: int = 2
    transformer_layers_per_block: int = 1
    num_attention_heads: list[int] = field(default_factory=lambda: [5, 10, 20, 20])
    cross_attention_dim: int = 1024
    addition_time_embed_dim: int = 256
    projection_class_embeddings_input_dim: int = 768
    num_frames: int = 25


@dataclass
class VAEConfig:
    """Arguments of diffusers' ``AutoencoderKLTemporalDecoder``."""

    block_out_channels: list[int] = field(default_factory=lambda: [128, 256, 512, 512])
    layers_per_block: int = 2
    latent_channels: int = 4
    sample_size: int = 768
    scaling_factor: float = 0.18215


@dataclass
class ImageEncoderConfig:
    """Arguments of transformers' ``CLIPVisionConfig`` (OpenCLIP ViT-H/14 by default)."""

    hidden_size: int = 1280
    intermediate_size: int = 5120
    num_hidden_layers: int = 32
    num_attention_heads: int = 16
    patch_size: int = 14
    image_size: int = 224
    projection_dim: int = 1024
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-5


@dataclass
class SamplingConfig:
    """The published sampling defaults of a model (overridable per call)."""

    num_frames: int = 14
    height: int = 576
    width: int = 1024
    num_inference_steps: int = 25
    fps: int = 7
    motion_bucket_id: int = 127
    noise_aug_strength: float = 0.02
    min_guidance_scale: float = 1.0
    max_guidance_scale: float = 2.5
    sigma_min: float = 0.002
    sigma_max: float = 700.0
    sampler: str = "euler"


@dataclass
class ModelConfig:
    name: str = "svd"
    unet: UNetConfig = field(default_factory=UNetConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    image_encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)


def load_config(schema: type[T], source: str | Path | dict | None = None, overrides: list[str] | None = None,
                values: dict | None = None) -> T:
    """Merge ``source`` (a YAML path, a name under ``configs/``, or a dict), ``key=value``
    overrides, then ``values`` (dotted key -> raw string, e.g. CLI flags: not parsed as YAML,
    so a prompt like ``[a:b:0.5]`` or an aspect ``16:9`` stays a string; the schema converts
    and checks the type) onto ``schema``; return a plain dataclass instance."""
    try:
        cfg = OmegaConf.structured(schema)
        if source is not None:
            if isinstance(source, dict):
                data = OmegaConf.create(source)
            else:
                if not Path(source).is_file():
                    raise ConfigError(f"config file {source} not found")
                try:
                    data = OmegaConf.load(str(source))
                except yaml.YAMLError as e:
                    raise ConfigError(f"config file {source}: not valid YAML ({str(e).splitlines()[0]})") from None
            cfg = OmegaConf.merge(cfg, data)
        if overrides:
            bad = [o for o in overrides if "=" not in o]
            if bad:
                raise ConfigError(f"override {bad[0]!r} is not key=value")
            parsed = []
            for o in overrides:
                key, value = o.split("=", 1)
                kind = _field_kind(cfg, key)
                if kind == "str":  # raw text: YAML would read 16:9 as 969 and [a:b:0.5] as a list
                    OmegaConf.update(cfg, key, value, merge=True)
                elif kind == "list" and value and not value.lstrip().startswith("["):
                    parsed.append(f"{key}=[{value}]")  # one item: lora=a.safetensors
                else:
                    parsed.append(f"{key}=''" if value == "" else o)  # ``key=``: the empty string, not None
            if parsed:
                cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(parsed))
        for key, value in (values or {}).items():
            OmegaConf.update(cfg, key, value, merge=True)
        return OmegaConf.to_object(cfg)  # type: ignore[return-value]
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None)
        msg = str(e).splitlines()[0]
        raise ConfigError(f"config key {key!r}: {msg}" if key else f"config: {msg}") from None


def _field_kind(cfg, key: str) -> str | None:
    """``str`` or ``list`` when ``key`` names a field of that type in the structured ``cfg``."""
    from omegaconf import ListConfig, StringNode

    parent_key, _, leaf = key.rpartition(".")
    try:
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        node = parent._get_node(leaf) if OmegaConf.is_dict(parent) else None
    except OmegaConfBaseException:
        return None
    if isinstance(node, StringNode):
        return "str"
    if isinstance(node, ListConfig):
        return "list"
    return None


def model_config_path(name: str) -> Path:
    """``configs/model/<name>.yaml``; raises with the available names when missing."""
    path = CONFIG_DIR / "model" / f"{name}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))
        raise ConfigError(f"no model config {name!r}; available: {', '.join(names)}")
    return path


def load_model_config(name_or_path: str | Path, overrides: list[str] | None = None) -> ModelConfig:
    p = Path(name_or_path)
    src = p if p.suffix in (".yaml", ".yml") and p.is_file() else model_config_path(str(name_or_path))
    return load_config(ModelConfig, src, overrides)


def to_dict(obj: Any) -> dict:
    return OmegaConf.to_container(OmegaConf.structured(obj))  # type: ignore[return-value]


@dataclass
class TextToVideoSampling:
    num_frames: int = 17
    height: int = 480
    width: int = 832
    num_inference_steps: int = 30
    guidance_scale: float = 5.0
    shift: float = 0.0  # 0: from the token count (video.diffusion.flow.shift_for_tokens)
    sampler: str = "euler"
    fps: int = 16
    negative_prompt: str = ""


@dataclass
class TextToVideoConfig:
    """A text-to-video model folder's ``video_pipeline.yaml`` (and the ``tiny`` model)."""

    name: str = "t2v"
    backbone: str = "dit"  # dit (ours) or wan (diffusers' WanTransformer3DModel)
    dit: Any = None  # DiTConfig fields when backbone is dit
    text_max_length: int = 0  # 0: CLIP-style 75-token chunks; >0: one padded sequence (T5/UMT5: 512)
    sampling: TextToVideoSampling = field(default_factory=TextToVideoSampling)
