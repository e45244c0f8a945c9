"""``epochs > 0``: the steps a run trains are counted from its data (sd-scripts'
``--max_train_epochs``), and ``steps`` is not read. A ``steps=`` given beside it was dropped
without a word (``epochs=1 steps=3`` trained 8 steps), and a finished epochs run rerun with more
``steps`` said only "nothing left to train": both now say that ``epochs`` decides."""

from __future__ import annotations

from dataclasses import replace

from video.training.config import TrainConfig


def steps_of_epochs(cfg: TrainConfig, data, world: int, rank: int) -> TrainConfig:
    """``cfg`` with ``steps`` set from ``epochs`` (unchanged when ``epochs`` is 0), said on rank
    0 in one line, with a note when the config gave other ``steps`` (a YAML's or an override's
    value equal to the count is no news). Bucketed data counts a step as one bucket's global
    batch, its last one padded; other data its items (repeats included) over the global batch."""
    if cfg.epochs <= 0:
        return cfg
    from video.training.kohya import epoch_steps

    per_step = cfg.batch_size * world * cfg.optim.grad_accum
    if hasattr(data, "order"):  # buckets
        batches = data.order(cfg.seed, per_step).batches_per_epoch()
        out = replace(cfg, steps=batches * cfg.epochs)
        said = f"steps = {batches} bucketed batches of {per_step} (batch_size x processes x grad_accum) " \
               f"x {cfg.epochs} epochs = {out.steps}"
    else:
        out = replace(cfg, steps=epoch_steps(len(data), cfg.epochs, per_step))
        said = f"steps = {len(data)} items x repeats x {cfg.epochs} epochs / {per_step} per step = {out.steps}"
    if rank == 0:
        print(said)
        if cfg.steps != out.steps:
            print(f"note: steps={cfg.steps} is ignored: epochs={cfg.epochs} decides how many steps this run "
                  "trains (epochs=0 trains by steps)")
    return out


def last_epoch_note(cfg: TrainConfig, step: int) -> str | None:
    """The line for a rerun of an epochs run that its checkpoint already finished (``step`` is
    the last): more ``steps`` train nothing there, more ``epochs`` do. None otherwise."""
    if cfg.epochs <= 0 or step < cfg.steps:
        return None
    return (f"note: the run is at step {step}, the last of epochs={cfg.epochs}: nothing is left to train; "
            f"to train on, rerun with a higher epochs= (epochs={cfg.epochs + 1} or more)")
