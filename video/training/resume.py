"""What a rerun of ``video train`` finds in its run folder and how it goes on: whether
``final/`` already holds this step of this config (a finished command run again is not
exported again), the config a checkpoint was trained with, which changed settings a resume
takes (and which it warns of or refuses: the model, the data order, the global batch), and the
optimizer settings a resume applies over the checkpoint's; and the lock that keeps a second
``video train`` off a run folder in use (:class:`RunLock`). The loop that calls them is
:mod:`video.training.trainer`."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import torch

from video.atomic import try_lock
from video.config import to_dict
from video.training.config import TrainConfig

TRAINED = "trained.json"  # in final/: the step and config the export holds
LOCK = ".train.lock"  # in the run folder while a run trains there: the holder's pid

class RunBusy(ValueError):
    """Another process trains in this run folder now (a ValueError: ``video train`` says it in one line)."""


class RunLock:
    """An exclusive ``flock`` on ``RUN/.train.lock`` held while a run trains there. Two runs of
    one ``out=`` at once pruned each other's checkpoints mid-load and interleaved their
    ``metrics.jsonl``; the second now stops before it touches the folder. The kernel drops the
    lock when its process dies however it dies, so a lock file a killed run left never blocks
    (its pid is only what the message names). Where flock is missing or refused (Windows, some
    network filesystems) the run goes on unguarded with a warning. Folders made only to hold
    the lock are removed again when the run leaves nothing else in them (a run whose data or
    model fails leaves no folder)."""

    def __init__(self, run: Path):
        self.run, self.path = run, run / LOCK
        self.fd: int | None = None
        self.made = [p for p in (run, *run.parents) if not p.exists()]  # deepest first

    def acquire(self) -> RunLock:
        """Take the lock or raise :class:`RunBusy` naming the holder's pid. A full disk (the
        pid's write, a folder made) is one line (:class:`video.training.disk_full.NoRoom`),
        with the lock file and the folders made for it removed again."""
        from video.training.disk_full import room_errors

        try:
            with room_errors(self.run, self.path):
                return self._acquire()
        except BaseException:
            self.release()  # the file written half, its descriptor, the folders made: none left behind
            raise

    def _acquire(self) -> RunLock:
        self.run.mkdir(parents=True, exist_ok=True)
        while self.fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            taken = try_lock(fd)
            if taken is None:
                os.close(fd)
                print(f"warning: {self.path} cannot be locked here (no flock on this system or filesystem): "
                      "nothing stops a second `video train` with this out= at the same time", file=sys.stderr)
                return self
            if not taken:
                holder = _read_pid(fd)
                os.close(fd)
                self.release()  # the folders this call made, if empty (the holder's file is in them)
                raise RunBusy(f"{self.run} is being trained by another process"
                              f"{f' (pid {holder})' if holder else ''}: wait for it to end, or use another out=")
            if _same_file(fd, self.path):  # not a file its last holder unlinked after we opened it
                self.fd = fd  # held: release() unlinks and closes it, also when the write fails
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            else:
                os.close(fd)
        return self

    def release(self) -> None:
        """Unlink the lock file while still holding it (a process that opened it meanwhile sees it
        is gone and opens the new one), drop the lock, and remove the folders made for it if empty."""
        if self.fd is not None:
            try:
                self.path.unlink()
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None
        for folder in self.made:
            try:
                folder.rmdir()
            except OSError:  # not empty (the run wrote there), or gone
                break

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    here = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino)


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def final_is_current(run: Path, cfg: TrainConfig, step: int) -> bool:
    """Whether ``final/`` already holds this step of this config (a rerun of a finished command)."""
    import json

    marker = run / "final" / TRAINED
    try:
        done = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    config = done.get("config") if isinstance(done, dict) else None
    changed = changed_keys(config, cfg) if isinstance(config, dict) else None
    return changed is not None and done.get("step") == step and not set(changed) - set(BOOKKEEPING_KEYS)


# How often a run saves and how many checkpoints it keeps: no setting of what is trained, so a
# finished run whose config changes only these is current, and a resume with nothing left to
# train does not list them (quickstart gave its stages periodic checkpoints)
BOOKKEEPING_KEYS = ("ckpt_every", "ckpt_keep")


def existing_outputs(run: Path, step: int) -> dict:
    out = {"final": str(run / "final")}
    preview = run / "samples" / f"step_{step:07d}.mp4"
    if preview.is_file():
        out["preview"] = str(preview)
    return out


def checkpoint_meta(ck: Path) -> dict:
    import json

    return json.loads((ck / "state.json").read_text())


def data_change_note(meta: dict, now: dict) -> str | None:
    """One warning when the data a resume trains on (``now``:
    :func:`video.training.data_record.data_fingerprint`) is not what the checkpoint whose
    ``state.json`` is ``meta`` trained on: a re-curated manifest resumed with 4 of its 7 clips
    and said nothing. Not a refusal: data may be added on purpose. None when they agree, or
    for a checkpoint that records none (written before it was recorded)."""
    recorded = meta.get("data")
    if not recorded or recorded == now:
        return None
    was, have = recorded.get("items"), now["items"]
    return (f"warning: the data changed since step {meta['step']}: {was} -> {have} items"
            + (" (other items than before)" if was == have else "") + "; the resume trains on it as it is now")


def config_of(run: Path, ck: Path) -> dict | None:
    """The config the steps up to checkpoint ``ck`` ran with: its own record, else (checkpoints
    written before they kept one) the ``config.until_<ck>.yaml`` an interrupted resume set
    aside (``config.yaml`` then already holds that resume's new settings), else ``config.yaml``.
    The first read of the checkpoint a resume takes: a damaged one (a file missing or truncated)
    is refused here, naming it and the checkpoint before it (:func:`check_checkpoint`)."""
    from video.config import read_config_file
    from video.training.state import check_checkpoint

    check_checkpoint(ck)
    recorded = checkpoint_meta(ck).get("config")
    if recorded is not None:
        return recorded
    if (run / f"config.until_{ck.name}.yaml").is_file():
        return read_config_file(run / f"config.until_{ck.name}.yaml")  # ${...} in a saved text stays text
    if (run / "config.yaml").is_file():
        return read_config_file(run / "config.yaml")
    return None


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# On resume, keys changed since the checkpoint: what the model is (refused: the checkpoint holds
# another model, or LoRA adapters for another base); the optimizer's settings (applied to the
# restored optimizer and schedule); what decides the data order and batch shapes (applied, and
# said to break the match with an uninterrupted run). Any other key is applied as it is.
LOCATION_KEYS = ("out",)  # where the run folder is, not how it trains: never a change
MODEL_KEYS = ("task", "model", "lora.")
OPTIM_KEYS = ("optim.lr", "optim.betas", "optim.weight_decay", "optim.warmup_steps")
ORDER_KEYS = ("seed", "epochs", "data.")  # batch_size and grad_accum: see _global_batch_note


def _global_batch_note(old: tuple[int, int, int], new: tuple[int, int, int], step: int) -> str | None:
    """The line to print when a resume splits its steps differently: ``old`` / ``new`` are
    (batch_size, processes, grad_accum). Each step takes their product of items from the data
    order, so a changed product moves every later step onto other items (a warning); the same
    product with another batch_size takes the same items but draws their noise in other
    micro-batches (a note); only processes traded for accumulation reproduces the run (None)."""
    def said(s: tuple[int, int, int]) -> str:
        return f"{s[0] * s[1] * s[2]} (batch_size {s[0]} x {s[1]} processes x grad_accum {s[2]})"

    if old[0] * old[1] * old[2] != new[0] * new[1] * new[2]:
        return (f"warning: the global batch changed from {said(old)} to {said(new)}: the data order from step {step} "
                "on differs from an uninterrupted run's (the checkpoint's data position is reused as it is)")
    if old[0] != new[0]:
        return (f"note: the global batch stays {said(new)} (was {said(old)}): the same items per step, but their "
                "noise is drawn per micro-batch, so the losses differ from an uninterrupted run's")
    return None


def _matches(key: str, keys: tuple[str, ...]) -> bool:
    return any(key == k or (k.endswith(".") and key.startswith(k)) for k in keys)


PATH_KEYS = ("model", "init_from", "data.path", "data.image_path")  # may name one file in several spellings


def _same(key: str, old, new) -> bool:
    """Whether a key's value is unchanged: equal, or for a path key two spellings of one existing
    file or folder (``runs/x``, ``./runs/x``, its absolute path, a symlink to it; for
    ``init_from`` a run folder and its ``final/`` too, the weights it names). A value that is
    not an existing path (a built-in model name such as ``tiny``) compares as the string it is."""
    if old == new:
        return True
    if key not in PATH_KEYS or not (isinstance(old, str) and isinstance(new, str) and old and new):
        return False
    a, b = Path(old).expanduser(), Path(new).expanduser()
    pairs = [(a, b)]
    if key == "init_from":  # a run folder and its final/ name the same weights (init_from.init_source)
        pairs += [(a / "final", b), (a, b / "final")]
    for x, y in pairs:
        try:
            if os.path.samefile(x, y):
                return True
        except OSError:  # either is not there: only the strings can be compared
            continue
    return False


def changed_keys(before: dict, cfg: TrainConfig, keys: tuple[str, ...] | None = None) -> dict[str, tuple]:
    """{dotted key: (before, now)} of the keys (all, or those under ``keys``) that differ; a key
    the earlier config lacks (added to the schema since) has its default, not a change. ``out``
    is where the run is, not a setting of it: a copied or moved run folder has changed nothing.
    A path spelled another way (relative, ``./``, absolute) that names the same existing file
    is no change either (:func:`_same`)."""
    old, new = _flat(before), _flat(to_dict(cfg))
    return {k: (old[k], v) for k, v in new.items()
            if k in old and not _same(k, old[k], v) and k not in LOCATION_KEYS and (keys is None or _matches(k, keys))}


def check_steps(cfg: TrainConfig, step: int) -> None:
    """Refuse a rerun whose ``steps`` is below the step its checkpoint is at: there is nothing to
    train, and going on re-exported ``final/`` with the checkpoint's step under a config that
    says fewer. One line naming a checkpoint to start from instead: that of step ``steps`` when
    it is kept, else the nearest kept one. Where ``epochs`` set the steps (fewer items, fewer
    steps) the line names the epochs the user gave."""
    from video.training.state import checkpoints

    if cfg.steps >= step:
        return
    kept = [(int(c.name[5:]), c) for c in checkpoints(Path(cfg.out)) if c.name[5:].isdigit()]
    at_or_below = [k for k in kept if k[0] <= cfg.steps]
    if at_or_below and at_or_below[-1][0] == cfg.steps:
        way = f"for step {cfg.steps}'s weights use init_from={at_or_below[-1][1]}"
    elif kept:
        near, folder = (at_or_below or kept)[-1 if at_or_below else 0]
        way = f"no checkpoint of step {cfg.steps} is kept; for step {near}'s weights use init_from={folder}"
    else:
        way = "start a new run with another out="
    asked = f"epochs={cfg.epochs} ({cfg.steps} steps)" if cfg.epochs > 0 else f"steps={cfg.steps}"
    raise ValueError(f"{asked} is below the checkpoint's step {step}: nothing to train; {way}")


def resume_changes(before: dict, cfg: TrainConfig, step: int, rank: int, world: int = 1,
                    old_world: int | None = None) -> TrainConfig:
    """Check and report what changed since the checkpoint we resume from; returns the config
    the run goes on with. ``steps`` below the checkpoint's step is refused first
    (:func:`check_steps`). ``init_from`` only seeds a new run (the checkpoint holds the weights,
    and a resume does not read it): a changed one is kept as it was, so ``config.yaml`` records
    what was used (LoRA: it is the frozen base, a model key). ``world`` / ``old_world``: the
    processes now and in the checkpoint's run (None: not recorded), for the global batch."""
    check_steps(cfg, step)
    cfg = _as_begun(before, cfg, step, rank)
    changed = changed_keys(before, cfg)
    if "init_from" in changed:
        if cfg.lora.enabled:
            changed["lora.base (init_from)"] = changed.pop("init_from")
        else:
            if rank == 0:
                print(f"init_from={cfg.init_from!r} is not used: resuming at step {step} from its checkpoint's "
                      f"weights (this run started from {before.get('init_from')!r})")
            cfg = replace(cfg, init_from=before.get("init_from", cfg.init_from))
            changed.pop("init_from")

    def listed(keys: list[str]) -> str:
        return ", ".join(f"{k} {changed[k][0]!r} -> {changed[k][1]!r}" for k in keys)

    model = [k for k in changed if _matches(k, MODEL_KEYS) or k.startswith("lora.base")]
    if model:
        raise ValueError(f"{cfg.out} was trained as another model up to step {step} ({listed(model)}): resume it "
                         "with the settings it had, or start a new run with another out=")
    if step >= cfg.steps:  # nothing is trained from here on: how it would save is no news
        changed = {k: v for k, v in changed.items() if k not in BOOKKEEPING_KEYS}
    if changed and rank == 0:
        print(f"resuming at step {step} with changed settings, applied from here on: {listed(list(changed))}")
        order = [k for k in changed if _matches(k, ORDER_KEYS)]
        if order:
            print(f"warning: {', '.join(order)} changed: the data order or batch shapes from step {step} on differ "
                  "from an uninterrupted run's, and the data position of the checkpoint is reused as it is")
    if rank == 0:
        old = _flat(before)
        split = (int(old.get("batch_size", cfg.batch_size)), world if old_world is None else int(old_world),
                 int(old.get("optim.grad_accum", cfg.optim.grad_accum)))
        note = _global_batch_note(split, (cfg.batch_size, world, cfg.optim.grad_accum), step)
        if note:
            print(note)
    return cfg


def _as_begun(before: dict, cfg: TrainConfig, step: int, rank: int) -> TrainConfig:
    """A run begun before ``data.clip_window`` (its config lacks the key) read each clip's first
    frames: it goes on so, with a note, not with the random windows the key's default now draws
    (a key missing from an old config counts as its default, so the switch went unsaid). One
    begun before ``data.weighted_captions`` read its captions in the prompt language: so it goes on."""
    data = before.get("data", {})
    from video.training.tasks import TASKS

    captioned = cfg.task in TASKS and TASKS[cfg.task].text_conditioned
    if "weighted_captions" not in data and not cfg.data.weighted_captions and captioned:
        # begun before data.weighted_captions: its captions went through the prompt language
        if rank == 0:
            print(f"note: this run began before data.weighted_captions: it goes on from step {step} reading its "
                  "captions' (brackets) and [brackets] as weights, as it began (a new run reads captions literally)")
        cfg = replace(cfg, data=replace(cfg.data, weighted_captions=True))
    if "clip_window" in data or cfg.data.clip_window == "start" or \
            "manifest" not in cfg.data.kind.split("+"):
        return cfg
    if rank == 0:
        print(f"note: this run began before data.clip_window: it goes on from step {step} with each clip's first "
              "frames, as it began (a new run draws a window across each clip)")
    return replace(cfg, data=replace(cfg.data, clip_window="start"))


def apply_optim_settings(cfg: TrainConfig, opt: torch.optim.Optimizer, sched) -> None:
    """After a restore: the config's lr, betas and weight decay replace the ones ``load_state_dict``
    brought back from the checkpoint, and the schedule (warm-up included) goes on from its step
    count with the new base lr."""
    o = cfg.optim
    for g in opt.param_groups:
        g.update(betas=tuple(o.betas), weight_decay=o.weight_decay, initial_lr=o.lr)
    sched.base_lrs = [o.lr for _ in opt.param_groups]
    for g, base, fn in zip(opt.param_groups, sched.base_lrs, sched.lr_lambdas, strict=True):
        g["lr"] = base * fn(sched.last_epoch)
