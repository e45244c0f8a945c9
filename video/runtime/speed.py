"""The speed layer: switches that keep the output exact (within float rounding) and make the
same work run faster on a GPU.

``compile_blocks`` compiles a network's repeated units one by one rather than the whole graph
(a transformer's blocks; the resnets, attentions and resamplers inside the UNet's and the temporal
VAE decoder's blocks): each distinct unit shape compiles once and serves every instance of that
shape, so cold start stays short. ``CompileCache`` saves what inductor built (``torch.compiler.save_cache_artifacts``,
"Mega-Cache", torch >= 2.7) after the first compiled video and loads it in a later process
before compiling, so that process skips code generation and autotuning (a warm start). Where
those functions are missing, it points inductor's own on-disk cache (``TORCHINDUCTOR_CACHE_DIR``)
at the same folder instead. Artifacts are only valid for the same torch, Triton and GPU.

``sdpa_priority`` changes which fused attention kernel ``scaled_dot_product_attention`` tries
first (every attention in our models and in diffusers' goes through it): torch's own order puts
FlashAttention-2 first and cuDNN's fused attention last, while on Hopper (H100/H200) cuDNN's
kernels are reported faster (huggingface/transformers#48163, 1.7-2.3x on training shapes; a
GH200 user reports the opposite for varlen, pytorch/pytorch#187770), so it is a switch that
``bench/txt2vid.py`` measures, not a default. Same maths, different kernel: the output differs
by float rounding only.
"""

from __future__ import annotations

import functools
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch

# torch.compile modes we expose. "reduce-overhead" and "max-autotune" capture CUDA graphs around
# each compiled block (launch gaps go away; CUDA only); "max-autotune-no-cudagraphs" autotunes
# GEMM/conv kernels without graphs.
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
CUDAGRAPH_MODES = ("reduce-overhead", "max-autotune")
ARTIFACTS_FILE = "mega_cache.bin"


SDPA_FIRST = ("torch", "cudnn", "flash", "efficient")  # "torch": its own order


def _sdpa_backends(first: str) -> list:
    """Every fused backend, ``first`` first, then torch's default order; the math kernel last."""
    from torch.nn.attention import SDPBackend

    named = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
             "efficient": SDPBackend.EFFICIENT_ATTENTION}
    order = [named[first]] + [b for b in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
                                          SDPBackend.CUDNN_ATTENTION) if b != named[first]]
    return [*order, SDPBackend.MATH]


@contextmanager
def sdpa_priority(first: str = "torch"):
    """Within the block, ``scaled_dot_product_attention`` tries the ``first`` kernel before the
    others (``SDPA_FIRST``); a kernel that cannot serve a call (dtype, layout, device) passes it
    on to the next, so nothing is ruled out. ``"torch"`` leaves torch's order alone."""
    if first not in SDPA_FIRST:
        raise ValueError(f"unknown SDPA kernel {first!r}; choose one of {', '.join(SDPA_FIRST)}")
    if first == "torch":
        yield
        return
    from torch.nn.attention import sdpa_kernel

    try:
        ctx = sdpa_kernel(_sdpa_backends(first), set_priority=True)
    except TypeError:  # torch < 2.6: no priorities, only restrictions
        warnings.warn(f"this torch ({torch.__version__}) cannot reorder SDPA kernels; using its own order",
                      stacklevel=3)
        ctx = None
    if ctx is None:
        yield
        return
    with ctx:
        yield


def with_sdpa_priority(call):
    """Decorates a pipeline's ``__call__``: the whole render runs under ``sdpa_priority`` of the
    pipeline's ``sdpa_first`` attribute."""
    @functools.wraps(call)
    def render(self, *args, **kwargs):
        with sdpa_priority(getattr(self, "sdpa_first", "torch")):
            return call(self, *args, **kwargs)

    return render


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
        pipe.compile_cache = CompileCache(cache, key=cache_key(type(pipe).__name__, mode, pipe.device))
        try:
            pipe.compile_cache.load()
        except OSError as e:  # a file where the folder should be, no permission: the caller's one line
            raise ValueError(f"compile cache {pipe.compile_cache.folder}: cannot use it as a folder "
                             f"({e.strerror or e})") from None
    pipe.cudagraphs = uses_cudagraphs(mode)


def compile_blocks(targets: list[torch.nn.Module], mode: str | None = None, backend: str = "inductor") -> int:
    """Compile the regional units of each target (a UNet, a VAE decoder, a transformer; see
    ``blocks.compile_units``) in place; returns how many.

    ``dynamic=False``: shapes are fixed for a given clip size, and static shapes give inductor
    the most room to fuse the norm/activation and elementwise chains around the GEMMs. Units of
    one class share one code object, and dynamo keeps at most ``recompile_limit`` (8) compiled
    shapes per code object before it silently runs the rest eagerly: SVD-XT's resnets alone come
    in more shapes than that (channels x resolution x skip width, a decode window's tail). The
    limit is raised to twice the largest class's unit count, which covers every unit at two
    input shapes. Calling it again with another mode recompiles (dynamo's caches are reset first,
    so the old mode's entries neither count against the limit nor linger). ``backend``: inductor;
    "eager" traces without generating code (the tests' check of what gets traced)."""
    from collections import Counter

    from video.models.blocks import compile_units

    mode = None if mode in (None, "default") else mode
    units = [u for t in targets for u in compile_units(t)]
    if any(getattr(u, "_compiled_call_impl", None) is not None for u in units):
        torch._dynamo.reset()
    per_code = Counter(type(u).forward for u in units)
    need = 2 * max(per_code.values(), default=0) + 8
    limit = "recompile_limit" if hasattr(torch._dynamo.config, "recompile_limit") else "cache_size_limit"
    if getattr(torch._dynamo.config, limit) < need:
        setattr(torch._dynamo.config, limit, need)
    for unit in units:
        unit.compile(mode=mode, dynamic=False, backend=backend)
    return len(units)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/video/compile`` (``~/.cache/video/compile``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "video" / "compile"


def cache_key(pipeline: str, mode: str, device: str | torch.device) -> str:
    """The artifacts file's name part for one pipeline class, compile mode, torch and device
    (the GPU's model name). A save holds only what its process compiled or used, so one file
    shared by image-to-video and text-to-video, or by two GPUs, kept whichever ran last: each
    warm start undid the other's."""
    device = torch.device(device)
    where = device.type
    if device.type == "cuda" and torch.cuda.is_available():
        where = torch.cuda.get_device_name(device.index if device.index is not None else torch.cuda.current_device())
    raw = f"{pipeline}-{mode}-torch{torch.__version__}-{where}"
    return "".join(c if c.isalnum() or c in "._+-" else "_" for c in raw)


class CompileCache:
    """Warm start across processes for everything compiled in this one.

    ``load()`` before compiling (returns whether artifacts were loaded); ``save()`` after the
    first compiled run (writes atomically; returns the path or None when nothing was compiled).
    ``key`` (:func:`cache_key`) names the artifacts file, so pipelines, modes, torch builds and
    GPUs sharing one folder keep a file each.
    """

    def __init__(self, folder: str | Path, key: str = ""):
        self.folder = default_cache_dir() if str(folder) == "auto" else Path(folder).expanduser()
        self.key = key
        self.mega = hasattr(torch.compiler, "save_cache_artifacts") and hasattr(torch.compiler, "load_cache_artifacts")
        self.saved = False
        self.loaded = False

    @property
    def artifacts(self) -> Path:
        if not self.key:
            return self.folder / ARTIFACTS_FILE
        stem, suffix = ARTIFACTS_FILE.rsplit(".", 1)
        return self.folder / f"{stem}-{self.key}.{suffix}"

    def load(self) -> bool:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.mega:
            # inductor reads this when it first needs its cache, which is after this call
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(self.folder / "inductor"))
            self.loaded = any((self.folder / "inductor").glob("*"))
            return self.loaded
        if not self.artifacts.is_file():
            return False
        import logging

        torch_log = logging.getLogger("torch.compiler._cache")  # logs a whole traceback for a bad file
        level = torch_log.level
        torch_log.setLevel(logging.ERROR)
        try:
            got = torch.compiler.load_cache_artifacts(self.artifacts.read_bytes())
        finally:
            torch_log.setLevel(level)
        if got is None:  # torch rejected the file (damaged, or from another torch): compile afresh
            warnings.warn(f"{self.artifacts}: not a compile cache this torch can read; compiling afresh "
                          "(the file is replaced after this run)", stacklevel=3)
            return False
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
        legacy = self.folder / ARTIFACTS_FILE
        if self.key and legacy.is_file():  # the one shared file of before keys: nothing reads it now
            legacy.unlink(missing_ok=True)
        self.saved = True
        return self.artifacts
