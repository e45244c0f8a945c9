"""The lines ``video train`` prints about a run (what a start removed, empty captions, a
divergence and where a rerun resumes, the epochs, repeated items, what a LoRA trains), kept
apart from the loop in :mod:`video.training.trainer`, which imports them from here."""

from __future__ import annotations

from pathlib import Path

import torch

from video.training.config import TrainConfig


def removed_note(stale: list[Path], run: Path) -> str:
    """The line saying what :func:`remove_partial_checkpoints` deleted: unfinished checkpoints
    (``checkpoints/.step_*.partial``) and an unfinished ``final/`` export (``.final.*.partial``,
    a kill during the export) named as what they were."""
    exports = sum(p.name.startswith(".final.") for p in stale)
    parts = []
    if len(stale) - exports:
        parts.append(f"{len(stale) - exports} unfinished checkpoint folder(s) an interrupted save")
    if exports:
        parts.append(f"{exports} unfinished final/ export folder(s) an interrupted export" if exports > 1
                     else "the unfinished final/ export folder an interrupted export")
    return f"removed {' and '.join(parts)} left in {run}"


def empty_caption_note(empty: int, items: int, task: str, example: str | None = None) -> str:
    """The warning for a text-conditioned run whose data has ``empty`` of ``items`` captions
    empty: each is trained on the empty prompt, as an unconditional sample. ``example``: one
    such file (a count alone left the user to hunt for them)."""
    return (f"warning: {empty} of {items} items have an empty caption{f' (e.g. {example})' if example else ''}; "
            f"{task} trains them on the empty prompt "
            "(as unconditional samples): caption them (curate's models.captioner, .txt files beside images)")


def diverged_note(run: Path, first: int, last: int) -> str:
    """The message of :class:`TrainingDiverged`: the steps that failed and where a rerun with a
    lower rate resumes. No checkpoint is written while steps fail, but one of the step just
    before them holds that step's update, which had a finite loss and gradient yet is the
    likeliest to have broken the weights (a rerun resumed there and failed again at once): the
    note says to remove it, and names the older checkpoint (or step 0) the rerun then starts from."""
    from video.training.state import checkpoints

    found = checkpoints(run)
    before = [c for c in found if int(c.name[5:]) < first - 1]  # none of them holds the breaking update
    fix = "a rerun with a lower optim.lr (or optim.grad_clip > 0)"
    if found and int(found[-1].name[5:]) == first - 1:
        then = (f"resumes from {before[-1]} (step {int(before[-1].name[5:])})" if before else "starts from step 0")
        where = (f"the last checkpoint, {found[-1]} (step {first - 1}), holds the update after which every step "
                 f"failed: remove it (rm -r {found[-1]}), then {fix} {then}")
    elif found:
        where = f"the last checkpoint, {found[-1]} (step {int(found[-1].name[5:])}), is from before them: {fix} resumes from it"
    else:
        where = f"{run} has no checkpoint from before them: {fix} starts from step 0"
    return (f"training diverged: steps {first}-{last} ({last - first + 1} in a row) had a non-finite loss or "
            f"gradient norm and were skipped; stopped without exporting final/; {where}")


def epochs_said(epochs: float) -> str:
    """An epoch count for the head line, with the digits a short run needs (3 steps of a large
    data set read "0.0 epochs", as if nothing were trained)."""
    if epochs == 0 or epochs >= 0.095:
        return f"{epochs:.1f}"
    return f"{epochs:.2f}" if epochs >= 0.0095 else "< 0.01"


def repeat_note(per_step: int, items: int) -> str | None:
    """A note when a step takes more items than the data has: the order then puts each item in
    one step several times (batch_size=100 on 4 items: 25 times, each with its own noise), which
    passed without a word and is rarely what a batch_size was set for."""
    if per_step <= items:
        return None
    return (f"note: a step takes {per_step} items (batch_size x processes x grad_accum) but the data has {items}: "
            f"each item is in every step about {per_step / items:.3g} times")


def lora_note(cfg: TrainConfig, model: torch.nn.Module) -> str:
    """What a LoRA run trains, for its head line (it read as full training): rank, alpha (0 means
    the rank) and the trainable parameters against the model's (sharded ones counted whole)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return (f"LoRA rank {cfg.lora.rank} alpha {cfg.lora.alpha or cfg.lora.rank:g} "
            f"({trainable:,} of {total:,} parameters trained)")
