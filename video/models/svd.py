"""The three networks of Stable Video Diffusion, built from a config or loaded from disk.

Supported sources (``load_svd``):
- ``"tiny"`` (also ``"tiny-svd"``) or another name under ``configs/model/``: random weights, for smoke
  runs and tests (``svd`` / ``svd_xt``: the full-size networks, for benchmarks);
- a diffusers folder (``unet/``, ``vae/``, ``image_encoder/``, ``feature_extractor/``), with or
  without ``variant="fp16"`` files;
- an original single-file checkpoint (``svd.safetensors``, ``svd_xt.safetensors``; ComfyUI's ``.sft``
  suffix too) in sgm's key layout, converted by :mod:`video.models.sgm`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from video.config import ConfigError, ModelConfig, load_model_config, model_config_path, to_dict
from video.models.image_encoder import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from video.models.sniff import (  # the one home of the suffixes
    SAFETENSORS_SUFFIXES,
    is_pickled,
    looks_pickled,
    not_weights,
)
from video.runtime.errors import CheckpointError  # noqa: F401  (its home is light: the CLI catches it without torch)

# A file named .safetensors whose bytes are torch.save's: every loader takes the name for safetensors,
# so it was "truncated or damaged safetensors file (header too large)" where `video models` said pickled.
PICKLED_SAFETENSORS = "a pickled (torch.save) file named .safetensors: not loaded; convert it"

DIFFUSERS_SUBFOLDERS = ("unet", "vae", "image_encoder")
# Built-in random-weight names: the tiny SVD (also ``tiny-svd``, its name in ``video edit`` and
# ComfyUI, where ``tiny`` is the tiny DiT), and the full-size SVD / SVD-XT networks: 2.25B random
# parameters, benchmark shapes that take minutes per step on a CPU, so not offered as smoke runs.
TINY_NAMES = {"tiny": "tiny", "tiny-svd": "tiny"}
FULL_SIZE_NAMES = ("svd", "svd_xt")


def builtin_config(source: str | Path) -> str | None:
    """The ``configs/model`` name a built-in ``source`` builds at random (``tiny-svd`` -> ``tiny``),
    or None when ``source`` is no built-in name. A built-in name is the built-in whatever the
    working folder holds (``--model builtin:tiny`` reached here as ``tiny`` and read a ./tiny
    folder); a folder of that name is given as a path, ``./tiny``."""
    name = str(source)
    return TINY_NAMES.get(name, name if name in FULL_SIZE_NAMES else None)


def random_weights_note(name: str, models: SVDModels) -> str:
    """The stderr note for a run on random weights; for ``svd`` / ``svd_xt`` it says these are the
    full-size networks (a user who took them for small demo models waited minutes on a CPU)."""
    if name in FULL_SIZE_NAMES:
        n = sum(models.parameter_counts().values())
        return (f"note: '{name}' is the full-size network ({n / 1e9:.2f}B parameters) with random weights: a "
                f"benchmark shape, not a model (slow on a CPU); real weights come from --model PATH, a smoke run "
                f"from --model tiny")
    return f"note: '{name}' has random weights (a smoke run); real weights come from --model PATH"


class DamagedSafetensors(CheckpointError):
    """A file that claims to be safetensors (its name or its first bytes) whose header does not
    read: truncated by a download, overwritten, or another format under that name."""


def damaged_safetensors(path: str | Path, err: Exception) -> DamagedSafetensors:
    """The one line for ``path`` that safetensors cannot read, naming the file: safetensors' own
    error does not, and with a model, its LoRAs and a models folder the user cannot tell which.
    A file with no weights at all says so (:func:`video.models.sniff.not_weights`: empty, a Git
    LFS pointer), as ``video models`` does: ``video info`` on a folder with an empty part said
    "header too small" of it."""
    why = not_weights(path)
    return DamagedSafetensors(f"{path}: {why}" if why else f"{path}: truncated or damaged safetensors file ({err})")


def is_safetensors_name(path: str | Path) -> bool:
    """Whether ``path``'s suffix says safetensors (``.safetensors`` or ComfyUI's ``.sft``)."""
    return Path(path).suffix.lower() in SAFETENSORS_SUFFIXES


@dataclass
class SVDModels:
    unet: torch.nn.Module
    vae: torch.nn.Module
    image_encoder: torch.nn.Module
    config: ModelConfig
    layout: str  # "random", "diffusers" or "single_file"
    image_mean: tuple[float, ...] = OPENAI_CLIP_MEAN
    image_std: tuple[float, ...] = OPENAI_CLIP_STD
    extra: dict = field(default_factory=dict)

    def to(self, device=None, dtype=None) -> SVDModels:
        for m in (self.unet, self.vae, self.image_encoder):
            m.to(device=device) if dtype is None else m.to(device=device, dtype=dtype)
        return self

    def parameter_counts(self) -> dict[str, int]:
        return {
            name: sum(p.numel() for p in getattr(self, name).parameters())
            for name in ("unet", "vae", "image_encoder")
        }


def _unet_class():
    from diffusers import UNetSpatioTemporalConditionModel

    return UNetSpatioTemporalConditionModel


def _vae_class():
    from diffusers import AutoencoderKLTemporalDecoder

    return AutoencoderKLTemporalDecoder


def build_unet(cfg: ModelConfig) -> torch.nn.Module:
    u = cfg.unet
    n = len(u.block_out_channels)
    return _unet_class()(
        sample_size=u.sample_size,
        in_channels=u.in_channels,
        out_channels=u.out_channels,
        down_block_types=("CrossAttnDownBlockSpatioTemporal",) * (n - 1) + ("DownBlockSpatioTemporal",),
        up_block_types=("UpBlockSpatioTemporal",) + ("CrossAttnUpBlockSpatioTemporal",) * (n - 1),
        block_out_channels=tuple(u.block_out_channels),
        addition_time_embed_dim=u.addition_time_embed_dim,
        projection_class_embeddings_input_dim=u.projection_class_embeddings_input_dim,
        layers_per_block=u.layers_per_block,
        cross_attention_dim=u.cross_attention_dim,
        transformer_layers_per_block=u.transformer_layers_per_block,
        num_attention_heads=tuple(u.num_attention_heads),
        num_frames=u.num_frames,
    )


def build_vae(cfg: ModelConfig) -> torch.nn.Module:
    v = cfg.vae
    n = len(v.block_out_channels)
    return _vae_class()(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n,
        block_out_channels=tuple(v.block_out_channels),
        layers_per_block=v.layers_per_block,
        latent_channels=v.latent_channels,
        sample_size=v.sample_size,
        scaling_factor=v.scaling_factor,
    )


def build_image_encoder(cfg: ModelConfig) -> torch.nn.Module:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    e = cfg.image_encoder
    conf = CLIPVisionConfig(
        hidden_size=e.hidden_size,
        intermediate_size=e.intermediate_size,
        num_hidden_layers=e.num_hidden_layers,
        num_attention_heads=e.num_attention_heads,
        patch_size=e.patch_size,
        image_size=e.image_size,
        projection_dim=e.projection_dim,
        hidden_act=e.hidden_act,
        layer_norm_eps=e.layer_norm_eps,
    )
    return CLIPVisionModelWithProjection(conf)


def build_random(cfg: ModelConfig, seed: int = 0, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32) -> SVDModels:
    """Random weights at the sizes of ``cfg``, drawn directly on ``device`` (deterministic for
    a seed and device), so full-size benchmark models need no CPU initialisation.

    diffusers initialises some output convolutions to zero; a zero network renders a flat
    video, so every parameter is drawn here (scaled by fan-in, norms around 1, the temporal
    mix factors at diffusers' 0.5) to make the output depend on every weight and the parity
    tests able to fail.
    """
    from video.models.sgm import _empty_models

    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    nets = _empty_models(cfg)
    for net in nets:
        for mod in net.modules():
            for name, p in list(mod._parameters.items()):
                if p is None:
                    continue
                if name == "mix_factor":
                    t = torch.full(p.shape, 0.5, device=device)
                elif p.ndim == 1:
                    t = torch.randn(p.shape, generator=gen, device=device) * 0.02
                    if "norm" in type(mod).__name__.lower() and name == "weight":
                        t += 1.0
                else:
                    t = torch.randn(p.shape, generator=gen, device=device) / (p[0].numel() ** 0.5)
                mod._parameters[name] = torch.nn.Parameter(t.to(dtype), requires_grad=False)
        net.to(device)  # buffers
    unet, vae, enc = (n.eval() for n in nets)
    return SVDModels(unet, vae, enc, cfg, layout="random")


def _sampling_config_for_frames(num_frames: int) -> ModelConfig:
    return load_model_config("svd_xt" if num_frames >= 25 else "svd")


def is_diffusers_folder(path: Path) -> bool:
    return path.is_dir() and all((path / s).is_dir() for s in DIFFUSERS_SUBFOLDERS)


def load_diffusers_folder(path: Path, dtype: torch.dtype = torch.float32, variant: str | None = None) -> SVDModels:
    check_diffusers_parts(path, variant)  # all three, before the libraries import and any weights load
    from transformers import CLIPVisionModelWithProjection

    from video.models.components import load_diffusers_part, load_transformers_part, pick_variant
    # Every weight checked: diffusers leaves a missing one on the meta device (a raw "Cannot copy
    # out of meta tensor" later), transformers draws it at random; either is one line here.
    unet = load_diffusers_part(_unet_class(), path, "unet", dtype, variant)
    vae = load_diffusers_part(_vae_class(), path, "vae", dtype, variant)
    enc = load_transformers_part(CLIPVisionModelWithProjection, path, "image_encoder", dtype, variant)
    variant = pick_variant(path / "unet", variant)  # per part: fp16 unet/, plain vae/
    ours = path / "video_pipeline.yaml"
    cfg = load_model_config(ours) if ours.is_file() else _sampling_config_for_frames(unet.config.num_frames)
    cfg.name = path.name
    mean, std = OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
    fe = path / "feature_extractor" / "preprocessor_config.json"
    if fe.is_file():
        pre = json.loads(fe.read_text())
        mean, std = tuple(pre.get("image_mean", mean)), tuple(pre.get("image_std", std))
    return SVDModels(unet.eval(), vae.eval(), enc.eval(), cfg, layout="diffusers", image_mean=mean, image_std=std,
                     extra={"variant": variant})


def check_diffusers_parts(path: Path, variant: str | None = None) -> None:
    """One line for the first part of the folder without .safetensors weights, or naming the first
    weight file that holds no weights or whose header does not hold up, in ``video info``'s words
    (:func:`video.models.part_checks.check_parts`, shared with the text-to-video loaders), before
    any part loads. Why: an empty ``vae/`` file was "cannot load vae/ (Unable to load weights
    ...)" only after the UNet had loaded, gigabytes for SVD-XT, without naming the file."""
    from video.models.part_checks import check_parts

    check_parts(path, DIFFUSERS_SUBFOLDERS, variant)


def save_diffusers_folder(models: SVDModels, path: str | Path) -> Path:
    """Write the diffusers pipeline layout (loadable by ``StableVideoDiffusionPipeline``
    and by us), plus our own ``video_pipeline.yaml`` with the sampling defaults.

    Written into a temporary folder and renamed, so a crash never leaves half a model.
    """
    from video.atomic import atomic_folder
    from video.config_data import to_yaml
    from video.models.components import clip_image_processor, no_torchvision_notice

    with no_torchvision_notice():  # the pipeline module imports CLIPImageProcessor; ours is clip_image_processor's
        from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline

    s = models.config.sampling
    scheduler = EulerDiscreteScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        prediction_type="v_prediction", interpolation_type="linear", use_karras_sigmas=True,
        sigma_min=s.sigma_min, sigma_max=s.sigma_max, timestep_spacing="leading",
        timestep_type="continuous", steps_offset=1,
    )
    fe = clip_image_processor(
        crop_size={"height": 224, "width": 224}, size={"shortest_edge": 224},
        image_mean=list(models.image_mean), image_std=list(models.image_std),
        do_center_crop=True, do_normalize=True, do_resize=True, do_rescale=True,
    )
    pipe = StableVideoDiffusionPipeline(vae=models.vae, image_encoder=models.image_encoder, unet=models.unet,
                                        scheduler=scheduler, feature_extractor=fe)
    path = Path(path)
    with atomic_folder(path) as tmp:
        pipe.save_pretrained(tmp, safe_serialization=True)
        (tmp / "video_pipeline.yaml").write_text(to_yaml(to_dict(models.config)), encoding="utf-8")
    return path


def detect_layout(source: str | Path) -> str:
    """"config" (a name under configs/model), "diffusers", "single_file"; raises otherwise.
    ``~`` is expanded (a path from a YAML config or ``--model=~/...`` reaches here unexpanded).
    A built-in name (:func:`builtin_config`) is "config" even where ./NAME exists."""
    p = Path(source).expanduser()
    if builtin_config(source) is not None or not p.exists():
        try:
            model_config_path(builtin_config(source) or str(source))
            return "config"
        except ConfigError:
            raise CheckpointError(
                f"model {str(source)!r} not found: give a diffusers folder, an svd*.safetensors file, "
                f"or the name 'tiny' (random weights)"
            ) from None
    if is_diffusers_folder(p):
        return "diffusers"
    if (media := _media_refusal(p)) is not None:
        raise CheckpointError(media)
    if p.is_file() and is_safetensors_name(p):
        if looks_pickled(p):  # read by its bytes first: its name is not what it holds
            raise CheckpointError(f"{p}: {PICKLED_SAFETENSORS}")
        return "single_file"
    if p.is_file() and is_pickled(p):
        raise CheckpointError(f"{p}: pickled checkpoints are not loaded; convert it to .safetensors")
    from video.models.inspect import wrong_model

    if p.is_dir():
        inside = _run_export_parts(p)
        # a run's model that img2vid does not load (a DiT run's final/model): say at once what
        # runs it, rather than name a path whose own error then names the other command
        other = [w.replace(f"{q} is ", f"{q}, ", 1) for q in inside
                 if Path(q).is_dir() and (w := wrong_model(Path(q), "img2vid"))]
        if other and len(other) == sum(Path(q).is_dir() for q in inside):
            raise CheckpointError(f"{p}: a training run's export, not a model itself; it holds {other[0]}")
        if not inside and (run := _image_stage_run(p)) is not None:
            raise CheckpointError(f"{p}: an image-pretraining run, which exports no model to render (its UNet has "
                                  "no temporal layers yet); start the video stage from it: `video train "
                                  f"stage2_video init_from={run}`")
        if inside:
            which = "give that path" if len(inside) == 1 else "give one of those paths"
            raise CheckpointError(f"{p}: a training run's export, not a model itself; it holds {' and '.join(inside)}: "
                                  f"{which}")
    raise CheckpointError(wrong_model(p, "img2vid") or f"{p}: not a diffusers SVD folder (unet/, vae/, image_encoder/) "
                          "nor a .safetensors (.sft) file")


def _media_refusal(p: Path) -> str | None:
    """The one line for a video or image file given as a model (a render saved under a weights
    name), read from its first bytes (:func:`video.models.detect.media_format`) before its name
    decides: an MP4 named ``.safetensors`` was "truncated or damaged safetensors file (header too
    large)" here and in `video info`, while `video models` and `video txt2vid` said what it is.
    None for anything else."""
    from video.models.detect import media_format
    from video.models.inspect import wrong_model

    if not p.is_file() or media_format(p) is None:
        return None
    return wrong_model(p, "img2vid")


def _image_stage_run(p: Path) -> Path | None:
    """The run folder of an SVD image-pretraining run (``p`` or ``p/..`` when ``p`` is its
    ``final/``): its export is the image UNet (``final/unet_image``) the video stage starts
    from, with no runtime model beside it; None for anything else."""
    run = p.parent if p.name == "final" else p
    return run if (run / "final" / "unet_image").is_dir() else None


def _run_export_parts(p: Path) -> list[str]:
    """What a ``video train`` run's ``final/`` (or the run folder itself) holds that is a model
    (:func:`video.models.detect.run_exports`); a user pointing ``video info`` at the folder is
    told these paths instead of only what the folder is not."""
    from video.models.detect import run_exports

    return [str(q) for q in run_exports(p)]


def load_svd(
    source: str | Path,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    variant: str | None = None,
    config: str | Path | None = None,
) -> SVDModels:
    """Load SVD from any supported source; ``config`` overrides the sampling defaults
    (e.g. ``"svd_xt"`` for a single-file SVD-XT checkpoint without metadata)."""
    # first: a wrong model or a damaged part is refused without importing the libraries (6 s)
    layout = detect_layout(source)
    if layout == "diffusers":
        check_diffusers_parts(Path(source).expanduser(), variant)
    quiet_library_logs()
    if layout != "config":
        source = Path(source).expanduser()
    if layout == "config":
        models = build_random(load_model_config(builtin_config(source) or str(source)), device=device, dtype=dtype)
    elif layout == "diffusers":
        models = load_diffusers_folder(Path(source), dtype=dtype, variant=variant)
    else:
        from safetensors import SafetensorError

        from video.models.sgm import load_sgm_checkpoint

        try:
            models = load_sgm_checkpoint(Path(source), config=config, dtype=dtype)
        except SafetensorError as e:
            raise damaged_safetensors(source, e) from None
    if config is not None and layout != "single_file":
        arch = models.config
        models.config = load_model_config(config)
        models.config.unet, models.config.vae, models.config.image_encoder = arch.unet, arch.vae, arch.image_encoder
    for net in (models.unet, models.vae, models.image_encoder):
        if next(net.parameters()).dtype != dtype:
            net.to(dtype=dtype)
    return models.to(device=device)


def quiet_library_logs() -> None:
    """diffusers and transformers log per-load progress bars and notes that mean nothing to
    our users; keep their errors."""
    try:
        import diffusers.utils.logging as dlog
        import transformers.utils.logging as tlog

        dlog.set_verbosity_error()
        dlog.disable_progress_bar()
        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except ImportError:
        pass
