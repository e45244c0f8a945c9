"""The speed layer: switches that keep the output exact (within float rounding) and make the
same work run faster on a GPU.

``compile_blocks`` compiles a network's repeated units one by one rather than the whole graph
(a transformer's blocks; the resnets, attentions and resamplers inside the UNet's and the temporal
VAE decoder's blocks): each distinct unit shape compiles once and serves every instance of that
shape, so cold start stays short. ``CompileCache`` saves what inductor built (``torch.compiler.save_cache_artifacts``,
"Mega-Cache", torch >= 2.7) after the first compiled video of each dtype and latent shape (a file
each) and loads every file in a later process before compiling, so that process skips code
generation and autotuning (a warm start). Where
those functions are missing, it points inductor's own on-disk cache (``TORCHINDUCTOR_CACHE_DIR``)
at the same folder instead. Artifacts are only valid for the same torch, Triton and GPU.

``sdpa_priority`` changes which fused attention kernel ``scaled_dot_product_attention`` tries
first (every attention in our models and in diffusers' goes through it). Which kernel torch's own
order picks is torch's choice, and it depends on the torch version and the GPU: torch 2.11 on an
H100 picked cuDNN's fused attention for the DiT's shapes. cuDNN's kernels are reported faster on
Hopper (huggingface/transformers#48163, 1.7-2.3x on training shapes; a GH200 user reports the
opposite for varlen, pytorch/pytorch#187770), so it is a switch that ``bench/txt2vid.py``
measures, not a default. Same maths, different kernel: the output differs by float rounding
only.

Loading a compile cache runs the pickled graphs and compiled code in it, so a folder or file that
others could have written (group- or world-writable, or owned by another user) is not loaded, as
ssh refuses such key files (:func:`untrusted`).
"""

from __future__ import annotations

import functools
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch

from video.runtime.config import SDPA_FIRST

# torch.compile modes we expose. "reduce-overhead" and "max-autotune" capture CUDA graphs around
# each compiled block (launch gaps go away; CUDA only); "max-autotune-no-cudagraphs" autotunes
# GEMM/conv kernels without graphs.
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
CUDAGRAPH_MODES = ("reduce-overhead", "max-autotune")
ARTIFACTS_FILE = "mega_cache.bin"
CPU_COMPILE_WARNING = ("compiling on the CPU takes minutes before the first video (and again for each new "
                       "size): it pays off only over many videos of one size")




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
    """What every pipeline's ``compile()`` does before compiling: refuse a bad mode or a cache
    path that cannot be a folder (ValueError), load a compile cache's artifacts (``cache``: a
    folder or "auto"; what cannot be read or trusted is a warning), note whether the loop must
    mark CUDA-graph steps (``pipe.cudagraphs``), and warn on a CPU, where inductor takes minutes
    (a tiny SVD's 1.5 s video took 5.5 minutes with ``--compile default``) and nothing said why."""
    check_compile_mode(mode, pipe.device)
    if torch.device(pipe.device).type == "cpu":
        warnings.warn(CPU_COMPILE_WARNING, stacklevel=3)
    if cache:
        check_cache_folder(cache)
        pipe.compile_cache = CompileCache(cache, key=cache_key(type(pipe).__name__, mode, pipe.device))
        pipe.compile_cache.load()
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
    raise_recompile_limit(need)
    for unit in units:
        unit.compile(mode=mode, dynamic=False, backend=backend)
    return len(units)


def raise_recompile_limit(need: int) -> None:
    """Dynamo's compiled-shapes limit per code object raised to at least ``need``: named
    ``recompile_limit`` since torch 2.6, ``cache_size_limit`` before. A deleted entry (the undo of
    a ``unittest.mock`` patch deletes it; torch then hides it, and reading it or its alias raises
    AttributeError: seen in the test suite) reads as unset and is set again."""
    cfg = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        try:
            current = getattr(cfg, name)
        except AttributeError:
            if name in getattr(cfg, "_config", {}):  # this torch's entry, hidden
                setattr(cfg, name, need)
                return
            continue
        if current < need:
            setattr(cfg, name, need)
        return


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/video/compile`` (``~/.cache/video/compile``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "video" / "compile"


def cache_folder(cache: str | Path) -> Path:
    """The folder a compile-cache value names: ``auto`` is :func:`default_cache_dir`."""
    return default_cache_dir() if str(cache) == "auto" else Path(cache).expanduser()


def check_cache_folder(cache: str | Path) -> Path:
    """The folder ``cache`` names, or a one-line ValueError where a file stands at it or above it
    (it could never hold the artifacts). Cheap, so ``video img2vid`` / ``txt2vid`` run it before
    the weights load, not minutes later in ``compile()``. A missing folder is made at the first
    save; one that cannot be written is a warning there, and the video is still written."""
    folder = cache_folder(cache)
    for path in (folder, *folder.parents):
        try:
            if path.is_dir():
                break
            if path.exists():
                where = "it is a file" if path == folder else f"{path} is a file"
                raise ValueError(f"compile cache {folder}: cannot use it as a folder ({where})")
        except OSError:  # no permission to look: the save says so, if it comes to that
            break
    return folder


def untrusted(path: Path) -> str | None:
    """Why the compiled code at ``path`` (a cache folder or an artifacts file) must not be loaded:
    writable by the group or by others, or owned by a user other than this one or root; loading
    runs the pickled graphs and code in it, so anyone who can write it could run code as this
    user (ssh refuses its key files on the same rule). None where it is safe, or where the
    system has no such owners and modes (Windows)."""
    if not hasattr(os, "getuid"):
        return None
    st = path.stat()
    if st.st_uid not in (os.getuid(), 0):
        return "owned by another user"
    if st.st_mode & 0o022:
        return "writable by other users (chmod go-w it to use it)"
    return None


def cache_key(pipeline: str, mode: str, device: str | torch.device) -> str:
    """The artifacts files' name part for one pipeline class, compile mode, torch and device
    (the GPU's model name). A save holds only what its process compiled or used, so one file
    shared by image-to-video and text-to-video, or by two GPUs, kept whichever ran last: each
    warm start undid the other's."""
    device = torch.device(device)
    where = device.type
    if device.type == "cuda" and torch.cuda.is_available():
        where = torch.cuda.get_device_name(device.index if device.index is not None else torch.cuda.current_device())
    raw = f"{pipeline}-{mode}-torch{torch.__version__}-{where}"
    return _file_safe(raw)


def _file_safe(raw: str) -> str:
    return "".join(c if c.isalnum() or c in "._+-" else "_" for c in raw)


def shape_variant(dtype: torch.dtype, shape: tuple[int, ...]) -> str:
    """The part of an artifacts file's name for one dtype and latent shape: ``float32-1x9x4x8x12``."""
    return _file_safe(f"{str(dtype).removeprefix('torch.')}-{'x'.join(map(str, shape))}")


def artifact_keys(info) -> set[tuple[str, str]]:
    """(kind, key) of each artifact a ``torch.compiler`` CacheInfo names; empty where it names none."""
    return {(kind, key) for kind, keys in (getattr(info, "artifacts", None) or {}).items() for key in keys}


class CompileCache:
    """Warm start across processes for everything compiled in this one.

    ``load()`` before compiling (returns whether artifacts were loaded): it reads every file of
    ``key`` (:func:`cache_key`), one per dtype and latent shape, so a folder keeps each clip size
    warm. ``save_once(dtype, shape)`` after a compiled video writes that shape's file (atomically)
    once per process. A save that has nothing beyond what was loaded or saved (a warm start that
    compiled nothing new) writes nothing, and one that cannot write is a warning, not an error.
    ``key`` names the files, so pipelines, modes, torch builds and GPUs sharing one folder keep
    their own.
    """

    def __init__(self, folder: str | Path, key: str = ""):
        self.folder = cache_folder(folder)
        self.key = key
        self.mega = hasattr(torch.compiler, "save_cache_artifacts") and hasattr(torch.compiler, "load_cache_artifacts")
        self.saved = False
        self.loaded = False
        self.refused = False  # the folder is not safe to load from (:func:`untrusted`): nothing is saved either
        self.known: set[tuple[str, str]] = set()  # artifacts loaded or saved
        self.done: set[str] = set()  # the variants this process has saved (or tried to)

    @property
    def artifacts(self) -> Path:
        """The file of ``key`` without a variant (what keys named before variants; still read)."""
        return self.folder / f"{self._stem()}.{ARTIFACTS_FILE.rsplit('.', 1)[1]}"

    def _stem(self) -> str:
        stem = ARTIFACTS_FILE.rsplit(".", 1)[0]
        return f"{stem}-{self.key}" if self.key else stem

    def variant_file(self, variant: str = "") -> Path:
        """The file of one variant (:func:`shape_variant`); ``@`` never occurs in a key."""
        if not variant:
            return self.artifacts
        return self.folder / f"{self._stem()}@{variant}.{ARTIFACTS_FILE.rsplit('.', 1)[1]}"

    def files(self) -> list[Path]:
        """Every artifacts file of ``key`` in the folder: the variantless one, then each variant's."""
        suffix = ARTIFACTS_FILE.rsplit(".", 1)[1]
        found = sorted(self.folder.glob(f"{self._stem()}@*.{suffix}"))
        return [p for p in (self.artifacts, *found) if p.is_file()]

    def load(self) -> bool:
        if self.folder.is_dir() and (why := untrusted(self.folder)):
            warnings.warn(f"compile cache {self.folder} is {why}: its compiled code is not loaded; "
                          "compiling afresh", stacklevel=3)
            self.refused = True
            return False
        if not self.mega:
            # inductor reads this when it first needs its cache, which is after this call
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(self.folder / "inductor"))
            self.loaded = any((self.folder / "inductor").glob("*"))
            return self.loaded
        try:
            files = self.files()
        except OSError as e:
            warnings.warn(f"compile cache {self.folder}: cannot read it ({e.strerror or e}); compiling afresh",
                          stacklevel=3)
            return False
        for path in files:
            self._load_file(path)
        return self.loaded

    def _load_file(self, path: Path) -> None:
        import logging

        try:
            why = untrusted(path)
            data = None if why else path.read_bytes()
        except OSError as e:
            why = f"unreadable ({e.strerror or e})"
        if why:
            warnings.warn(f"compile cache file {path} is {why}: not loaded", stacklevel=4)
            return
        torch_log = logging.getLogger("torch.compiler._cache")  # logs a whole traceback for a bad file
        level = torch_log.level
        torch_log.setLevel(logging.ERROR)
        try:
            got = torch.compiler.load_cache_artifacts(data)
        finally:
            torch_log.setLevel(level)
        if got is None:  # torch rejected the file (damaged, or from another torch): compile afresh
            warnings.warn(f"{path}: not a compile cache this torch can read; compiling afresh "
                          "(the file is replaced after this run)", stacklevel=4)
            return
        self.known |= artifact_keys(got)
        self.loaded = True

    def save_once(self, dtype: torch.dtype, shape: tuple[int, ...]) -> Path | None:
        """After a compiled video of latents ``shape`` in ``dtype``: :meth:`save` its variant,
        once per process (a later video of that shape compiled nothing new)."""
        variant = shape_variant(dtype, shape)
        if variant in self.done:
            return None
        self.done.add(variant)
        return self.save(variant)

    def save(self, variant: str = "") -> Path | None:
        """Write what this process compiled or used to ``variant``'s file; returns it, or None
        where nothing was written: nothing compiled, nothing new since the load (a warm start),
        a folder not loaded from as unsafe, or one that cannot be written (a one-line warning:
        the render that called this goes on to return its frames)."""
        if not self.mega:
            self.saved = True
            return self.folder / "inductor"
        if self.refused:
            return None
        got = torch.compiler.save_cache_artifacts()
        if got is None:
            return None
        seen = artifact_keys(got[1])
        if seen and seen <= self.known:
            return None
        path = self.variant_file(variant)
        try:
            self._write(path, got[0])
        except OSError as e:
            warnings.warn(f"compile cache {self.folder} is not writable: artifacts not saved "
                          f"({e.strerror or e})", stacklevel=3)
            return None
        self.known |= seen
        self.saved = True
        return path

    def _write(self, path: Path, data: bytes) -> None:
        """``data`` to ``path`` atomically, not writable by group or others whatever the umask
        (:meth:`load` would refuse it); the one shared file of before keys is removed."""
        from video.atomic import atomic_file

        self.folder.mkdir(parents=True, exist_ok=True, mode=0o755)
        with atomic_file(path) as tmp:
            Path(tmp).write_bytes(data)
        os.chmod(path, path.stat().st_mode & 0o755)
        legacy = self.folder / ARTIFACTS_FILE
        if self.key and legacy.is_file():  # nothing reads it now
            legacy.unlink(missing_ok=True)
