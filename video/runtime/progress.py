"""Per-step reporting for the samplers, one rule for every pipeline: a terminal progress bar
(``progress=True``) and/or a caller's ``on_step(done, total)`` after each step (the pipelines'
``on_step`` argument). It is how a host application (ComfyUI's node progress bar and its
Cancel button) follows and stops a run: it may raise, and the exception leaves the sampler."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

StepCallback = Callable[[int, int], None]  # (steps done, steps in all)


@contextlib.contextmanager
def step_reporter(total: int, desc: str, progress: bool = False, on_step: StepCallback | None = None,
                  unit: str = "step") -> Iterator[Callable[..., None] | None]:
    """A sampler's per-step hook (it ignores the sampler's arguments): each call is one finished
    step, which moves the bar and calls ``on_step(done, total)``. None when neither is asked for,
    so the sampler runs with no hook at all. The bar is closed however the block ends."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=desc, unit=unit, leave=False)
    done = 0

    def step(*_args) -> None:
        nonlocal done
        done += 1
        if bar is not None:
            bar.update(1)
        if on_step is not None:
            on_step(done, total)

    try:
        yield step if bar is not None or on_step is not None else None
    finally:
        if bar is not None:
            bar.close()
