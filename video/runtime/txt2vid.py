"""Text-to-video: a flow-matching transformer (our DiT, or Wan 2.1 / 2.2's through diffusers)
conditioned on text through the prompt language, decoded by a pluggable latent space.

Steps:
1. the prompt and negative prompt -> per-step conditioning (schedules ``[a:b:t]``,
   alternation, ``AND`` terms, ``BREAK``, weights; :mod:`video.prompts`);
2. noise at t = 1 in the latent grid of the requested frames and size;
3. the flow ODE from t = 1 to 0 (time shift by token count unless given), one batched
   forward per step for the unconditional and every ``AND`` term, combined by composable CFG;
4. decode and convert to uint8 frames (or float32 in [0, 1]; or return the latents undecoded).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from video.config import TextToVideoConfig, load_config, model_config_path
from video.diffusion.flow import FLOW_SAMPLERS, check_shift, flow_schedule, shift_for_tokens
from video.diffusion.guidance import composable_cfg, guided_batch, needs_conds, needs_uncond
from video.models.dit import DiT, DiTConfig
from video.models.latents import ImageVAELatents, has_tiling, latent_space_for
from video.prompts.composable import split_and
from video.runtime.img2vid import InputError, Timings, randn, usable_device
from video.runtime.progress import StepCallback, step_reporter
from video.runtime.speed import with_sdpa_priority
from video.runtime.t2v_checks import (
    ONE_EXPERT_GUIDANCE_2,
    TWO_EXPERT_LORA,
    check_output_type,
    check_prompts,
    check_request,
    check_room,
    check_size,
    step_bytes,
    transformer_widths,
)


@dataclass
class T2VModels:
    transformer: torch.nn.Module
    text_encoder: torch.nn.Module
    tokenizer: object
    latents: object  # ImageVAELatents | VideoVAELatents
    config: TextToVideoConfig
    layout: str
    # Wan 2.2 A14B: the low-noise expert, run for t < boundary_ratio (diffusers' WanPipeline)
    transformer_2: torch.nn.Module | None = None
    boundary_ratio: float | None = None

    @property
    def vae(self) -> torch.nn.Module:
        return self.latents.vae

    @property
    def experts(self) -> list[torch.nn.Module]:
        """The transformers: one, or Wan 2.2's high-noise and low-noise experts."""
        return [self.transformer] + ([self.transformer_2] if self.transformer_2 is not None else [])

    def lora_target(self) -> torch.nn.Module:
        """The transformer a ``--lora`` merges into. Wan 2.2's LoRAs come one per expert (high
        and low noise), so a single file for a two-expert folder is refused rather than merged
        into half the model."""
        if self.transformer_2 is not None:
            raise InputError(TWO_EXPERT_LORA)
        return self.transformer

    def expert_index(self, t: torch.Tensor | float) -> int:
        """0 (``transformer``) at times t >= boundary_ratio, else 1 (``transformer_2``); compared
        on the 1000-step scale in float32, as WanPipeline compares its timesteps."""
        if self.transformer_2 is None or self.boundary_ratio is None:
            return 0
        t1000 = (torch.as_tensor(t, dtype=torch.float32) * 1000).item()
        return 0 if t1000 >= self.boundary_ratio * 1000 else 1


def encode_prompts(encoder, prompt: str, negative_prompt: str, steps: int):
    """``encoder.encode(...)`` with a prompt it cannot turn into finite conditioning (an
    overflowing weight: :class:`video.prompts.encode.PromptError`) as a one-line
    :class:`InputError`, raised before any denoising: never an all-black video reported as done.
    Shared by text-to-video, VACE and Animate."""
    from video.prompts.encode import PromptError

    try:
        return encoder.encode(prompt, negative_prompt, steps)
    except PromptError as e:
        raise InputError(str(e)) from None


def frames_as(frames: torch.Tensor, output_type: str):
    """Decoded frames ``(3, F, H, W)`` in [-1, 1] as the pipelines return them
    (:func:`video.runtime.t2v_checks.check_output_type`): numpy uint8 ``(F, H, W, 3)``, or with
    ``"float"`` float32 in [0, 1] (diffusers' ``"np"`` without its batch axis), as ImageToVideo."""
    x = frames.float().clamp(-1, 1) + 1
    x = x / 2 if output_type == "float" else (x * 127.5).round().to(torch.uint8)
    return x.permute(1, 2, 3, 0).cpu().numpy()


def _dit_config(cfg: TextToVideoConfig) -> DiTConfig:
    return load_config(DiTConfig, dict(cfg.dit or {}))


def build_tiny(seed: int = 0) -> T2VModels:
    """Random tiny model from ``configs/model/t2v_tiny.yaml`` (our DiT, CLIP text, image VAE)."""
    from diffusers import AutoencoderKL

    from video.models.text import build_tiny_clip_text, build_tiny_tokenizer

    cfg = load_config(TextToVideoConfig, model_config_path("t2v_tiny"))
    dcfg = _dit_config(cfg)
    torch.manual_seed(seed)
    dit = DiT(dcfg)
    with torch.no_grad():  # a trained model has non-zero gates and head: make the smoke run non-trivial
        for p in [dit.time_proj[1].weight, dit.head.weight, *[b.modulation for b in dit.blocks],
                  *[b.cross_attn.out.weight for b in dit.blocks]]:
            p.normal_(0, 0.05)
    tok = build_tiny_tokenizer()
    text = build_tiny_clip_text(len(tok), hidden=dcfg.text_dim, seed=seed)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=dcfg.in_channels,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        block_out_channels=(32, 32, 32, 32), layers_per_block=1, norm_num_groups=32)
    return T2VModels(dit.eval(), text, tok, ImageVAELatents(vae.eval()), cfg, layout="random")


def _load_text(p: Path, dtype: torch.dtype):
    """A folder's ``text_encoder/`` (safetensors only) and ``tokenizer/``, each loading error one
    line naming the folder and the part."""
    from video.models.components import loading, require_safetensors
    from video.models.text import load_text_encoder, load_tokenizer

    require_safetensors(p / "text_encoder")
    with loading(p, "text_encoder"):
        text = load_text_encoder(p / "text_encoder", dtype)
    with loading(p, "tokenizer"):
        tok = load_tokenizer(p / "tokenizer")
    return text, tok


def _load_wan(p: Path, index: dict, dtype: torch.dtype, transformer_cls: type | None = None) -> T2VModels:
    """A diffusers Wan folder (text-to-video: one expert, or Wan 2.2's two; VACE and Animate
    folders with their ``transformer_cls``), every part's weight files checked by their headers
    before any part loads (:func:`video.models.part_checks.check_parts`: a damaged text encoder
    was found after the experts had loaded) and every loading error one line naming the folder
    and part. The checks come before the libraries import (seconds)."""
    from video.models.part_checks import check_parts
    from video.models.svd import CheckpointError, quiet_library_logs
    from video.models.wan import t2v_parts, wan_config

    parts = t2v_parts(p, index) if transformer_cls is None else {"transformers": ["transformer"], "boundary_ratio": None}
    missing = [sub for sub in (*parts["transformers"], "vae", "text_encoder", "tokenizer") if not (p / sub).is_dir()]
    if missing:
        raise CheckpointError(f"{p}: a Wan diffusers folder needs {'/, '.join(missing)}/: download the whole "
                              "repository, not only model_index.json")
    config = wan_config(p)  # a broken scheduler config: one line now, not a traceback after the weights
    check_parts(p, (*parts["transformers"], "vae", "text_encoder"))
    quiet_library_logs()
    from diffusers import AutoencoderKLWan, WanTransformer3DModel

    from video.models.components import load_diffusers_part

    experts = [load_diffusers_part(transformer_cls or WanTransformer3DModel, p, sub, dtype).eval()
               for sub in parts["transformers"]]
    vae = load_diffusers_part(AutoencoderKLWan, p, "vae", torch.float32)
    text, tok = _load_text(p, dtype)
    return T2VModels(experts[0], text, tok, latent_space_for(vae.eval()), config, layout="wan-diffusers",
                     transformer_2=experts[1] if len(experts) > 1 else None, boundary_ratio=parts["boundary_ratio"])


def state_dict_mismatch(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> str | None:
    """What keeps ``found`` (a file's tensors) from loading into a model whose state dict is
    ``expected``: missing, unexpected and differently shaped keys, one short phrase; None if
    it fits. (torch's own ``load_state_dict`` error lists every key over dozens of lines.)"""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shapes = sorted(k for k in set(expected) & set(found) if expected[k].shape != found[k].shape)
    parts = []
    if shapes:
        k = shapes[0]
        parts.append(f"{len(shapes)} of different shape (e.g. {k}: {tuple(found[k].shape)} in the file, "
                     f"{tuple(expected[k].shape)} in the model)")
    if missing:
        parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
    return "; ".join(parts) or None


def _load_ours(p: Path, dtype: torch.dtype) -> T2VModels:
    """Our layout (``save_t2v``): every part's weight files checked by their headers before any
    part loads, every error one line naming the folder and the part, as :func:`_load_wan` does
    for Wan folders."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from video.config import ConfigError
    from video.models.part_checks import check_parts, missing_weights
    from video.models.svd import CheckpointError, quiet_library_logs

    for sub in ("transformer", "vae", "text_encoder", "tokenizer"):
        if not (p / sub).is_dir():
            raise CheckpointError(f"{p}: our text-to-video layout needs {sub}/ beside video_pipeline.yaml")
    try:
        cfg = load_config(TextToVideoConfig, p / "video_pipeline.yaml")
        with torch.device("meta"):  # shapes only: the file's tensors become the weights (assign=True)
            dit = DiT(_dit_config(cfg))
    except (ConfigError, ValueError) as e:  # a bad key, or a DiT that cannot be built (head size, heads)
        raise CheckpointError(f"{p}: video_pipeline.yaml: {str(e).splitlines()[0]}") from None
    weights = p / "transformer" / "model.safetensors"
    if not weights.is_file():  # a pickled model.bin in its place is named (never unpickled)
        raise missing_weights(p, "transformer/model.safetensors")
    check_parts(p, ("transformer", "vae", "text_encoder"), unconfigured=("transformer",))
    quiet_library_logs()
    from diffusers import AutoencoderKL, AutoencoderKLWan

    from video.models.components import load_diffusers_part, loading

    try:
        state = load_file(str(weights))
    except (OSError, SafetensorError) as e:
        raise CheckpointError(f"{p}: cannot read transformer/model.safetensors ({str(e).splitlines()[0]})") from None
    why = state_dict_mismatch(dit.state_dict(), state)
    if why:
        raise CheckpointError(f"{p}: transformer/model.safetensors does not fit the DiT video_pipeline.yaml "
                              f"describes: {why}")
    # the file's own tensors, cast once later by cast_keeping_fp32: a 16-bit file loaded in 16
    # bits never goes through float32, and no random initial weights are made first
    dit.load_state_dict(state, assign=True)
    with loading(p, "vae"):
        vae_cfg = json.loads((p / "vae" / "config.json").read_text())
    vae_cls = AutoencoderKLWan if vae_cfg.get("_class_name") == "AutoencoderKLWan" else AutoencoderKL
    vae = load_diffusers_part(vae_cls, p, "vae", torch.float32)
    text, tok = _load_text(p, dtype)
    return T2VModels(dit.eval(), text, tok, latent_space_for(vae.eval()), cfg, layout="ours")


def cast_keeping_fp32(module: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """``module.to(dtype)``, except the tensors of its class's ``_keep_in_fp32_modules`` (Wan:
    ``scale_shift_table``, ``time_embedder``, ``norm1/2/3``...), which stay float32 in a
    16-bit model, as diffusers' ``from_pretrained`` keeps them (same rule: a parameter or
    buffer whose dotted name has one of those names as a component): the modulation and
    the norms keep their float32 values and a bf16 run computes what WanPipeline's does."""
    keep = (getattr(module, "_keep_in_fp32_modules", None) or []) if dtype in (torch.float16, torch.bfloat16) else []
    for name, t in [*module.named_parameters(), *module.named_buffers()]:
        if t.is_floating_point():  # each tensor cast once: a float32 value is never rounded through bf16
            t.data = t.data.to(torch.float32 if any(k in name.split(".") for k in keep) else dtype)
    return module


def _model_inside(p: Path) -> str:
    """"; did you mean P/model?" when ``p`` is a training run's export (``final/``) or the run
    folder itself, whose model is in ``final/model`` (as a LoRA path names its
    ``lora.safetensors``); for a LoRA run's, the LoRA file to give with its base model; else
    nothing. Where a run keeps them: :func:`video.models.detect.run_exports`."""
    from video.models.detect import run_exports

    exports = run_exports(p)
    for sub in (q for q in exports if q.is_dir()):
        if (sub / "video_pipeline.yaml").is_file() and (sub / "transformer").is_dir():
            return f"; did you mean {sub}?"
        index = sub / "model_index.json"
        if index.is_file():
            try:
                kind = json.loads(index.read_text()).get("_class_name", "")
            except (OSError, ValueError):
                kind = ""
            if "Wan" in kind and "Pipeline" in kind:
                return f"; did you mean {sub}?"
            if kind == "StableVideoDiffusionPipeline":
                return f"; it holds an image-to-video model: video img2vid --model {sub}"
    lora = next((q for q in exports if q.name == "lora.safetensors"), None)
    return "" if lora is None else f"; it holds a LoRA: give its base model with --lora {lora}"


def load_t2v(source: str | Path, device="cpu", dtype=torch.float32) -> T2VModels:
    """``tiny``; our folder layout (``video_pipeline.yaml``, ``transformer/``, ``text_encoder/``,
    ``tokenizer/``, ``vae/``); or a diffusers Wan text-to-video folder (``model_index.json``
    naming ``WanPipeline``: Wan 2.1, or Wan 2.2's two experts; :mod:`video.models.wan` says
    which folders are refused and why). ``tiny`` is the built-in whatever the working folder
    holds (a ./tiny folder is given as ``./tiny``), as every command reads a built-in name."""
    from video.models.inspect import wrong_model
    from video.models.svd import CheckpointError, quiet_library_logs
    from video.models.wan import SINGLE_FILE, read_index

    p = Path(source).expanduser()  # the loaders quiet the libraries after their checks (an import of seconds)
    if str(source) == "tiny":
        quiet_library_logs()
        m = build_tiny()
    elif p.is_file():
        from video.models.detect import detect_kind

        wrong = wrong_model(p, "txt2vid")  # a video or image file: named so, not "a single file (...)"
        if wrong is not None:
            raise CheckpointError(wrong)
        found = detect_kind(p)
        if found["kind"].startswith("wan_"):
            raise CheckpointError(SINGLE_FILE.format(p=p))
        from video.models.sgm import use_instead

        instead = use_instead(p, found)  # a LoRA or an embedding: the flag that takes it
        raise CheckpointError(f"{p}: a single file ({found['detail']})" + (instead or "; text-to-video needs a model "
                              "folder (ours or a Wan diffusers folder) or 'tiny'"))
    elif not p.is_dir():
        raise CheckpointError(f"text-to-video model {str(source)!r} not found: give a model folder or 'tiny'")
    elif (index := read_index(p)) is not None:
        m = _load_wan(p, index, dtype)
    elif (wrong := wrong_model(p, "txt2vid")) is not None:  # a checkpoint, an SVD folder...: what runs it
        raise CheckpointError(wrong)
    elif (p / "video_pipeline.yaml").is_file():
        m = _load_ours(p, dtype)
    else:
        raise CheckpointError(f"{p}: neither our text-to-video layout (video_pipeline.yaml) nor a Wan diffusers folder"
                              + _model_inside(p))
    for t in m.experts:
        cast_keeping_fp32(t, dtype).to(device=device)
    m.text_encoder.to(device=device, dtype=dtype)
    m.vae.to(device=device)
    return m


def save_t2v(models: T2VModels, path: str | Path) -> Path:
    """Write our folder layout (temporary folder, then rename)."""
    from safetensors.torch import save_file

    from video.atomic import atomic_folder
    from video.config import to_dict
    from video.config_data import to_yaml

    path = Path(path)
    with atomic_folder(path) as tmp:
        (tmp / "video_pipeline.yaml").write_text(to_yaml(to_dict(models.config)), encoding="utf-8")
        (tmp / "transformer").mkdir()
        save_file({k: v.contiguous() for k, v in models.transformer.state_dict().items()},
                  str(tmp / "transformer" / "model.safetensors"))
        models.text_encoder.save_pretrained(tmp / "text_encoder", safe_serialization=True)
        models.tokenizer.save_pretrained(tmp / "tokenizer")
        models.vae.save_pretrained(tmp / "vae", safe_serialization=True)
    return path


class TextToVideo:
    """``TextToVideo.from_pretrained(path | "tiny")(prompt) -> uint8 (F, H, W, 3)``.

    The prompt encoder (:attr:`prompts`) keeps a few recent texts' states, not every prompt the
    object has seen: a long-lived pipeline (the ComfyUI node keeps one) stays bounded."""

    def __init__(self, models: T2VModels, device="cpu", dtype=torch.float32, embeddings_dir: str | None = None,
                 vae_tiling: bool | None = None):
        """``vae_tiling`` (Wan's video VAE): True turns its spatial tiling on (it engages above
        the VAE's 256 px tile, and moves pixels by a few levels against WanPipeline), False off;
        None (default) decodes whole frames, as diffusers' WanPipeline does, unless they would
        not fit in memory (:meth:`video.models.latents.VideoVAELatents.use_tiling`). ``device``:
        cpu, cuda, cuda:N, mps or auto; one this machine lacks is a one-line InputError
        (:func:`video.runtime.img2vid.usable_device`)."""
        from video.prompts import PromptEncoder

        device = usable_device(device)
        self.models = models
        if has_tiling(models.latents):
            models.latents.tiling = vae_tiling
        self.device, self.dtype = torch.device(device), dtype
        cfg = models.config
        self.prompts = PromptEncoder(models.tokenizer, models.text_encoder,
                                     max_length=cfg.text_max_length or 512, embeddings_dir=embeddings_dir)
        self.last_timings = Timings()
        self.compile_cache = None
        self.cudagraphs = False
        self.sdpa_first = "torch"  # which attention kernel torch tries first (speed.sdpa_priority)

    @classmethod
    def from_pretrained(cls, source: str | Path, device="cpu", dtype=torch.float32,
                        embeddings_dir: str | None = None, vae_tiling: bool | None = None) -> TextToVideo:
        """``device`` is checked (:func:`video.runtime.img2vid.usable_device`) before any weights load."""
        device = usable_device(device)
        return cls(load_t2v(source, device=device, dtype=dtype), device=device, dtype=dtype,
                   embeddings_dir=embeddings_dir, vae_tiling=vae_tiling)

    def compile(self, mode: str = "default", cache: str | Path | None = None) -> int:
        """Compile the transformer's repeated blocks one by one (``speed.compile_blocks``, for our
        DiT and for Wan alike); returns how many. ``mode``: ``speed.COMPILE_MODES`` (CUDA-graph
        modes need CUDA). ``cache``: a folder (or "auto") whose saved artifacts are loaded now and
        written after the first video."""
        from video.runtime.speed import compile_blocks, prepare_compile

        try:
            prepare_compile(self, mode, cache)
        except ValueError as e:
            raise InputError(str(e)) from None
        return compile_blocks(self.models.experts, mode=mode)

    @property
    def config(self) -> TextToVideoConfig:
        return self.models.config

    def patch(self) -> tuple[int, int, int]:
        """The transformer's (t, h, w) patch; an int patch is (1, p, p)."""
        patch = self.models.transformer.config.patch_size
        return tuple(patch) if isinstance(patch, (list, tuple)) else (1, patch, patch)

    def spatial_multiple(self) -> int:
        """A multiple both height and width may be (the size widgets' step, the editors'
        padding): the VAE factor times the lcm of the h and w patches."""
        _, ph, pw = self.patch()
        return self.models.latents.spatial_factor * math.lcm(ph, pw)

    def check_size(self, num_frames: int, height: int, width: int) -> None:
        """One-line :class:`InputError` for a size the VAE, the patch grid and (Wan) the rotary
        position table cannot take (:func:`video.runtime.t2v_checks.check_size`, which ``video
        txt2vid`` also runs on a Wan folder's configs before its weights load)."""
        ropes = [getattr(getattr(t, "config", None), "rope_max_seq_len", None) for t in self.models.experts]
        ropes = [r for r in ropes if isinstance(r, int)]
        check_size(self.models.latents, self.patch(), num_frames, height, width, rope_max=min(ropes, default=None))

    def check_room(self, num_frames: int, height: int, width: int, items: int, decode: bool) -> None:
        """CPU: :class:`~video.runtime.img2vid.NotEnoughMemory` before any work where a step of
        ``items`` batch items or the decoded frames cannot fit in the RAM available
        (:func:`video.runtime.t2v_checks.check_room`, as ImageToVideo's ``check_room``)."""
        if self.device.type != "cpu":  # CUDA reports its own failed allocation
            return
        from video.runtime.memory import available_memory

        (pt, ph, pw), lat = self.patch(), self.models.latents
        tokens = (lat.latent_frames(num_frames) // pt) * (height // (lat.spatial_factor * ph)) \
            * (width // (lat.spatial_factor * pw))
        dim, ffn = max(transformer_widths(t.config) for t in self.models.experts)
        step = step_bytes(tokens, dim, ffn, items, torch.finfo(self.dtype).bits // 8)
        check_room(num_frames, height, width, step, decode, available_memory())

    def _forward(self, x: torch.Tensor, t: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        b = ctx.shape[0]
        xb, tb = x.expand(b, *x.shape[1:]).to(self.dtype), t.expand(b).to(x.device)
        if self.cudagraphs:  # a new call: earlier graph outputs may be overwritten from here on
            torch.compiler.cudagraph_mark_step_begin()
        if self.config.backbone == "wan":
            model = self.models.experts[self.models.expert_index(t.reshape(-1)[0])]
            return model(xb, tb * 1000, ctx, return_dict=False)[0].float()
        return self.models.transformer(xb, tb, ctx).float()

    def shift_for(self, lat_shape: tuple[int, ...], shift: float | None = None) -> float:
        """The flow time shift: given, else the model config's, else by token count."""
        if shift is not None:
            return shift
        pt, ph, pw = self.patch()
        tokens = (lat_shape[2] // pt) * (lat_shape[3] // ph) * (lat_shape[4] // pw)
        return self.config.sampling.shift or shift_for_tokens(tokens)

    def velocity_for(self, cond: list, ts: torch.Tensor, scale: float, scale_2: float | None = None):
        """The guided velocity v(x, t, step) for the times ``ts``: sampler step ``step`` uses
        ``cond[step]``, the prompt schedule's conditioning, for every evaluation it makes
        (:data:`video.diffusion.flow.Velocity`). One batched forward for the unconditional and
        every ``AND`` term, combined by composable CFG. Shared by generation and editing.
        ``scale_2``: the guidance of Wan 2.2's low-noise expert (default ``scale``). The step
        comes from the sampler, not from looking ``t`` up in ``ts``: Heun's second evaluation of
        step i runs at ``ts[i + 1]``, and a large shift makes float32 times collide."""
        steps = len(ts) - 1
        dev = self.device

        def velocity(x: torch.Tensor, t: torch.Tensor, step: int) -> torch.Tensor:
            c = cond[min(step, steps - 1)]
            scale_t = scale_2 if scale_2 is not None and self.models.expert_index(t.reshape(-1)[0]) == 1 else scale
            return guided(x, t, c, scale_t)

        def guided(x: torch.Tensor, t: torch.Tensor, c, scale: float) -> torch.Tensor:
            use_uncond = needs_uncond(c.weights, scale)  # a lone term weighted 1/scale needs no uncond
            use_conds = needs_conds(c.weights, scale)  # scale 0 needs only the uncond (negative prompt)
            terms = [ct for ct, _ in c.conds] if use_conds else []
            ctx = torch.cat(([c.uncond] if use_uncond else []) + terms).to(dev, self.dtype)
            v = self._forward(x, t, ctx)
            if not (use_uncond and use_conds):  # one branch: the guided velocity itself
                return v[:1]
            return composable_cfg(v[:1], list(v[1:].split(1)), c.weights, scale)

        return velocity

    @torch.no_grad()
    @with_sdpa_priority
    def __call__(
        self,
        prompt: str,
        negative_prompt: str | None = None,
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int | None = None,
        guidance_scale: float | None = None,
        generator: torch.Generator | None = None,
        latents: torch.Tensor | None = None,
        shift: float | None = None,
        sampler: str | None = None,
        progress: bool = False,
        output_type: str = "uint8",
        guidance_scale_2: float | None = None,
        on_step: StepCallback | None = None,
    ):
        """``on_step(done, total)``: called after each sampler step (it may raise to stop the
        run; :mod:`video.runtime.progress`). ``guidance_scale_2``: Wan 2.2's low-noise expert's guidance (diffusers' WanPipeline
        argument); default ``guidance_scale``. A guidance scale may be any finite number:
        1 is the prompt alone, 0 the negative prompt alone, above 1 classifier-free guidance,
        between 0 and 1 a mix of the prompt and the negative prompt, below 0 steers away from the
        prompt (all finite velocities; A1111's and ComfyUI's rule, where diffusers' WanPipeline
        turns guidance off at any scale <= 1); NaN or inf is refused,
        as is a time shift outside (0, inf) (:func:`video.diffusion.flow.check_shift`)
        and fewer than one step. Every check runs before any work.

        ``prompt``: one string in the prompt language (a list of prompts is refused: one video
        per call). ``output_type``: ``"uint8"`` (default) numpy uint8 (F, H, W, 3); ``"float"``
        numpy float32 (F, H, W, 3) in [0, 1] (diffusers' ``"np"`` without its batch axis);
        ``"latent"`` the float32 (1, C, f, h, w) latents, not decoded. diffusers' ``"np"``,
        ``"pil"`` and ``"pt"`` are refused, as ImageToVideo refuses them."""
        check_output_type(output_type)
        check_prompts(prompt, negative_prompt)
        s, m, dev = self.config.sampling, self.models, self.device
        # None is the model's default; an explicit 0 is refused below, not read as the default
        num_frames = s.num_frames if num_frames is None else num_frames
        height, width = s.height if height is None else height, s.width if width is None else width
        steps = s.num_inference_steps if num_inference_steps is None else num_inference_steps
        scale = s.guidance_scale if guidance_scale is None else guidance_scale
        negative_prompt = s.negative_prompt if negative_prompt is None else negative_prompt
        sampler = sampler or s.sampler
        check_request(steps=steps, shift=shift, sampler=sampler, guidance_scale=scale,
                      guidance_scale_2=guidance_scale_2)
        if guidance_scale_2 is not None and m.transformer_2 is None:
            raise InputError(ONE_EXPERT_GUIDANCE_2)
        self.check_size(num_frames, height, width)
        lat_shape = (1, m.latents.channels, m.latents.latent_frames(num_frames),
                     height // m.latents.spatial_factor, width // m.latents.spatial_factor)
        shift = self.shift_for(lat_shape, shift)
        try:
            check_shift(shift)
        except ValueError as e:
            raise InputError(str(e)) from None
        if latents is not None and tuple(latents.shape) != lat_shape:
            raise InputError(f"latents have shape {tuple(latents.shape)}, expected {lat_shape}")
        with warnings.catch_warnings():  # a lone weight's warning is the encoder's to give, once
            warnings.simplefilter("ignore")
            weights = [w for _, w in split_and(prompt)]
        items = max(guided_batch(weights, g) for g in (scale, scale if guidance_scale_2 is None else guidance_scale_2))
        self.check_room(num_frames, height, width, items, decode=output_type != "latent")
        t0 = time.perf_counter()

        # 1. Text.
        cond = encode_prompts(self.prompts, prompt, negative_prompt, steps)
        # 2. Noise.
        if latents is None:
            latents = randn(lat_shape, generator, dev, torch.float32)
        x = latents.to(dev, torch.float32)
        ts = flow_schedule(steps, shift, device=dev)
        t1 = time.perf_counter()

        # 3. The flow ODE with composable guidance.
        velocity = self.velocity_for(cond, ts, scale, guidance_scale_2)
        with step_reporter(steps, f"denoise ({sampler}, shift {shift:.2f})", progress, on_step) as hook:
            x = FLOW_SAMPLERS[sampler](velocity, x, ts, callback=hook)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t2 = time.perf_counter()
        if self.compile_cache is not None:  # after a compiled video: all its shape needed is built
            self.compile_cache.save_once(self.dtype, lat_shape)  # a failed save is a warning, not an error

        # 4. Decode.
        if output_type == "latent":  # no decode: its time is 0, not the previous call's
            self.last_timings = Timings(encode=t1 - t0, denoise=t2 - t1)
            return x
        frames = frames_as(m.latents.decode(x.to(next(m.vae.parameters()).dtype))[0], output_type)  # (3, F, H, W)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        self.last_timings = Timings(encode=t1 - t0, denoise=t2 - t1, decode=time.perf_counter() - t2)
        return frames


__all__ = ["TextToVideo", "T2VModels", "build_tiny", "check_request", "load_t2v", "save_t2v"]
