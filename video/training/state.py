"""What makes a run resumable bit for bit: the data order, the EMA, and atomic checkpoints
that hold model, EMA, optimizer, scheduler, step, data position and RNG together
(torchtitan's checkpointer plus the EMA and RNG it lacks)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from video.atomic import atomic_folder


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
            if self.pos == self.n:
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


class EMA:
    """Exponential moving average of parameters (kept in float32)."""

    def __init__(self, params: dict[str, torch.Tensor], decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().float().clone() for k, v in params.items()}

    @torch.no_grad()
    def update(self, params: dict[str, torch.Tensor]) -> None:
        for k, v in params.items():
            self.shadow[k].lerp_(v.detach().float(), 1 - self.decay)


def save_checkpoint(folder: Path, model_sd: dict, ema: EMA | None, optimizer, scheduler, meta: dict) -> Path:
    """Write ``folder`` whole or not at all: a temporary sibling folder, then a rename."""
    with atomic_folder(folder) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in model_sd.items()}, str(tmp / "model.safetensors"))
        if ema is not None:
            save_file({k: v.contiguous().cpu() for k, v in ema.shadow.items()}, str(tmp / "ema.safetensors"))
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp / "optim.pt")
        save_file({"cpu": torch.get_rng_state()}, str(tmp / "rng.safetensors"))
        (tmp / "state.json").write_text(json.dumps(meta, indent=2))
    return folder


def load_checkpoint(folder: Path) -> dict:
    """Tensors from safetensors; optimizer state with ``weights_only=True`` (no arbitrary unpickling)."""
    out = {"model": load_file(str(folder / "model.safetensors")), "meta": json.loads((folder / "state.json").read_text()),
           "rng": load_file(str(folder / "rng.safetensors"))["cpu"]}
    if (folder / "ema.safetensors").is_file():
        out["ema"] = load_file(str(folder / "ema.safetensors"))
    if (folder / "optim.pt").is_file():
        out["optim"] = torch.load(folder / "optim.pt", weights_only=True)
    return out


def latest_checkpoint(run: Path) -> Path | None:
    ckpts = sorted((run / "checkpoints").glob("step_*")) if (run / "checkpoints").is_dir() else []
    return ckpts[-1] if ckpts else None
