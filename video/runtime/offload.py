"""Model offload: only the part of the pipeline in use lives on the accelerator.

SVD runs its parts one after another (image encoder, VAE encoder, UNet for every step, VAE
decoder), so at any moment one of them is needed. Each part's weights stay in host memory
(pinned when CUDA is there, so the copy up is asynchronous); ``use(name)`` copies that part up,
and leaving it points its parameters back at the host copies, which frees the device copy
without a copy down (the weights did not change). The UNet moves once per video, not per
step: about 2.8 GiB each way for SVD-XT in float16.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

OFFLOAD_MODES = ("none", "model")


def _tensors(modules: list[torch.nn.Module]) -> list[torch.Tensor]:
    seen, out = set(), []
    for m in modules:
        for t in (*m.parameters(), *m.buffers()):
            if id(t) not in seen:
                seen.add(id(t))
                out.append(t)
    return out


CPU_ALIGNMENT = 64  # bytes: torch's CPU allocator's alignment, and the widest (AVX-512) vector load


def align_cpu_weights(modules: list[torch.nn.Module], alignment: int = CPU_ALIGNMENT) -> int:
    """Give every CPU weight whose data does not start on an ``alignment``-byte boundary a fresh
    (aligned) allocation of its own; returns how many moved. Values do not change.

    Why: the CPU matmul kernels (oneDNN / MKL) take another path for misaligned operands, whose
    sums differ in the last bit. The diffusers and transformers loaders hand back most weights in
    buffers that start 8 to 56 bytes past a 64-byte boundary (on the tiny model 397 of the UNet's
    424 tensors, all 40 of the CLIP encoder's), while every copy torch makes (offload's device
    copies, a ``.to("cuda")``) starts aligned; so on CPU ``offload="model"`` computed with the same
    numbers at other addresses, and its CLIP embedding differed by 2.4e-7 (1.2e-4 in the latents
    after two steps). With every weight aligned both paths run the same kernels and give the same
    bits. Each weight has its own buffer, so this holds one extra tensor at a time, not a copy of
    the model.
    """
    moved = 0
    for t in _tensors(modules):
        if t.device.type == "cpu" and t.numel() and t.data_ptr() % alignment:
            t.data = t.data.clone()
            moved += 1
    return moved


class ModelOffload:
    """Parts (name -> modules) kept on the host, each on ``device`` only inside ``use(name)``.

    ``events`` records ("load"|"unload", name) in order, so the schedule can be checked on any
    device; ``resident()`` names the parts whose weights are on the device now.
    """

    def __init__(self, parts: dict[str, list[torch.nn.Module]], device: str | torch.device):
        self.device = torch.device(device)
        self.pinned = self.device.type == "cuda"
        self.parts = parts
        self.home: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self.events: list[tuple[str, str]] = []
        self._active: set[str] = set()
        for name in parts:
            self._adopt(name)

    def _adopt(self, name: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Give every tensor of a part a host copy (also tensors added since, e.g. LoRA layers)."""
        pairs = self.home.setdefault(name, [])
        known = {id(t) for t, _ in pairs}
        for t in _tensors(self.parts[name]):
            if id(t) not in known:
                host = t.data if t.device.type == "cpu" else t.data.to("cpu")
                if self.pinned:
                    host = host.pin_memory()
                t.data = host
                pairs.append((t, host))
        return pairs

    def resident(self) -> set[str]:
        return set(self._active)

    def load(self, name: str) -> None:
        if name in self._active:
            return
        for t, host in self._adopt(name):
            # a real copy also on a CPU "device", so the schedule is exercised the same way everywhere
            t.data = host.to(self.device, non_blocking=self.pinned, copy=True)
        self._active.add(name)
        self.events.append(("load", name))

    def unload(self, name: str) -> None:
        if name not in self._active:
            return
        for t, host in self.home[name]:
            t.data = host  # the host copy is current: weights are not trained here
        self._active.discard(name)
        self.events.append(("unload", name))

    @contextlib.contextmanager
    def use(self, name: str) -> Iterator[None]:
        """Only ``name`` on the device while the block runs."""
        for other in list(self._active):
            if other != name:
                self.unload(other)
        self.load(name)
        try:
            yield
        finally:
            self.unload(name)

    def close(self) -> None:
        """Put every part back on the device for good (ending the low-memory mode)."""
        for pairs in self.home.values():
            for t, host in pairs:
                t.data = host.to(self.device, copy=True)
        self._active.clear()
        self.home.clear()


def svd_parts(models) -> dict[str, list[torch.nn.Module]]:
    """The four parts SVD runs in turn; together they hold every weight of the pipeline."""
    vae = models.vae
    encoder = [vae.encoder] + ([vae.quant_conv] if getattr(vae, "quant_conv", None) is not None else [])
    decoder = [vae.decoder] + ([vae.post_quant_conv] if getattr(vae, "post_quant_conv", None) is not None else [])
    return {"image_encoder": [models.image_encoder], "vae_encoder": encoder, "unet": [models.unet],
            "vae_decoder": decoder}


class NoOffload:
    """The same interface with everything resident: the default, exact path."""

    events: tuple = ()

    @contextlib.contextmanager
    def use(self, name: str) -> Iterator[None]:
        yield

    def close(self) -> None:
        pass
