"""The training loop: AdamW with warmup, gradient accumulation and clipping, optional bf16
autocast, EMA and activation checkpointing, non-finite steps skipped and counted, metrics to
``metrics.jsonl`` and TensorBoard, atomic checkpoints that resume exactly (same data order,
same noise, same losses; what a rerun takes over from the run folder: :mod:`video.training.resume`),
a final export that the runtime loads, and a preview clip. A first
Ctrl-C (SIGINT) or SIGTERM stops at the next step boundary with a checkpoint of that step
(:class:`TrainingInterrupted`); a second stops at once.

One process by default; under ``torchrun`` the same loop runs on every rank with the model
wrapped by DDP or sharded by FSDP2 (``parallel=``, :mod:`video.training.distributed`). The
global batch of a step (batch size x ranks x accumulation) takes the same items however it is
split; its noise is drawn per micro-batch, so N processes train as one with N-fold accumulation.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from video.config import to_dict
from video.training import distributed
from video.training.config import TrainConfig, with_absolute_paths
from video.training.data_record import data_fingerprint, data_line, empty_caption_line
from video.training.epochs import last_epoch_note, steps_of_epochs
from video.training.init_from import resuming
from video.training.loading import ItemLoader, Prefetcher, collate, copy_order, make_order, say, set_step
from video.training.metrics import MetricsLog
from video.training.notes import (  # tests import some of them from here too
    diverged_note,
    epochs_said,
    lora_note,
    removed_note,
    repeat_note,
)
from video.training.resume import (
    OPTIM_KEYS,
    TRAINED,
    RunBusy,
    RunLock,
    apply_optim_settings,
    changed_keys,
    checkpoint_meta,
    config_of,
    data_change_note,
    existing_outputs,
    final_is_current,
    resume_changes,
)
from video.training.run_folder import NotARunFolder, adopt_old_export, check_out_path, check_run_folder
from video.training.state import (
    EMA,
    is_sharded_checkpoint,
    latest_checkpoint,
    load_checkpoint,
    load_rng,
    load_sharded_checkpoint,
    noise_generator,
    prune_checkpoints,
    remove_partial_checkpoints,
    save_checkpoint,
    save_sharded_checkpoint,
    sharded_checkpoint_has_ema,
)
from video.training.tasks import TASKS, make_dataset, run_shape


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on a first SIGINT / SIGTERM at a step boundary, after ``checkpoint``
    (of ``step``, written as every checkpoint is) was whole: rerunning the same command resumes
    exactly there. A KeyboardInterrupt, so a caller that does not know it still stops as on
    Ctrl-C (``video quickstart``: exit 130), and ``except Exception`` does not swallow it."""

    def __init__(self, step: int, checkpoint: Path):
        super().__init__(f"interrupted at step {step}; saved a checkpoint there: {checkpoint}")
        self.step, self.checkpoint = step, checkpoint


class StopRequests:
    """SIGINT (Ctrl-C) and SIGTERM while the training loop runs. The first only sets
    :attr:`requested`, which the loop reads between steps (never inside an optimizer step, so
    the weights, optimizer, data position and RNG it saves belong to one step); a second raises
    KeyboardInterrupt at once (a save or a step that takes too long), saving nothing more.
    Handlers can only be set in the main thread; elsewhere signals keep their own handling.

    Several processes (``torchrun``): the launcher passes its SIGINT or SIGTERM on to every
    worker once (each in its own session, so a terminal's Ctrl-C reaches them only that way),
    and SIGKILLs them after ``--shutdown-timeout`` (30 s). The workers may see it at different
    steps, so :meth:`agreed` all-reduces the flag at every step boundary (one float, as the loss
    already is): every rank stops after the same step and writes its collective checkpoint
    (DDP: rank 0 writes, FSDP: every rank its shards) together, never one rank waiting in a
    collective the others left. A save the launcher's SIGKILL cuts short leaves an unfinished
    ``.partial`` folder, removed at the next start; the checkpoint before it stays the last.
    A second signal (torchrun sends SIGTERM on a second Ctrl-C) stops every rank at once."""

    def __init__(self, speak: bool = True):
        self.requested = False
        self.speak = speak  # rank 0 says, when the first signal arrives, what happens next
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)

    def remove(self) -> None:
        """The handlers from before :meth:`install` back: after the loop a Ctrl-C stops at once
        (the last step's checkpoint is whole; an unfinished ``final/`` export is redone by a rerun)."""
        for sig, handler in self._previous.items():
            if handler is not None:  # None: a handler set from C, which Python cannot put back
                signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.speak:  # a step can take minutes: without a word, a second Ctrl-C would lose the save
            sys.stderr.write("\nvideo train: stopping after this step to save a checkpoint "
                             "(Ctrl-C again to stop at once, without saving)\n")
            sys.stderr.flush()

    def agreed(self) -> bool:
        """Whether any rank was asked to stop (collective: call on every rank at every step)."""
        return distributed.mean(float(self.requested)) > 0


def _trainable(model: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    return {k: p for k, p in model.named_parameters() if p.requires_grad}


def _build_task(cfg: TrainConfig, load_init: bool = True):
    """The task with the model as trained (LoRA adapters injected), same seed, same weights.
    ``load_init=False``: ``init_from`` is not read (the weights about to be loaded replace all
    of it: a resume, an FSDP export), so a run folder resumes after the earlier stage's folder
    has moved or gone. LoRA always reads it: it is the frozen base the adapters sit on."""
    torch.manual_seed(cfg.seed)
    if not load_init and not cfg.lora.enabled:
        cfg = replace(cfg, init_from="")
    with contextlib.nullcontext() if load_init else resuming():  # a LoRA's base: the final/ it was trained on
        task = TASKS[cfg.task](cfg)
    if cfg.lora.enabled:
        from video.training.lora import add_lora

        add_lora(task.model, cfg.lora)
    return task


@contextlib.contextmanager
def _unwrapped(task, model: torch.nn.Module):
    """``task.model`` as the plain model (previews, export run it on rank 0 alone: a DDP
    forward would wait for the other ranks)."""
    wrapped, task.model = task.model, model
    try:
        yield task
    finally:
        task.model = wrapped


MAX_NONFINITE_STEPS = 10  # non-finite steps in a row that stop a run as diverged (see TrainingDiverged)


class TrainingDiverged(ValueError):
    """:data:`MAX_NONFINITE_STEPS` steps in a row had a non-finite loss or gradient norm. A
    skipped step leaves the weights as they were, so that many different batches all failing
    on the same weights means the weights, not the data, are broken: going on would only spend
    the remaining steps and then export them as ``final/``. A ValueError: ``video train`` says
    it in one line and exits non-zero."""


def train(cfg: TrainConfig, progress: bool = True, stop_after: int | None = None) -> dict:
    """Run (or resume) ``cfg``; returns a summary. ``stop_after`` stops early at that step
    without the final export (an interruption, for tests). A SIGINT or SIGTERM during the steps
    raises :class:`TrainingInterrupted` once the step under way and its checkpoint are done
    (:class:`StopRequests`); :data:`MAX_NONFINITE_STEPS` failed steps in a row raise
    :class:`TrainingDiverged`. The run folder is locked for the run (:class:`RunLock`, rank 0):
    a second run of the same ``out=`` raises :class:`RunBusy` before it touches the folder; an ``out``
    that is a file, or a folder neither empty nor a run's, :class:`NotARunFolder` (:mod:`.run_folder`)."""
    cfg = with_absolute_paths(cfg)  # validated again (code may have set fields); input paths absolute, as recorded
    rank, world = distributed.setup()
    lock = RunLock(Path(cfg.out))
    failed = None  # (busy?, not a run folder?, message) of rank 0's try
    if rank == 0:
        try:
            check_out_path(lock.run)  # a file: before the lock makes folders
            lock.acquire()
            check_run_folder(lock.run)  # under the lock (a run under way is busy), before anything is written
        except Exception as e:  # any failure: the other ranks would wait in the broadcast for it
            lock.release()
            if world == 1:
                raise
            failed = (isinstance(e, RunBusy), isinstance(e, FileExistsError), str(e))
    failed = distributed.broadcast(failed)  # every rank stops, not only the one that tried
    if failed:
        raise (RunBusy if failed[0] else NotARunFolder if failed[1] else RuntimeError)(failed[2])
    from video.training.disk_full import room_errors

    try:
        with room_errors(lock.run):  # a full disk mid-run (metrics, config): one line, where a rerun resumes
            return _train(cfg, rank, world, progress, stop_after)
    finally:
        lock.release()


def _read_first_item(load: ItemLoader, order, plan) -> None:
    """This rank's first item of the first step (or the item that replaces it), read before a
    fresh run makes its folder: data with no readable item (every clip of a manifest corrupt)
    then fails leaving no folder, where step 1 failed after config.yaml, metrics.jsonl and a
    TensorBoard file were written. One item is enough: a step's items are of one shape (one bucket), so
    every other item of the first step can fall back on it. ``order``: a copy; the run's stays put."""
    load(plan(order)[0])


def _train(cfg: TrainConfig, rank: int, world: int, progress: bool, stop_after: int | None) -> dict:
    run = Path(cfg.out)  # made once the data and the model are built: a run they fail leaves no folder
    if rank == 0:
        stale = remove_partial_checkpoints(run)
        if stale:
            print(removed_note(stale, run))
    data = make_dataset(cfg)
    if rank == 0 and (empty := empty_caption_line(data, cfg)):
        print(empty)
    from video.training.cache import LatentCache

    if isinstance(data, LatentCache):  # its latents are one model's encoders': refuse another model's run
        data.check_model(cfg.model)
    cfg = steps_of_epochs(cfg, data, world, rank)  # epochs > 0: the steps counted from the data
    ck = latest_checkpoint(run)
    before = config_of(run, ck) if ck is not None else None
    fingerprint = data_fingerprint(data)  # in every checkpoint: a resume on other data says so
    if ck is not None and rank == 0 and (changed := data_change_note(checkpoint_meta(ck), fingerprint)):
        print(changed)
    if before is not None:
        meta = checkpoint_meta(ck)
        cfg = resume_changes(before, cfg, int(meta["step"]), rank, world, meta.get("world"))
    if ck is not None and cfg.lora.enabled and cfg.init_from and not Path(cfg.init_from).exists():
        raise FileNotFoundError(f"init_from={cfg.init_from!r}, the frozen base this LoRA run trains on, is not there: "
                                f"{ck} holds only the adapters; put the base back at that path to resume")
    accum, b = cfg.optim.grad_accum, cfg.batch_size
    order = make_order(data, cfg.seed, b * world * accum)  # buckets plan global batches
    load = ItemLoader(data)

    def plan(o) -> list[int]:  # rank r takes the r-th slice of the global micro-batch
        return o.take(b * world)[rank * b:(rank + 1) * b]

    if ck is None:  # a resume's folder is there already
        _read_first_item(load, copy_order(data, cfg.seed, order), plan)
    task = _build_task(cfg, load_init=ck is None)  # a resume loads every trained weight from the checkpoint
    run.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        _write_config(run, cfg, before, ck)
    raw = task.model  # the model itself; task.model becomes its DDP wrapper, or is sharded in place
    if cfg.activation_checkpointing:
        from video.training.checkpointing import apply_activation_checkpointing

        apply_activation_checkpointing(raw)
    task.model = distributed.parallelize(raw, cfg.parallel, bf16=cfg.precision == "bf16")
    sharded = distributed.is_sharded(raw)
    params = _trainable(raw)  # after sharding: FSDP2 swaps in sharded parameters
    on_gpu = next(iter(params.values())).is_cuda
    opt = torch.optim.AdamW(params.values(), lr=cfg.optim.lr, betas=tuple(cfg.optim.betas),
                            weight_decay=cfg.optim.weight_decay, fused=True if on_gpu else None)
    warm = cfg.optim.warmup_steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) if warm else 1.0)
    ema = EMA(params, cfg.ema_decay) if cfg.ema_decay > 0 else None
    step, skipped = 0, 0

    if ck is not None:
        if is_sharded_checkpoint(ck):
            ema_restored = ema is not None and sharded_checkpoint_has_ema(ck)
            meta = load_sharded_checkpoint(ck, raw, opt, sched, ema, lora=cfg.lora.enabled)
        elif sharded:
            raise ValueError(f"{ck} is a whole-model checkpoint; resume it with parallel=ddp (or one process)")
        else:
            state = load_checkpoint(ck)
            raw.load_state_dict(state["model"], strict=False)
            ema_restored = ema is not None and "ema" in state
            if ema_restored:
                ema.shadow = {k: v.float().to(ema.shadow[k].device) for k, v in state["ema"].items()}
            opt.load_state_dict(state["optim"]["optimizer"])
            sched.load_state_dict(state["optim"]["scheduler"])
            meta = state["meta"]
        if before is not None and changed_keys(before, cfg, OPTIM_KEYS):
            apply_optim_settings(cfg, opt, sched)
        if ema is not None and not ema_restored:  # EMA turned on at this resume: it starts from the
            ema.shadow = EMA(params, cfg.ema_decay).shadow  # loaded weights, not the fresh model's
        if ema_restored:  # older checkpoints had no warm-up: count every applied step as an update
            ema.updates = int(meta.get("ema_updates", meta["step"] - meta["skipped"]))
        step, skipped = meta["step"], meta["skipped"]
        order.load_state_dict(meta["order"])
        torch.set_rng_state(load_rng(ck, rank))
    log = MetricsLog(run, step) if rank == 0 else None
    distributed.barrier()

    steps = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    items = len(data)
    if rank == 0 and (line := data_line(data, cfg)):
        print(line)
    progress = progress and rank == 0
    if rank == 0:
        mode = f", {cfg.parallel}" if world > 1 else ""
        print(f"train {cfg.task}: {items} items, batch {b} x {world} ranks x accum {accum}{mode}, "
              f"{cfg.steps} steps = {epochs_said(cfg.steps * b * world * accum / items)} epochs"
              + (f", {lora_note(cfg, raw)}" if cfg.lora.enabled else "")
              + (f" (resuming at step {step})" if step else ""))
        for note in (repeat_note(b * world * accum, items), last_epoch_note(cfg, step)):
            if note:
                print(note)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=step, desc="train", unit="step", dynamic_ncols=True)
    autocast = torch.autocast("cuda" if on_gpu else "cpu", dtype=torch.bfloat16,
                              enabled=cfg.precision == "bf16")
    losses = []
    failing, deferred = 0, False  # non-finite steps in a row; a checkpoint put off while they failed
    t_last, logged = time.perf_counter(), step
    trained_from = step
    shape = run_shape(data, cfg)  # (frames, height, width) trained at: the export's sampling defaults, the preview's
    preview_note = sharded and bool(cfg.sample_every)

    def save() -> None:  # a checkpoint of the step just done (every ckpt_every steps, the last, an interrupt)
        _checkpoint(run / "checkpoints" / f"step_{step:07d}", cfg, raw, opt, sched, ema, sharded, rank,
                    {"step": step, "skipped": skipped, "order": order.state_dict(), "world": world,
                     "parallel": cfg.parallel if world > 1 else "none", "config": to_dict(cfg), "data": fingerprint,
                     "ema_updates": ema.updates if ema is not None else 0})
        if rank == 0 and cfg.ckpt_keep > 0:
            prune_checkpoints(run, cfg.ckpt_keep)

    # num_workers: threads load this step's and the next one's items while the model trains
    fetch = Prefetcher(load, copy_order(data, cfg.seed, order), plan, accum, step, steps, cfg.num_workers) \
        if cfg.num_workers > 0 else None
    stops = StopRequests(speak=rank == 0)
    stops.install()
    try:
        while step < steps:
            opt.zero_grad(set_to_none=True)
            total = 0.0
            for micro in range(accum):
                idx = plan(order)  # this rank's slice of the global micro-batch; its noise is that slot's
                set_step(data, step)  # kohya: tag shuffles seeded by the step, so epochs differ and resumes match
                batch = collate(fetch.get(step, micro, idx) if fetch is not None else [load(i) for i in idx])
                gen = noise_generator(cfg.seed, step, micro * world + rank)
                with distributed.gradient_sync(task.model, micro == accum - 1):
                    with autocast:
                        loss = task.loss(batch, gen).mean() / accum
                    loss.backward()
                total += loss.item()
            total = distributed.mean(total)
            norm = distributed.full_value(
                torch.nn.utils.clip_grad_norm_(params.values(), cfg.optim.grad_clip or float("inf"))).item()
            step += 1
            lr = opt.param_groups[0]["lr"]  # the rate this step used; sched.step() sets the next one's
            if not (math.isfinite(total) and math.isfinite(norm)):
                skipped += 1  # the data and RNG moved on; the weights did not
                failing += 1
                opt.zero_grad(set_to_none=True)
                with warnings.catch_warnings():  # the schedule keeps counting steps, applied or not
                    warnings.simplefilter("ignore", UserWarning)
                    sched.step()
            else:
                failing = 0
                opt.step()
                if ema is not None:
                    ema.update(params)
                sched.step()
            losses.append(total)
            if log is not None and (step % cfg.log_every == 0 or step == steps):
                now = time.perf_counter()
                sec = (now - t_last) / max(1, step - logged)
                t_last, logged = now, step
                log.log({"step": step, "loss": total, "lr": lr, "grad_norm": norm,
                         "skipped": skipped, "sec_per_step": sec, "it_per_s": 1 / sec if sec > 0 else 0.0})
            if bar is not None:
                bar.set_postfix(loss=f"{total:.4f}", skipped=skipped, refresh=False)
                bar.update(1)  # the bar shows steps/s and the ETA itself
            if failing >= MAX_NONFINITE_STEPS:  # the same on every rank: the loss and norm are all-reduced
                if log is not None:
                    log.close()
                raise TrainingDiverged(diverged_note(run, step - failing + 1, step))
            # while steps fail, periodic checkpoints wait for the next good step: a run that diverges
            # keeps (ckpt_keep) the checkpoints from before, and a rerun resumes from the newest of them
            due = step % cfg.ckpt_every == 0 or deferred
            deferred = due and failing > 0 and step != cfg.steps
            saved = (due and not deferred) or step == cfg.steps
            if saved:
                save()
            if cfg.sample_every and step % cfg.sample_every == 0 and step < cfg.steps:
                if sharded:  # a sharded model runs only with every rank: previews wait for the end
                    if preview_note and rank == 0:
                        say("parallel=fsdp: previews during training are skipped; the final one is rendered")
                    preview_note = False
                elif rank == 0:
                    with _unwrapped(task, raw):
                        _write_preview(task, cfg, load, run, step, shape)  # own generator: training RNG untouched
            # a step boundary: this step is whole, the next not begun (agreed on every rank, every step);
            # after the last step the run is done: it goes on to export final/ rather than stop without it
            if stops.agreed() and step < steps:
                if not saved:
                    save()
                raise TrainingInterrupted(step, run / "checkpoints" / f"step_{step:07d}")
    finally:
        stops.remove()
        if fetch is not None:
            fetch.close()
        if bar is not None:
            bar.close()  # also when stopped: the bar's line ends before the line saying why
    if not sharded:
        distributed.check_in_sync(params.values())
    summary = {"run": str(run), "step": step, "skipped": skipped, "losses": losses, "world": world}
    task.model = raw  # training is over: no more DDP forwards
    current = step >= cfg.steps and step == trained_from and distributed.broadcast(final_is_current(run, cfg, step))
    # final/ is this step's but its preview is missing (a kill between the two): the preview alone is rendered
    unseen = current and getattr(task, "renders_preview", True) and \
        distributed.broadcast("preview" not in existing_outputs(run, step))
    if current and rank == 0 and not unseen:  # a rerun of a finished command: final/ and the preview are this step's
        print(f"{run / 'final'} already holds step {step} of this config: not exported or previewed again")
        summary.update(existing_outputs(run, step))
    if step >= cfg.steps and (unseen or not current):
        if sharded:
            exported = _gather_for_export(cfg, raw, ema, rank)  # collective; then rank 0 alone
        else:
            exported = (task, ema.shadow if ema is not None else None) if rank == 0 else None
        if rank == 0:
            summary.update(_export(*exported, cfg, load, run, step, shape, write=not current))
    if log is not None:
        log.close()
    distributed.barrier()  # the other ranks return once rank 0 has written the export
    return summary


def _write_config(run: Path, cfg: TrainConfig, before: dict | None, ck: Path | None) -> None:
    """``config.yaml``, the config this run trains with (and on a resume with changed settings
    ``config.until_<ck>.yaml``, what the steps up to the checkpoint used), atomically: a kill
    mid-write leaves the old file, not a truncated config. One line says where it is; the
    whole config is ``video train --dry-run``'s output (printed on every run, it scrolled the
    lines that matter away)."""
    from video.atomic import atomic_file
    from video.config_data import to_yaml

    if before is not None and changed_keys(before, cfg):
        with atomic_file(run / f"config.until_{ck.name}.yaml") as tmp:
            Path(tmp).write_text(to_yaml(before), encoding="utf-8")
    with atomic_file(run / "config.yaml") as tmp:
        Path(tmp).write_text(to_yaml(to_dict(cfg)), encoding="utf-8")  # a text's ${ as written
    print(f"config: {run / 'config.yaml'}")


def _checkpoint(folder: Path, cfg: TrainConfig, raw, opt, sched, ema, sharded: bool, rank: int, meta: dict) -> None:
    rng = distributed.gather(torch.get_rng_state())  # each rank's CPU RNG (dropout, if any)
    if sharded:
        save_sharded_checkpoint(folder, raw, opt, sched, ema, meta, rng, lora=cfg.lora.enabled)
        return
    if rank == 0:
        header = None
        if cfg.lora.enabled:
            from video.training.lora import checkpoint_header, trainable_state

            model_sd, header = trainable_state(raw), checkpoint_header(cfg.lora)
        else:
            model_sd = raw.state_dict()
        save_checkpoint(folder, model_sd, ema, opt, sched, meta, rng, weights_metadata=header)
    distributed.barrier()


def _gather_for_export(cfg: TrainConfig, raw, ema: EMA | None, rank: int):
    """FSDP2: gather the full weights (and EMA) to rank 0, which loads them into a freshly built,
    unsharded copy of the task (the runtime's save and preview need a whole model)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    full = get_model_state_dict(raw, options=StateDictOptions(full_state_dict=True, cpu_offload=True,
                                                              ignore_frozen_params=cfg.lora.enabled))
    ema_full = {k: distributed.full_value(v).cpu() for k, v in ema.shadow.items()} if ema is not None else None
    if rank != 0:
        return None
    fresh = _build_task(cfg, load_init=False)  # LoRA still loads its base; otherwise ``full`` is every weight
    fresh.model.load_state_dict(full, strict=not cfg.lora.enabled)
    return fresh, ema_full


def _export(task, ema_weights: dict | None, cfg: TrainConfig, item, run: Path, step: int,
            shape: tuple[int, int, int], write: bool = True) -> dict:
    """``final/``: the weights (EMA'd if on) as ``trainable.safetensors`` plus the task's runtime
    folder (sampling defaults: ``shape``, the trained frames, height, width), or for LoRA the
    adapters in both layouts (the base model is not copied), and ``trained.json`` (the step and
    config it holds: a rerun of a finished run skips the export), then the preview. A full disk
    is one line naming ``final/`` and the checkpoint a rerun exports from (:mod:`.disk_full`).
    ``write=False``: ``final/`` holds these weights already; the model takes them and only the
    preview, missing, is rendered (a rerun of a run killed between the two)."""
    import json

    from video.atomic import atomic_folder
    from video.training.disk_full import room_errors

    final = run / "final"
    weights = _exported_weights(task, ema_weights, cfg)
    if write:
        with room_errors(run, final):
            adopt_old_export(final)  # an export from before markers: replaced as one now is (a user's file refused)
            with atomic_folder(final) as tmp:  # an interrupted export leaves no final/ for init_from to take
                _write_final(task, weights, cfg, tmp, shape)
                (tmp / TRAINED).write_text(json.dumps({"step": step, "config": to_dict(cfg)}, indent=2))
    elif weights is not None:
        task.model.load_state_dict(weights)  # as task.export does: the preview shows what final/ holds
    out = {"final": str(final)}
    preview = _write_preview(task, cfg, item, run, step, shape)
    if preview is not None:
        out["preview"] = preview
    if not write:
        made = f"not exported again; rendered its missing preview {preview}" if preview else \
            "not exported or previewed again"
        print(f"{final} already holds step {step} of this config: {made}")
    return out


def _exported_weights(task, ema_weights: dict | None, cfg: TrainConfig) -> dict | None:
    """The weights ``final/`` holds: the model's with the EMA over them; for LoRA (None) the
    EMA is copied into the adapters in place, which the export then reads."""
    if cfg.lora.enabled:
        if ema_weights is not None:
            with torch.no_grad():
                for k, p in _trainable(task.model).items():
                    p.copy_(ema_weights[k].to(p.dtype))
        return None
    weights = {k: v.detach().clone() for k, v in task.model.state_dict().items()}
    if ema_weights is not None:
        weights.update({k: v.to(weights[k].dtype).to(weights[k].device) for k, v in ema_weights.items()})
    return weights


def _write_final(task, weights: dict | None, cfg: TrainConfig, tmp: Path, shape: tuple[int, int, int]) -> None:
    """The export's files into ``tmp``: a LoRA's adapters (its header records the base model and
    task), else ``trainable.safetensors`` and the task's runtime folder."""
    if cfg.lora.enabled:
        from video.training.lora import export_lora

        export_lora(task.model, tmp, cfg)
        return
    from safetensors.torch import save_file

    save_file({k: v.contiguous().cpu() for k, v in weights.items()}, str(tmp / "trainable.safetensors"))
    task.export(tmp, weights, shape)


def _write_preview(task, cfg: TrainConfig, item, run: Path, step: int, shape: tuple[int, int, int]) -> str | None:
    """Render the first item (``item(0)``: the trainer's :class:`ItemLoader`, so an unreadable
    file is replaced by the next readable item with a warning, as in training) with the model as
    it is now, at ``shape`` (frames, height, width), to ``samples/step_N.mp4``. A preview that
    fails (no readable item, a write error) is a warning, not an error: the checkpoint or the
    ``final/`` export before it is whole, and a finished run must not exit non-zero (a rerun
    would not render it again, and ``stage && stage`` chains would stop)."""
    from video.media import write_video
    from video.training.loading import unreadable_errors

    target = run / "samples" / f"step_{step:07d}.mp4"
    try:
        clip = task.preview(item(0), *shape)
        if clip is None:
            return None
        return str(write_video(clip, target, fps=cfg.data.fps))
    except (ValueError, *unreadable_errors()) as e:
        say(f"warning: no preview {target} at step {step}: {' '.join(str(e).split()) or type(e).__name__}")
        return None
