"""A latent cache for the DiT: VAE latents and text-encoder states computed once and stored in
safetensors shards, so training steps spend their time in the transformer.

``video cache-latents CONFIG [key=value] --out DIR`` writes ``DIR/shard_00000.safetensors``...
and ``DIR/index.json``; train from it with ``data.kind=cache data.path=DIR``. Shards are
written atomically and an interrupted build resumes at the first missing shard.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from video.atomic import atomic_file


@torch.no_grad()
def build_latent_cache(cfg, out: str | Path, shard_size: int = 64, progress: bool = True) -> Path:
    from video.training.data import collate
    from video.training.tasks import TASKS, make_dataset

    if cfg.task != "dit_t2v":
        raise ValueError("the latent cache is for task dit_t2v (the SVD task noises its conditioning frame per step)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    task = TASKS[cfg.task](cfg)
    data = make_dataset(cfg)
    n = len(data)
    shards = (n + shard_size - 1) // shard_size
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=shards, desc="cache", unit="shard")
    for s in range(shards):
        path = out / f"shard_{s:05d}.safetensors"
        if not path.is_file():
            items = [data[i] for i in range(s * shard_size, min(n, (s + 1) * shard_size))]
            batch = collate(items)
            latents = task.models.latents.encode(batch["video"].to(task.device).permute(0, 2, 1, 3, 4))
            context = torch.cat([task.prompts.encode_text(c) for c in batch["caption"]])
            with atomic_file(path) as tmp:
                save_file({"latents": latents.float().cpu().contiguous(), "context": context.float().cpu().contiguous(),
                           "fps": batch["fps"].float(), "motion": batch["motion"].float()}, str(tmp),
                          metadata={"captions": json.dumps(batch["caption"])})
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    with atomic_file(out / "index.json") as tmp:
        tmp.write_text(json.dumps({"items": n, "shard_size": shard_size, "shards": shards, "model": cfg.model,
                                   "data": {"kind": cfg.data.kind, "frames": cfg.data.frames,
                                            "height": cfg.data.height, "width": cfg.data.width}}, indent=2))
    return out


class LatentCache(torch.utils.data.Dataset):
    """Items of a latent cache: ``{"latents", "context", "caption", "fps", "motion"}``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        index = self.folder / "index.json"
        if not index.is_file():
            raise FileNotFoundError(f"{self.folder}: no index.json (build it with `video cache-latents`)")
        self.index = json.loads(index.read_text())
        self._shard: tuple[int, dict, list] | None = None

    def __len__(self) -> int:
        return self.index["items"]

    def _load(self, s: int) -> tuple[dict, list]:
        if self._shard is None or self._shard[0] != s:
            from safetensors import safe_open

            path = self.folder / f"shard_{s:05d}.safetensors"
            with safe_open(str(path), framework="pt") as f:
                captions = json.loads(f.metadata()["captions"])
            self._shard = (s, load_file(str(path)), captions)
        return self._shard[1], self._shard[2]

    def __getitem__(self, i: int) -> dict:
        size = self.index["shard_size"]
        tensors, captions = self._load(i // size)
        j = i % size
        return {"latents": tensors["latents"][j], "context": tensors["context"][j], "caption": captions[j],
                "fps": float(tensors["fps"][j]), "motion": float(tensors["motion"][j])}
