"""The refine pass of ``video upscale``: a low-strength SDEdit of the super-resolved clip by a
video model, to restore the temporal consistency per-frame SR loses (:mod:`video.edit.upscale`
says why), with the model's VAE run in overlapping tiles (:class:`TiledLatents`) so large frames
fit in memory. Kept apart from the SR code because it is the part that needs torch.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import numpy as np
import torch

from video.runtime.errors import InputError


def _spans(n: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """Overlapping [start, stop) spans covering range(n), each ``tile`` long (one span if n <= tile)."""
    if n <= tile:
        return [(0, n)]
    stride = max(1, tile - overlap)
    starts = list(range(0, n - tile, stride)) + [n - tile]
    return [(s, s + tile) for s in starts]


def _ramp(length: int, lead: int, trail: int) -> torch.Tensor:
    """Blend weights: rising over the first ``lead`` entries, falling over the last ``trail``."""
    w = torch.ones(length)
    if lead:
        w[:lead] = torch.minimum(w[:lead], torch.arange(1, lead + 1) / (lead + 1))
    if trail:
        w[length - trail:] = torch.minimum(w[length - trail:], torch.arange(trail, 0, -1) / (trail + 1))
    return w


def _axis_weights(spans: list[tuple[int, int]], to_px=lambda a, b: (a, b)) -> list[tuple[tuple[int, int], torch.Tensor]]:
    """For each span: its output range (through ``to_px``) and weights ramping over the overlaps
    with its neighbours."""
    rng = [to_px(a, b) for a, b in spans]
    out = []
    for i, (a, b) in enumerate(rng):
        lead = rng[i - 1][1] - a if i else 0
        trail = b - rng[i + 1][0] if i + 1 < len(rng) else 0
        out.append(((a, b), _ramp(b - a, max(lead, 0), max(trail, 0))))
    return out


class TiledLatents:
    """A latent space (:mod:`video.models.latents`) encoded and decoded in tiles of the latent
    grid, overlapping in time and space, blended with linear ramps: peak memory is one tile's.

    Latent frame 0 is pixel frame 0 and latent ``i > 0`` pixel frames ``tf (i - 1) + 1 .. tf i``
    (Wan's causal VAE; ``tf = 1`` for an image VAE); latent rows ``[a, b)`` are pixel rows
    ``[s a, s b)``. Sizes are in latent units."""

    def __init__(self, inner, tile: tuple[int, int, int] = (8, 32, 32), overlap: tuple[int, int, int] = (2, 8, 8)):
        if len(tile) != 3 or len(overlap) != 3 or any(t < 1 or not 0 <= o < t for t, o in zip(tile, overlap, strict=True)):
            raise InputError(f"VAE tiles {tuple(tile)} with overlap {tuple(overlap)} (frames, rows, columns in latent "
                             "units): each tile at least 1, each overlap at least 0 and below its tile")
        self.inner = inner
        self.tile, self.overlap = tuple(tile), tuple(overlap)
        for k in ("vae", "channels", "spatial_factor", "temporal_factor", "latent_frames", "check_frames"):
            setattr(self, k, getattr(inner, k))

    def _grid(self, t: int, h: int, w: int):
        (tt, th, tw), (ot, oh, ow) = self.tile, self.overlap
        return _spans(t, tt, ot), _spans(h, th, oh), _spans(w, tw, ow)

    def _run(self, x: torch.Tensor, grid: tuple[int, int, int], out_shape, fn, encode: bool):
        """Each tile after the first in time starts one latent early and drops what that latent
        gives: a causal VAE sees a tile's first frame as a lone image, not a continuation."""
        st, sh, sw = self._grid(*grid)
        tf, s = self.temporal_factor, self.spatial_factor
        if encode:
            axes = (_axis_weights(st), _axis_weights(sh), _axis_weights(sw))
        else:
            axes = (_axis_weights(st, lambda a, b: (tf * (a - 1) + 1 if a else 0, tf * (b - 1) + 1)),
                    _axis_weights(sh, lambda a, b: (s * a, s * b)), _axis_weights(sw, lambda a, b: (s * a, s * b)))
        acc = norm = None
        for i, (ta, tb) in enumerate(st):
            lo = max(ta - 1, 0)
            for j, (ra, rb) in enumerate(sh):
                for k, (ca, cb) in enumerate(sw):
                    if encode:
                        y = fn(x[:, :, tf * lo:tf * (tb - 1) + 1, s * ra:s * rb, s * ca:s * cb]).float()
                    else:
                        y = fn(x[:, :, lo:tb, ra:rb, ca:cb]).float()
                    y = y[:, :, 1:] if ta else y
                    if acc is None:
                        acc = torch.zeros(*y.shape[:2], *out_shape, device=y.device)
                        norm = torch.zeros(out_shape, device=y.device)
                    (t0, t1), wt = axes[0][i]
                    (h0, h1), wh = axes[1][j]
                    (w0, w1), ww = axes[2][k]
                    wgt = (wt[:, None, None] * wh[None, :, None] * ww[None, None, :]).to(y)
                    acc[:, :, t0:t1, h0:h1, w0:w1] += y * wgt
                    norm[t0:t1, h0:h1, w0:w1] += wgt
        return acc / norm

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, 3, F, H, W) in [-1, 1] -> (B, C, T, H/s, W/s)."""
        f, hgt, wid = frames.shape[2:]
        s = self.spatial_factor
        grid = (self.latent_frames(f), hgt // s, wid // s)
        return self._run(frames, grid, grid, self.inner.encode, encode=True)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        t, h, w = latents.shape[2:]
        tf, s = self.temporal_factor, self.spatial_factor
        return self._run(latents, (t, h, w), (tf * (t - 1) + 1, h * s, w * s), self.inner.decode, encode=False)


def size_step(editor) -> int:
    """The number a refine model's frame sides must divide by: the editor's ``multiple``
    (:class:`Editor`, :class:`~video.edit.vace.VaceRecipeEditor`); for a bare
    :class:`~video.edit.vace.VaceEditor`, its VAE's spatial factor times the transformer's patch
    (the rule ``VaceEditor.prepare_inputs`` enforces); 1 for a callable with neither. Reading
    only ``multiple`` made a VACE refine pad nothing and fail on any size it does not take."""
    m = getattr(editor, "multiple", None)
    if m:
        return int(m)
    vace = getattr(editor, "vace", editor)
    lat = getattr(getattr(vace, "models", None), "latents", None)
    if lat is not None and hasattr(vace, "_patch"):
        return int(lat.spatial_factor * vace._patch()[1])
    return 1


def as_refiner(editor):
    """A bare :class:`~video.edit.vace.VaceEditor` behind :class:`Editor`'s call
    (:class:`~video.edit.vace.VaceRecipeEditor`, as ``video edit`` does): any frame count (VACE
    itself takes 4k + 1 in one window), long clips in windows, its size step as ``multiple``.
    Anything else is returned as it is."""
    from video.edit.vace import VaceEditor, VaceRecipeEditor

    return VaceRecipeEditor(editor) if isinstance(editor, VaceEditor) else editor


def check_refine_steps(editor, strength: float, steps: int | None,
                       names: tuple[str, str] = ("--steps", "--strength")) -> None:
    """One line, before the SR pass, where a VACE refiner (``as_refiner``'s) would run no step:
    it keeps diffusers' img2img rule (:func:`~video.diffusion.strength.flow_skip_schedule`,
    ``int(steps x strength)`` steps), so strength 0.3 with 3 steps runs none, and that error came
    after the whole SR pass. ``steps`` None: the model's. ``names``: how the caller spells steps
    and strength. A flow or SVD refiner runs all its steps below any strength above 0: no check."""
    from video.diffusion.strength import flow_skip_schedule
    from video.edit.vace import VaceEditor, VaceRecipeEditor

    vace = editor.vace if isinstance(editor, VaceRecipeEditor) else editor
    if not isinstance(vace, VaceEditor) or not 0.0 < strength <= 1.0:
        return
    n = steps or vace.config.sampling.num_inference_steps  # as VaceEditor.__call__ reads it
    try:
        flow_skip_schedule(n, strength)
    except ValueError:
        count = f"{n} steps" if steps else f"the model's {n} steps"
        raise InputError(f"{names[1]} {strength:g} with {count} runs no refine step (a VACE model runs "
                         f"int(steps x strength) of them): raise {names[0]} or {names[1]}") from None


def _latents_holder(editor):
    """The object whose ``latents`` (:mod:`video.models.latents`) the editor encodes and decodes
    through: a flow :class:`Editor`'s ``backend.pipe.models``, a ``VaceEditor``'s ``models``, a
    ``VaceRecipeEditor``'s ``vace.models``; None where there is none (SVD encodes and decodes
    with its image VAE directly, frame chunks at a time)."""
    for path in (("backend", "pipe", "models"), ("vace", "models"), ("models",)):
        obj = editor
        for name in path:
            obj = getattr(obj, name, None)
        if obj is not None and getattr(obj, "latents", None) is not None:
            return obj
    return None


@contextlib.contextmanager
def tiled_vae(editor, tile=(8, 32, 32), overlap=(2, 8, 8)):
    """Route ``editor``'s VAE through :class:`TiledLatents` for the duration; yields whether it
    did (False for an SVD editor, whose VAE is chunked in time only: see :func:`_latents_holder`)."""
    models = _latents_holder(editor)
    if models is None:
        yield False
        return
    inner = models.latents
    models.latents = TiledLatents(inner, tile, overlap)
    try:
        yield True
    finally:
        models.latents = inner


UNTILED_NOTE = ("the refine model's VAE is not tiled (SVD encodes and decodes whole frames, a few at a time): a "
                "large output may not fit in memory; lower --scale or refine with a flow or VACE model")


def refine_video(frames: np.ndarray, refine, strength: float = 0.3, prompt: str = "", tile=(8, 32, 32),
                 overlap=(2, 8, 8), **kw) -> np.ndarray:
    """SDEdit the whole clip at ``strength`` with ``refine`` (an :class:`Editor`, a
    ``VaceEditor``, or a model source for ``Editor.from_pretrained``), the frame padded (edge)
    to the model's size step (:func:`size_step`) and cropped back, so the output has the
    input's size. The VAE runs in tiles (:func:`tiled_vae`) where the editor has a latent
    space to wrap; where not (SVD), one warning line says so."""
    if isinstance(refine, (str, Path)):
        from video.edit import Editor

        refine = Editor.from_pretrained(refine)
    refine = as_refiner(refine)
    f, h, w = frames.shape[:3]
    m = size_step(refine)
    ph, pw = -h % m, -w % m
    padded = np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge") if ph or pw else frames
    with tiled_vae(refine, tile, overlap) as tiled:
        if not tiled:
            warnings.warn(UNTILED_NOTE, stacklevel=2)
        out = refine(padded, mask=None, prompt=prompt, strength=strength, **kw)
    return np.ascontiguousarray(out[:, :h, :w])


__all__ = ["TiledLatents", "UNTILED_NOTE", "as_refiner", "check_refine_steps", "refine_video", "size_step", "tiled_vae"]
