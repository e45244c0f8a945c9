"""The training loop: AdamW with warmup, gradient accumulation and clipping, optional bf16
autocast and EMA, non-finite steps skipped and counted, metrics to ``metrics.jsonl``, atomic
checkpoints that resume exactly (same data order, same RNG, same losses), a final export that
the runtime loads, and a preview clip.

Single process; ``torchrun`` (DDP/FSDP2) is a later layer around the same loop.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch
from omegaconf import OmegaConf

from video.config import to_dict
from video.training import distributed
from video.training.config import TrainConfig
from video.training.data import collate
from video.training.state import EMA, ResumableOrder, latest_checkpoint, load_checkpoint, save_checkpoint
from video.training.tasks import TASKS, make_dataset


def _trainable(model: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    return {k: p for k, p in model.named_parameters() if p.requires_grad}


def _truncate_metrics(path: Path, step: int) -> None:
    """On resume, drop the lines logged after the checkpoint we resume from."""
    if path.is_file():
        lines = [ln for ln in path.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
        path.write_text("".join(ln + "\n" for ln in lines))


def train(cfg: TrainConfig, progress: bool = True, stop_after: int | None = None) -> dict:
    """Run (or resume) ``cfg``; returns a summary. ``stop_after`` stops early at that step
    without the final export (an interruption, for tests)."""
    if cfg.task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {cfg.task!r}")
    rank, world = distributed.setup()
    run = Path(cfg.out)
    run.mkdir(parents=True, exist_ok=True)
    data = make_dataset(cfg)
    if cfg.epochs > 0:
        from video.training.kohya import epoch_steps

        per_step = cfg.batch_size * cfg.optim.grad_accum
        cfg = replace(cfg, steps=epoch_steps(len(data), cfg.epochs, per_step))
        print(f"steps = {len(data)} items x repeats x {cfg.epochs} epochs / {per_step} per step = {cfg.steps}")
    if rank == 0:
        OmegaConf.save(OmegaConf.create(to_dict(cfg)), run / "config.yaml")
    torch.manual_seed(cfg.seed)
    task = TASKS[cfg.task](cfg)
    if cfg.lora.enabled:
        from video.training.lora import add_lora, trainable_state

        add_lora(task.model, cfg.lora)
    model_state = (lambda: trainable_state(task.model)) if cfg.lora.enabled else task.model.state_dict
    params = _trainable(task.model)
    on_gpu = next(iter(params.values())).is_cuda
    opt = torch.optim.AdamW(params.values(), lr=cfg.optim.lr, betas=tuple(cfg.optim.betas),
                            weight_decay=cfg.optim.weight_decay, fused=True if on_gpu else None)
    warm = cfg.optim.warmup_steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) if warm else 1.0)
    ema = EMA(params, cfg.ema_decay) if cfg.ema_decay > 0 else None
    order = ResumableOrder(len(data), cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed + 1_000_003 * rank)  # each rank its own noise
    step, skipped = 0, 0
    metrics = run / "metrics.jsonl"

    ck = latest_checkpoint(run)
    if ck is not None:
        state = load_checkpoint(ck)
        task.model.load_state_dict(state["model"], strict=False)
        if ema is not None and "ema" in state:
            ema.shadow = {k: v.float() for k, v in state["ema"].items()}
        opt.load_state_dict(state["optim"]["optimizer"])
        sched.load_state_dict(state["optim"]["scheduler"])
        meta = state["meta"]
        step, skipped = meta["step"], meta["skipped"]
        order.load_state_dict(meta["order"])
        gen.set_state(load_checkpoint_rng(ck, rank))
        torch.set_rng_state(state["rng"])
        if rank == 0:
            _truncate_metrics(metrics, step)
    elif rank == 0:
        metrics.write_text("")
    distributed.barrier()

    steps = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    items = len(data)
    if hasattr(data, "describe") and rank == 0:
        print(data.describe())
    progress = progress and rank == 0
    if rank == 0:
        print(f"train {cfg.task}: {items} items, batch {cfg.batch_size} x {world} ranks x accum {cfg.optim.grad_accum}, "
              f"{cfg.steps} steps = {cfg.steps * cfg.batch_size * world * cfg.optim.grad_accum / items:.1f} epochs"
              + (f" (resuming at step {step})" if step else ""))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=step, desc="train", unit="step")
    autocast = torch.autocast("cuda" if on_gpu else "cpu", dtype=torch.bfloat16,
                              enabled=cfg.precision == "bf16")
    losses = []
    t_last = time.perf_counter()
    while step < steps:
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for _ in range(cfg.optim.grad_accum):
            # the global order is the single-process one; each rank takes every world-th item of it
            batch = collate([data[i] for i in order.take(cfg.batch_size * world)[rank::world]])
            with autocast:
                loss = task.loss(batch, gen).mean() / cfg.optim.grad_accum
            loss.backward()
            total += loss.item()
        distributed.average_gradients(params.values())
        total = distributed.mean(total)
        norm = torch.nn.utils.clip_grad_norm_(params.values(), cfg.optim.grad_clip or float("inf"))
        step += 1
        if not (math.isfinite(total) and math.isfinite(norm.item())):
            skipped += 1  # the data and RNG moved on; the weights did not
            opt.zero_grad(set_to_none=True)
            with warnings.catch_warnings():  # the schedule keeps counting steps, applied or not
                warnings.simplefilter("ignore", UserWarning)
                sched.step()
        else:
            opt.step()
            if ema is not None:
                ema.update(params)
            sched.step()
        losses.append(total)
        if rank == 0 and (step % cfg.log_every == 0 or step == steps):
            now = time.perf_counter()
            row = {"step": step, "loss": total, "lr": sched.get_last_lr()[0], "grad_norm": norm.item(),
                   "skipped": skipped, "sec_per_step": (now - t_last) / max(1, step % cfg.log_every or cfg.log_every)}
            t_last = now
            with metrics.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total:.4f}", skipped=skipped)
        if step % cfg.ckpt_every == 0 or step == cfg.steps:
            gens = distributed.gather(gen.get_state().tolist())
            if rank == 0:
                save_checkpoint(run / "checkpoints" / f"step_{step:07d}", model_state(), ema, opt, sched,
                                {"step": step, "skipped": skipped, "order": order.state_dict(), "gen": gens[0],
                                 "gen_ranks": gens})
            distributed.barrier()
        if rank == 0 and cfg.sample_every and step % cfg.sample_every == 0 and step < cfg.steps:
            _write_preview(task, cfg, data, run, step)  # own generator: the training RNG is untouched
    if bar is not None:
        bar.close()
    distributed.check_in_sync(params.values())
    summary = {"run": str(run), "step": step, "skipped": skipped, "losses": losses, "world": world}
    if step >= cfg.steps and rank == 0:
        from safetensors.torch import save_file

        final = run / "final"
        final.mkdir(parents=True, exist_ok=True)
        if cfg.lora.enabled:  # the adapters (EMA'd if on) in both layouts; the base model is not copied
            from video.training.lora import export_lora

            if ema is not None:
                with torch.no_grad():
                    for k, p in params.items():
                        p.copy_(ema.shadow[k].to(p.dtype))
            export_lora(task.model, final)
        else:
            weights = {k: v.detach().clone() for k, v in task.model.state_dict().items()}
            if ema is not None:
                weights.update({k: v.to(weights[k].dtype) for k, v in ema.shadow.items()})
            save_file({k: v.contiguous() for k, v in weights.items()}, str(final / "trainable.safetensors"))
            task.export(final, weights)
        preview = _write_preview(task, cfg, data, run, step)
        if preview is not None:
            summary["preview"] = preview
        summary["final"] = str(final)
    distributed.barrier()  # the other ranks return once rank 0 has written the export
    return summary


def _write_preview(task, cfg: TrainConfig, data, run: Path, step: int) -> str | None:
    """Render the first item's caption with the model as it is now to ``samples/step_N.mp4``."""
    from video.media import write_video

    d = cfg.data
    clip = task.preview(data[0]["caption"], d.frames, d.height, d.width)
    if clip is None:
        return None
    return str(write_video(clip, run / "samples" / f"step_{step:07d}.mp4", fps=d.fps))


def load_checkpoint_rng(ck: Path, rank: int = 0) -> torch.Tensor:
    meta = json.loads((ck / "state.json").read_text())
    gens = meta.get("gen_ranks") or [meta["gen"]]
    if rank >= len(gens):
        raise ValueError(f"{ck} was written by {len(gens)} ranks; resume with the same number of processes")
    return torch.tensor(gens[rank], dtype=torch.uint8)
