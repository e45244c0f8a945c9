"""Masked regeneration, training-free, for any model with a one-step solver: the mechanism
behind every edit.

SDEdit (Meng et al. 2022) starts from the input's latent noised to the level ``strength``
and solves the ODE from there; RePaint (Lugmayr et al. 2022) puts the known content back
after every step, noised to the level the sampler has reached, so the generated region is
solved in the presence of the untouched one. We use one noise draw ``eps`` per run for both
the start and every re-noising, so outside the mask the latent follows exactly the path a
pure noising of the input would: ``x_t = (1 - t) x0 + t eps`` for rectified flow (our DiT,
Wan 2.1), ``x_sigma = x0 + sigma eps`` for EDM (SVD).

Per-pixel strength (the idea of Differential Diffusion, Levin & Fried 2023, as in ComfyUI's
``DifferentialDiffusion`` node): a latent cell with grey level g in [0, 1] behaves as if
edited at strength ``g * strength``. Precisely, with ``tau(level) = strength_of(level) /
strength`` (1 at the start, 0 at the end), step i (from level i to level i + 1) keeps the
solver's value for the cell iff ``g > 0`` and ``g >= tau(level i)``, the level the step
starts from, and resets it to the input re-noised to level i + 1 otherwise: the threshold
ComfyUI applies at each model call, ``mask >= (t - t_min) / (t_max - t_min)`` at the step's
current t. So g = 1 is regenerated at every step, g = 0 never, and g = 0.5 follows the input's
noisy path down to the first level at or below that of strength ``0.5 * strength``, and is
solved from there: an SDEdit from that level, i.e. at about strength ``g * strength``,
rounded down to the schedule. A level below the last step's tau is never edited (ComfyUI
rounds the same way); comparing with the *next* level instead let every g > 0 take the last
step, an edit at the last level's strength (0.42 with 8 steps at shift 5) however faint g was.
A binary mask is the special case g in {0, 1}.

The schedules truncated by strength and the re-noising functions are pure maths and live in
:mod:`video.diffusion.strength`; this module holds the blending loop.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from video.diffusion.strength import EditSchedule

# (x at levels[0], levels[0:2], step i) -> x at levels[1]; i picks the prompt schedule's entry
Step = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
Renoise = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
LatentCallback = Callable[[int, torch.Tensor, torch.Tensor], None] | None  # (step, level, x): to look at latents


def regenerate(step: Step, x0: torch.Tensor, eps: torch.Tensor, schedule: EditSchedule, strength_map: torch.Tensor,
               renoise: Renoise, callback: LatentCallback = None) -> torch.Tensor:
    """Solve from ``renoise(x0, eps, levels[0])`` to level 0, one ``step`` at a time; after step
    i, cells with ``strength_map < taus[i]`` (all of them where the map is 0) are set to the
    input re-noised to the new level (``step`` gets i: the conditioning of the prompt schedule's
    step i, for every model call the solver makes). ``strength_map`` broadcasts against ``x0``.
    ``callback(i, level, x)`` sees the latent after step i's blend."""
    levels, taus = schedule.levels, schedule.taus
    x = renoise(x0, eps, levels[0])
    for i in range(schedule.num_steps):
        x = step(x, levels[i:i + 2], i)
        x = torch.where((strength_map > 0) & (strength_map >= taus[i]), x, renoise(x0, eps, levels[i + 1]))
        if callback is not None:
            callback(i, levels[i + 1], x)
    return x


__all__ = ["LatentCallback", "Renoise", "Step", "regenerate"]
