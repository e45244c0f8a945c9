"""The speed layer: switches that keep the output exact (within float rounding) and make the
same work run faster on a GPU.

``compile_blocks`` compiles a network's repeated blocks (the UNet's and the temporal VAE
decoder's; a transformer's) one by one rather than the whole graph: each distinct block shape compiles once, so cold start stays
short. ``CompileCache`` saves what inductor built (``torch.compiler.save_cache_artifacts``,
"Mega-Cache", torch >= 2.7) after the first compiled video and loads it in a later process
before compiling, so that process skips code generation and autotuning (a warm start). Where
those functions are missing, it points inductor's own on-disk cache (``TORCHINDUCTOR_CACHE_DIR``)
at the same folder instead. Artifacts are only valid for the same torch, Triton and GPU.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from video.models.blocks import repeated_blocks

# torch.compile modes we expose. "reduce-overhead" and "max-autotune" capture CUDA graphs around
# each compiled block (launch gaps go away; CUDA only); "max-autotune-no-cudagraphs" autotunes
# GEMM/conv kernels without graphs.
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
CUDAGRAPH_MODES = ("reduce-overhead", "max-autotune")
ARTIFACTS_FILE = "mega_cache.bin"


def uses_cudagraphs(mode: str | None) -> bool:
    return mode in CUDAGRAPH_MODES


def check_compile_mode(mode: str, device: torch.device) -> None:
    """A clear error for an unknown mode, or a CUDA-graph mode off CUDA."""
    if mode not in COMPILE_MODES:
        raise ValueError(f"unknown compile mode {mode!r}; choose one of {', '.join(COMPILE_MODES)}")
    if uses_cudagraphs(mode) and torch.device(device).type != "cuda":
        raise ValueError(f"compile mode {mode!r} captures CUDA graphs and needs a CUDA device; "
                         "use 'default' or 'max-autotune-no-cudagraphs' here")


def prepare_compile(pipe, mode: str, cache: str | Path | None) -> None:
    """What every pipeline's ``compile()`` does before compiling: refuse a bad mode (ValueError),
    load a compile cache's artifacts (``cache``: a folder or "auto"), and note whether the loop
    must mark CUDA-graph steps (``pipe.cudagraphs``)."""
    check_compile_mode(mode, pipe.device)
    if cache:
        pipe.compile_cache = CompileCache(cache)
        pipe.compile_cache.load()
    pipe.cudagraphs = uses_cudagraphs(mode)


def compile_blocks(targets: list[torch.nn.Module], mode: str | None = None) -> int:
    """Compile the repeated blocks of each target (a UNet, a VAE decoder, a transformer) in place;
    returns how many.

    ``dynamic=False``: shapes are fixed for a given clip size, and static shapes give inductor
    the most room to fuse the norm/activation and elementwise chains around the GEMMs. Calling it
    again with another mode recompiles (dynamo's caches are reset first, so the old mode's
    entries neither count against the recompile limit nor linger)."""
    mode = None if mode in (None, "default") else mode
    blocks = [blk for t in targets for blk in repeated_blocks(t)]
    if any(getattr(b, "_compiled_call_impl", None) is not None for b in blocks):
        torch._dynamo.reset()
    for blk in blocks:
        blk.compile(mode=mode, dynamic=False)
    return len(blocks)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/video/compile`` (``~/.cache/video/compile``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "video" / "compile"


class CompileCache:
    """Warm start across processes for everything compiled in this one.

    ``load()`` before compiling (returns whether artifacts were loaded); ``save()`` after the
    first compiled run (writes atomically; returns the path or None when nothing was compiled).
    """

    def __init__(self, folder: str | Path):
        self.folder = default_cache_dir() if str(folder) == "auto" else Path(folder).expanduser()
        self.mega = hasattr(torch.compiler, "save_cache_artifacts") and hasattr(torch.compiler, "load_cache_artifacts")
        self.saved = False
        self.loaded = False

    @property
    def artifacts(self) -> Path:
        return self.folder / ARTIFACTS_FILE

    def load(self) -> bool:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.mega:
            # inductor reads this when it first needs its cache, which is after this call
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(self.folder / "inductor"))
            self.loaded = any((self.folder / "inductor").glob("*"))
            return self.loaded
        if not self.artifacts.is_file():
            return False
        torch.compiler.load_cache_artifacts(self.artifacts.read_bytes())
        self.loaded = True
        return True

    def save(self) -> Path | None:
        if not self.mega:
            self.saved = True
            return self.folder / "inductor"
        got = torch.compiler.save_cache_artifacts()
        if got is None:
            return None
        from video.atomic import atomic_file

        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.artifacts) as tmp:
            Path(tmp).write_bytes(got[0])
        self.saved = True
        return self.artifacts
