"""What makes a run resumable bit for bit: the data order, the noise, the EMA, and atomic
checkpoints that hold model, EMA, optimizer, scheduler, step, data position and RNG together
(torchtitan's checkpointer plus the EMA and RNG it lacks).

Two checkpoint formats, one folder layout: tensors in safetensors, everything else
(optimizer hyperparameters, scheduler, step, data position) in ``state.json``, the RNG in
``rng.safetensors``; no file is a pickle, so resuming from a downloaded run folder executes
nothing. When every rank holds the whole model (one process, DDP) rank 0 writes
``model``/``ema``/``optim.safetensors``; when FSDP2 shards it, each rank writes its own shards
through ``torch.distributed.checkpoint`` (DCP) with its safetensors storage to ``shards/``, so
no rank ever gathers the full model or optimizer.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from video.atomic import atomic_folder
from video.training.disk_full import room_errors


class ResumableOrder:
    """Sample indices epoch by epoch, each epoch a permutation seeded by (seed, epoch), so
    the order after a restart is a function of the position alone."""

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self.epoch, self.pos = 0, 0
        self._perm = self._permutation()

    def _permutation(self) -> list[int]:
        g = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        return torch.randperm(self.n, generator=g).tolist()

    def take(self, k: int) -> list[int]:
        out = []
        while len(out) < k:
            if self.pos >= self.n:  # >: a resume on a dataset that shrank starts the next epoch
                self.epoch, self.pos = self.epoch + 1, 0
                self._perm = self._permutation()
            out.append(self._perm[self.pos])
            self.pos += 1
        return out

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, s: dict) -> None:
        self.epoch, self.pos = int(s["epoch"]), int(s["pos"])
        self._perm = self._permutation()


def noise_generator(seed: int, step: int, slot: int) -> torch.Generator:
    """The generator for micro-batch ``slot`` of ``step``: slots count through the global batch
    (micro-batch x world + rank), so with one ``batch_size`` the noise of a step does not depend
    on how its micro-batches are split over processes and accumulation (2 processes draw what one
    process with twice the grad_accum draws), and resuming needs no generator state. A micro-batch
    draws its items' noise together: another ``batch_size`` for the same global batch draws other noise."""
    key = hashlib.blake2b(f"{seed}:{step}:{slot}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(key, "little") & (2**63 - 1))


class EMA:
    """Exponential moving average of parameters (kept in float32), with the usual warm-up: update
    ``n`` (from 0) uses ``min(decay, (1 + n) / (10 + n))``. Without it a short stage's average is
    mostly its starting weights (0.999 over 100 steps keeps 90% of them); with it the early
    updates move the average fast and ``decay`` takes over after about 10 / (1 - decay) updates.
    ``updates`` is part of a checkpoint (``state.json``), so a resumed run averages the same."""

    def __init__(self, params: dict[str, torch.Tensor], decay: float):
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().float().clone() for k, v in params.items()}

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, params: dict[str, torch.Tensor]) -> None:
        weight = 1 - self.current_decay()
        for k, v in params.items():  # sharded parameters give sharded shadows: each rank its part
            self.shadow[k].lerp_(v.detach().float(), weight)
        self.updates += 1


SHARDS = "shards"  # a sharded checkpoint's tensors: one safetensors file per rank


def _tensors_and_rest(d: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Split a flat dict into its tensors (for safetensors) and everything else (for JSON):
    a checkpoint holds no pickle, so one downloaded from elsewhere is safe to resume."""
    tensors = {k: v for k, v in d.items() if isinstance(v, torch.Tensor)}
    return tensors, {k: v for k, v in d.items() if k not in tensors}


def _write_common(tmp: Path, rng_states: list[torch.Tensor], meta: dict) -> None:
    save_file({"cpu": rng_states[0].clone(), **{f"cpu_rank{r}": s for r, s in enumerate(rng_states)}},
              str(tmp / "rng.safetensors"))
    (tmp / "state.json").write_text(json.dumps(meta, indent=2))


def save_checkpoint(folder: Path, model_sd: dict, ema: EMA | None, optimizer, scheduler, meta: dict,
                    rng_states: list[torch.Tensor] | None = None, weights_metadata: dict[str, str] | None = None) -> Path:
    """Write ``folder`` whole or not at all: a temporary sibling folder, then a rename.
    Optimizer tensors go to ``optim.safetensors`` keyed ``<param id>.<name>``; its
    hyperparameters, the scheduler and the step to ``state.json``.
    ``rng_states``: each rank's CPU RNG state (default: this process's).
    ``weights_metadata``: the safetensors header of ``model``/``ema.safetensors``, so a weights
    file copied out of the folder still says how to read it (a LoRA's alpha)."""
    osd = optimizer.state_dict()
    tensors, rest = _tensors_and_rest({f"{pid}.{name}": v for pid, s in osd["state"].items() for name, v in s.items()})
    meta = {**meta, "optimizer": {"param_groups": osd["param_groups"], "state": rest},
            "scheduler": scheduler.state_dict(), "format": "whole"}
    # a full disk: one line naming the folder and the checkpoint a rerun resumes from (not "damaged")
    with room_errors(folder.parent.parent, folder), atomic_folder(folder, replace="any") as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in model_sd.items()}, str(tmp / "model.safetensors"),
                  metadata=weights_metadata)
        if ema is not None:
            save_file({k: v.contiguous().cpu() for k, v in ema.shadow.items()}, str(tmp / "ema.safetensors"),
                      metadata=weights_metadata)
        save_file({k: v.contiguous().cpu() for k, v in tensors.items()}, str(tmp / "optim.safetensors"))
        _write_common(tmp, rng_states or [torch.get_rng_state()], meta)
    return folder


def _sharded_state(model, optimizer, ema: EMA | None, lora: bool) -> tuple[dict, dict, object]:
    """(tensors as DCP saves and loads them, the optimizer's non-tensor fields, load options).
    The optimizer state is flattened to ``state.<fqn>.<name>`` / ``param_groups.<fqn>.<key>``
    so its tensors and its hyperparameters can part ways."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    # LoRA: the frozen base is rebuilt from the config on resume, as in the whole-model format
    options = StateDictOptions(ignore_frozen_params=lora, flatten_optimizer_state_dict=True)
    model_sd, optim_sd = get_state_dict(model, optimizer, options=options)
    optim_tensors, optim_fields = _tensors_and_rest(optim_sd)
    state = {"model": model_sd, "optim": optim_tensors}
    if ema is not None:
        state["ema"] = ema.shadow
    return state, optim_fields, StateDictOptions(ignore_frozen_params=lora, strict=not lora,
                                                 flatten_optimizer_state_dict=True)


def _hf_storage():
    """DCP's safetensors storage (torch >= 2.8): each rank's shards in one safetensors file whose
    header carries the shard offsets, instead of DCP's default pickled ``.metadata``."""
    try:
        from torch.distributed.checkpoint.hf_storage import HuggingFaceStorageReader, HuggingFaceStorageWriter
    except ImportError as e:
        raise RuntimeError(f"parallel=fsdp checkpoints need torch>=2.8 (safetensors DCP storage); "
                           f"this is torch {torch.__version__}: upgrade torch or use parallel=ddp") from e
    return HuggingFaceStorageWriter, HuggingFaceStorageReader


def save_sharded_checkpoint(folder: Path, model, optimizer, scheduler, ema: EMA | None, meta: dict,
                            rng_states: list[torch.Tensor], lora: bool = False) -> Path:
    """Collective (call on every rank): each rank writes its shards of model, optimizer and EMA
    with DCP to ``shards/`` (safetensors) in a temporary folder that rank 0 created; rank 0 adds
    the optimizer's hyperparameters, scheduler, step, data position and RNG (JSON, safetensors),
    and renames the folder once every rank's part is on disk."""
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp

    from video.training import distributed

    writer, _ = _hf_storage()
    state, optim_fields, _ = _sharded_state(model, optimizer, ema, lora)

    def write_shards(tmp: Path) -> None:  # returns once every rank's file is written
        dcp.save(state, storage_writer=writer(str(tmp / SHARDS), save_distributed=True))

    if dist.get_rank() == 0:
        with room_errors(folder.parent.parent, folder), atomic_folder(folder, replace="any") as tmp:
            distributed.broadcast(str(tmp))
            write_shards(tmp)
            meta = {**meta, "optimizer": optim_fields, "scheduler": scheduler.state_dict(), "format": "sharded"}
            _write_common(tmp, rng_states, meta)
    else:
        write_shards(Path(distributed.broadcast(None)))
    distributed.barrier()  # nobody goes on (or looks for the latest checkpoint) before the rename
    return folder


def sharded_checkpoint_has_ema(folder: Path) -> bool:
    """Whether a sharded checkpoint holds an EMA (its run had ``ema_decay`` > 0): read from the
    shards' safetensors headers, which name every tensor DCP wrote."""
    _, reader = _hf_storage()
    return any(k.startswith("ema.") for k in reader(str(folder / SHARDS)).read_metadata().state_dict_metadata)


def load_sharded_checkpoint(folder: Path, model, optimizer, scheduler, ema: EMA | None, lora: bool = False) -> dict:
    """Collective: read a sharded checkpoint into the (sharded or whole) model, optimizer and
    EMA in place, and the scheduler; returns the checkpoint's ``state.json``. DCP reshards on
    load (each file's header says which slice it holds), so the number of processes may differ
    from the run that wrote it. A checkpoint without an EMA (a run that had none) leaves ``ema``
    as it is: the caller starts it from the loaded weights, as the whole-model format does."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import set_state_dict

    _, reader = _hf_storage()
    if ema is not None and not sharded_checkpoint_has_ema(folder):
        ema = None
    state, _, options = _sharded_state(model, optimizer, ema, lora)
    with warnings.catch_warnings():  # one process reading every rank's shards is meant, not a slip
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        dcp.load(state, storage_reader=reader(str(folder / SHARDS)))
    meta = json.loads((folder / "state.json").read_text())
    set_state_dict(model, optimizer, model_state_dict=state["model"],
                   optim_state_dict={**state["optim"], **meta["optimizer"]}, options=options)
    scheduler.load_state_dict(meta["scheduler"])
    return meta


def is_sharded_checkpoint(folder: Path) -> bool:
    return (folder / SHARDS).is_dir()


def load_rng(folder: Path, rank: int = 0) -> torch.Tensor:
    """This rank's CPU RNG state (rank 0's when the checkpoint was written by fewer ranks)."""
    states = load_file(str(folder / "rng.safetensors"))
    return states.get(f"cpu_rank{rank}", states["cpu"])


class DamagedCheckpoint(ValueError):
    """A checkpoint folder with a file missing, truncated or unreadable (a disk filled during the
    save, a copy cut short): one line naming the folder and the checkpoint to resume from once it
    is removed (a ValueError: ``video train`` says it in one line)."""


def damaged_note(folder: Path, what: str) -> str:
    """The message of :class:`DamagedCheckpoint`: ``folder``, what is wrong (``what``), and the
    way out: remove it to resume from the checkpoint before it, or from step 0 when none is."""
    before = [c for c in checkpoints(folder.parent.parent) if c.name < folder.name]
    then = f"resume from {before[-1].name}" if before else "start the run again from step 0"
    return f"checkpoint {folder} is damaged ({what}): remove it to {then}"


def _checkpoint_files(folder: Path) -> list[Path]:
    """The safetensors files a resume from ``folder`` reads (the EMA only when there is one)."""
    if is_sharded_checkpoint(folder):
        return [folder / "rng.safetensors", *sorted((folder / SHARDS).glob("*.safetensors"))]
    older = (folder / "optim.pt").is_file()  # an older version's pickle: load_checkpoint says so
    return [folder / n for n in ("model.safetensors", *([] if older else ["optim.safetensors"]), "rng.safetensors")] \
        + ([folder / "ema.safetensors"] if (folder / "ema.safetensors").exists() else [])


def check_checkpoint(folder: Path) -> None:
    """Raise :class:`DamagedCheckpoint` unless ``folder``'s ``state.json`` is a JSON object and
    every safetensors file a resume reads is there with a whole header (safetensors checks the
    header against the file's size: a truncated file is caught without reading its tensors).
    Called before a resume writes anything: a damaged latest checkpoint was ``[Errno 2] ...
    state.json`` or "a .safetensors file is damaged; --debug shows which"."""
    from safetensors import SafetensorError, safe_open

    try:
        meta = json.loads((folder / "state.json").read_text())
    except FileNotFoundError:
        raise DamagedCheckpoint(damaged_note(folder, "state.json: missing")) from None
    except (OSError, ValueError) as e:
        raise DamagedCheckpoint(damaged_note(folder, f"state.json: {' '.join(str(e).split())}")) from None
    if not isinstance(meta, dict) or "step" not in meta:
        raise DamagedCheckpoint(damaged_note(folder, "state.json: no step recorded"))
    if is_sharded_checkpoint(folder) and not any((folder / SHARDS).glob("*.safetensors")):
        raise DamagedCheckpoint(damaged_note(folder, f"{SHARDS}/: no shard files"))
    for path in _checkpoint_files(folder):
        what = path.relative_to(folder)
        if not path.is_file():
            raise DamagedCheckpoint(damaged_note(folder, f"{what}: missing"))
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except (OSError, SafetensorError) as e:
            raise DamagedCheckpoint(damaged_note(folder, f"{what}: {' '.join(str(e).split())}")) from None


def load_checkpoint(folder: Path) -> dict:
    """A whole-model checkpoint from safetensors and JSON only (nothing is unpickled); ``optim``
    holds ``optimizer.state_dict()`` rebuilt as ``load_state_dict`` takes it, and the scheduler's."""
    if (folder / "optim.pt").is_file() and not (folder / "optim.safetensors").is_file():
        raise ValueError(f"{folder} was written by an older version (optimizer state in optim.pt, a pickle); "
                         "start a new run with init_from= pointing at it, or resume with that version")
    from safetensors import SafetensorError

    check_checkpoint(folder)
    meta = json.loads((folder / "state.json").read_text())
    try:
        out = {"model": load_file(str(folder / "model.safetensors")), "meta": meta, "rng": load_rng(folder)}
        if (folder / "ema.safetensors").is_file():
            out["ema"] = load_file(str(folder / "ema.safetensors"))
        optim = load_file(str(folder / "optim.safetensors"))
    except (OSError, SafetensorError) as e:  # damaged past the header the check read
        raise DamagedCheckpoint(damaged_note(folder, " ".join(str(e).split()))) from None
    state: dict[int, dict] = {}
    for key, v in [*optim.items(), *meta["optimizer"]["state"].items()]:
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    out["optim"] = {"optimizer": {"state": state, "param_groups": meta["optimizer"]["param_groups"]},
                    "scheduler": meta["scheduler"]}
    return out


def prune_checkpoints(run: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest ``step_*`` checkpoints of ``run`` (called after a new
    one is whole, so a crash never leaves fewer than ``keep`` to resume from); returns the
    deleted folders. At SVD-XT size each holds model, EMA and optimizer: tens of GB."""
    import shutil

    old = checkpoints(run)[:-keep] if keep > 0 else []
    for p in old:
        shutil.rmtree(p)
    remove_partial_checkpoints(run)
    return old


def remove_partial_checkpoints(run: Path) -> list[Path]:
    """Delete the unfinished ``.step_*.partial`` checkpoint folders (and ``.final.*.partial``
    export) a killed save left in ``run``; call it only when no save of this run is under way
    (at the start, rank 0; after a checkpoint is whole). Each can be as large as a checkpoint."""
    import shutil

    stale = [*sorted((run / "checkpoints").glob(".step_*.partial")), *sorted(run.glob(".final.*.partial"))]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    return stale


def checkpoints(run: Path) -> list[Path]:
    """The whole ``step_*`` checkpoints of ``run``, oldest first (unfinished ones are hidden
    ``.step_*.partial`` folders, which the pattern leaves out)."""
    return sorted((run / "checkpoints").glob("step_*")) if (run / "checkpoints").is_dir() else []


def latest_checkpoint(run: Path) -> Path | None:
    ckpts = checkpoints(run)
    return ckpts[-1] if ckpts else None
