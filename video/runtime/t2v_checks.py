"""The checks of a text-to-video request that need no weights, in one place: the pipeline call
runs them on the loaded model, and ``video txt2vid`` runs them first from a Wan folder's JSON
files (:func:`check_wan_request`), so a request the model cannot take is refused in one line
before minutes of weight loading, with the same words.

- :func:`check_request`: steps, shift, sampler and guidance scales, for any model;
- :func:`check_size`: frames and size against a latent space, the transformer's patch and (Wan)
  its rotary position table;
- :func:`check_prompts` and :func:`check_output_type`: the Python call's prompt and output type
  (the CLI passes strings and writes uint8), shared by text-to-video, VACE and Animate;
- :func:`check_wan_request`: those two, plus ``--guidance-2`` on a one-expert folder and
  ``--lora`` on a two-expert one, from ``model_index.json`` and the parts' ``config.json``.
- :func:`check_room`: on a CPU, a render whose step or decode cannot fit in the RAM available
  (from the transformer's widths, before anything is encoded).
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path

from video.diffusion.flow import FLOW_SAMPLERS, check_shift
from video.runtime.img2vid import OUTPUT_TYPES, InputError

ONE_EXPERT_GUIDANCE_2 = ("guidance_scale_2 (--guidance-2) is the low-noise expert's guidance; this model has one "
                         "transformer: use guidance_scale (--guidance)")
TWO_EXPERT_LORA = ("this Wan 2.2 folder has two experts, and its LoRAs come one per expert; LoRAs are not supported "
                   "on two-expert folders yet")


def check_request(steps: int | None = None, shift: float | None = None, sampler: str | None = None,
                  guidance_scale: float | None = None, guidance_scale_2: float | None = None) -> None:
    """The checks of a text-to-video call that need no model (None: the model's default), so the
    CLI runs them before minutes of weight loading and the pipeline call runs them again:
    a whole number of steps >= 1, a shift in (0, inf) (:func:`check_shift`), a known flow
    sampler, finite guidance scales (any finite scale is meaningful; see ``__call__``)."""
    if sampler is not None and sampler not in FLOW_SAMPLERS:
        raise InputError(f"unknown sampler {sampler!r}; choose one of {', '.join(FLOW_SAMPLERS)}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1):
        raise InputError(f"num_inference_steps (--steps) must be a whole number >= 1; got {steps}")
    if shift is not None:
        try:
            check_shift(shift)
        except ValueError as e:
            raise InputError(f"--shift: {e}") from None
    for name, g in (("guidance_scale (--guidance)", guidance_scale), ("guidance_scale_2 (--guidance-2)",
                                                                       guidance_scale_2)):
        if g is not None and (isinstance(g, bool) or not isinstance(g, numbers.Real) or not math.isfinite(g)):
            raise InputError(f"{name} must be a finite number; got {g!r}")


def check_prompts(prompt, negative_prompt=None) -> None:
    """One-line :class:`InputError` for a prompt that is not one string (a list of prompts, None)
    and a negative prompt that is neither a string nor None (the model's default): the pipelines
    render one video per call, and the prompt language reads text."""
    if isinstance(prompt, (list, tuple)):
        raise InputError(f"prompt must be one string; got a {type(prompt).__name__} of {len(prompt)}: render one "
                         "video per call")
    for name, value, optional in (("prompt", prompt, False), ("negative_prompt", negative_prompt, True)):
        if not isinstance(value, str) and not (optional and value is None):
            raise InputError(f"{name} must be a string; got {type(value).__name__}"
                             + (" (None: the model's default)" if optional else ""))


def check_output_type(output_type) -> None:
    """One-line :class:`InputError` for an ``output_type`` other than ImageToVideo's
    (:data:`video.runtime.img2vid.OUTPUT_TYPES`), before any work: diffusers' ``"np"``, ``"pil"``
    and ``"pt"`` are refused rather than returned as uint8 under another name."""
    if output_type not in OUTPUT_TYPES:
        raise InputError(f"unknown output_type {output_type!r}; choose one of {', '.join(OUTPUT_TYPES)} "
                         "(float: frames in [0, 1], diffusers' 'np')")


def _whole_numbers(**values) -> None:
    """One-line :class:`InputError` for a frame count or size that is not a whole number (3.0,
    "81", True): torch's own error comes later and names a tensor shape."""
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise InputError(f"{name} must be a whole number; got {v!r}")


def _frames_fit(latents, num_frames: int, pt: int) -> bool:
    """Whether ``num_frames`` passes the VAE's frame rule and gives a multiple of ``pt`` latent frames."""
    try:
        latents.check_frames(num_frames)
    except ValueError:
        return False
    return latents.latent_frames(num_frames) % pt == 0


def check_size(latents, patch: tuple[int, int, int], num_frames: int, height: int, width: int,
               rope_max: int | None = None) -> None:
    """One-line :class:`InputError` for a size the VAE and the patch grid cannot take: the
    height a multiple of the VAE factor times the h patch, the width of it times the w patch,
    and the latent frame count (VAE) a multiple of the t patch. ``latents``: a latent space
    (:mod:`video.models.latents`), or its :class:`~video.models.latents.LatentGrid` read from
    configs. With a t patch of 2 one frame is one latent frame, so ``num_frames=1`` (an image)
    is refused for such a model. ``rope_max``: a Wan transformer's ``rope_max_seq_len``, the
    patches per axis its rotary table covers (:func:`check_rope`)."""
    _whole_numbers(num_frames=num_frames, height=height, width=width)
    pt, ph, pw = patch
    mh, mw = latents.spatial_factor * ph, latents.spatial_factor * pw
    if height % mh or width % mw or height < mh or width < mw:
        what = f"multiples of {mh}" if mh == mw else f"multiples of {mh} (height) and {mw} (width)"
        raise InputError(f"height and width must be positive {what} for this model; got {height}x{width}")
    try:
        latents.check_frames(num_frames)
    except ValueError as e:
        raise InputError(str(e)) from None
    if latents.latent_frames(num_frames) % pt:
        ok = [f for f in range(1, 64 * pt * latents.temporal_factor) if _frames_fit(latents, f, pt)][:4]
        raise InputError(f"this model's temporal patch is {pt}, so num_frames must give a multiple of {pt} latent "
                         f"frames: {', '.join(map(str, ok))}, ...; got {num_frames}")
    if rope_max is not None:
        check_rope(latents, patch, num_frames, height, width, rope_max)


def check_rope(latents, patch: tuple[int, int, int], num_frames: int, height: int, width: int,
               rope_max: int) -> None:
    """One-line :class:`InputError` for a size past a Wan transformer's rotary position table:
    ``WanRotaryPosEmbed`` holds ``rope_max_seq_len`` positions per axis (frames, height, width,
    counted in patches), and a longer axis is a raw view error inside diffusers after loading."""
    pt, ph, pw = patch
    sf, tf = latents.spatial_factor, latents.temporal_factor
    axes = (latents.latent_frames(num_frames) // pt, height // (sf * ph), width // (sf * pw))
    if max(axes) > rope_max:
        limits = (f"at most {(rope_max * pt - 1) * tf + 1} frames, height {rope_max * sf * ph} and width "
                  f"{rope_max * sf * pw}")
        raise InputError(f"{num_frames} frames of {height}x{width} is past this model's rotary position table "
                         f"(rope_max_seq_len {rope_max} patches per axis: {limits})")


def transformer_widths(config) -> tuple[int, int]:
    """(model width, FFN width) of our DiT's config (``dim``, ``ffn_dim``) or a Wan
    transformer's (``num_attention_heads * attention_head_dim``, ``ffn_dim``)."""
    dim = getattr(config, "dim", None) or config.num_attention_heads * config.attention_head_dim
    return dim, config.ffn_dim


def step_bytes(tokens: int, dim: int, ffn_dim: int, items: int, element_size: int) -> int:
    """A lower bound on the activations one transformer forward of ``items`` batch items holds
    at once. Without gradients only the block running is live, so the count is per block, not
    per layer: at its FFN the residual stream, the normalised input, and the hidden layer
    before and after its GELU (2 dim + 2 ffn_dim per token, both on our DiT and on diffusers'
    Wan block); at self-attention the residual, q, k and v (4 dim). Attention scores, rotary
    copies, the allocator's rounding and the other blocks' weights in use are left out: the
    real peak is higher, so a render refused on this count cannot fit."""
    return items * tokens * max(4 * dim, 2 * dim + 2 * ffn_dim) * element_size


def check_room(num_frames: int, height: int, width: int, step: int, decode: bool, free: int | None) -> None:
    """:class:`~video.runtime.img2vid.NotEnoughMemory` (img2vid's words) where one step's
    activations (:func:`step_bytes`) or, with ``decode``, the decoded float32 frames (``3 x F x
    H x W x 4`` bytes, which the decode holds whole) pass ``free`` bytes of RAM (None: unknown,
    nothing checked). Why: Linux overcommits, so a CPU render past the RAM is killed minutes in
    without a word, not refused."""
    from video.runtime.img2vid import NotEnoughMemory
    from video.runtime.memory import GIB, output_bytes

    if free is None:
        return
    need = max(step, output_bytes(num_frames, height, width) if decode else 0)
    if need > free:
        raise NotEnoughMemory(f"{num_frames} frames at {width}x{height} (width x height) need about "
                              f"{need / GIB:.1f} GiB of RAM, {free / GIB:.1f} GiB is available", need, free)


def _json_object(path: Path) -> dict:
    """A config file as a dict; {} when it does not read as one (its loader names the problem)."""
    try:
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


WAN_ROPE_DEFAULT = 1024  # WanTransformer3DModel's rope_max_seq_len when its config.json has none


def _wan_grid(p: Path, experts: list[str]):
    """The latent grid, patch and rotary table length of a Wan folder from ``vae/config.json``
    and the experts' ``config.json`` as ``AutoencoderKLWan``, ``VideoVAELatents`` and
    ``WanTransformer3DModel`` read them (spatial ``2 ** len(temperal_downsample)``, temporal
    ``2 ** sum(...)``; the shortest ``rope_max_seq_len``); None where a value is absent or odd:
    the size is then checked after loading, as before."""
    from video.models.latents import LatentGrid

    down = _json_object(p / "vae" / "config.json").get("temperal_downsample")  # sic: diffusers' spelling
    configs = [_json_object(p / sub / "config.json") for sub in experts]
    patch = configs[0].get("patch_size")
    if not (isinstance(down, list) and all(isinstance(d, bool) for d in down)):
        return None
    if not (isinstance(patch, list) and len(patch) == 3 and all(isinstance(x, int) and x > 0 for x in patch)):
        return None
    ropes = [c.get("rope_max_seq_len", WAN_ROPE_DEFAULT) for c in configs]
    rope = min(ropes) if all(isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in ropes) else None
    return LatentGrid(2 ** len(down), 2 ** sum(down)), tuple(patch), rope


def check_wan_request(source: str | Path, num_frames: int | None = None, height: int | None = None,
                      width: int | None = None, guidance_scale_2: float | None = None, lora: bool = False) -> None:
    """For a Wan text-to-video folder, what the pipeline would refuse after loading, from its
    JSON files alone (:func:`check_size`, one expert or two; None: the model's default), plus
    the folder's own refusals (:func:`video.models.wan.t2v_parts`) and a broken scheduler
    config (:func:`video.models.wan.scheduler_shift`), as its loader says them. Anything else
    (``tiny``, our layout, a file) is left to the loader and the call."""
    from video.models.wan import read_index, t2v_parts, wan_config

    p = Path(source).expanduser()
    if str(source) == "tiny" or not p.is_dir():
        return
    index = read_index(p)
    if index is None:
        return
    experts = t2v_parts(p, index)["transformers"]
    s = wan_config(p).sampling
    if guidance_scale_2 is not None and len(experts) == 1:
        raise InputError(ONE_EXPERT_GUIDANCE_2)
    if lora and len(experts) > 1:
        raise InputError(TWO_EXPERT_LORA)
    grid = _wan_grid(p, experts)
    if grid is not None:
        check_size(grid[0], grid[1], s.num_frames if num_frames is None else num_frames,
                   s.height if height is None else height, s.width if width is None else width, rope_max=grid[2])


__all__ = ["ONE_EXPERT_GUIDANCE_2", "TWO_EXPERT_LORA", "check_output_type", "check_prompts", "check_request",
           "check_room", "check_rope", "check_size", "check_wan_request", "step_bytes", "transformer_widths"]
