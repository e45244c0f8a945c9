"""The pipelines a loaded model builds (:class:`VideoModel`), and the LoRA-free ones this process
holds (:data:`_BASES`), which a model of the same weights, device, dtype and embeddings builds
from rather than loading them from disk again."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import re
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

from video.comfy.host import free_comfy_memory, log
from video.comfy.kinds import ANIMATE_KINDS, EDIT_KINDS, FLOW_KINDS, SVD_KINDS
from video.runtime.img2vid import InputError

# load_embeddings' warning for a file of another width (video.prompts.embeddings.load_embedding_file)
OTHER_ENCODER = re.compile(r"embedding skipped: .*: vectors are \d+ wide, the text encoder's are (\d+)$")
# The LoRA-free pipelines built in this process, by :func:`base_key`. Weak: a pipeline no node's
# model holds is freed as before; while one does, a loader run again (a changed LoRA strength,
# with or without a LoRA) builds from it instead of loading the same weights from disk.
_BASES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
# Where a LoRA-free module waits while it serves only as the source of LoRA copies (ComfyUI's
# ModelPatcher keeps its backup weights on its offload device, the CPU, likewise).
PARK_DEVICE = torch.device("cpu")


def copy_onto(module: torch.nn.Module, device: str | torch.device) -> torch.nn.Module:
    """A deep copy of ``module`` with its parameters and buffers on ``device``, made tensor by
    tensor: a copy of a module parked on the CPU then moved up would hold a second whole copy in
    host memory on the way (a Wan 2.1 14B transformer: 28 GB), and a copy made on the device
    while the source sits there two on the device. Tied weights stay tied; the source is left
    as it is. Parameters come out as ``copy.deepcopy`` makes them (type and ``requires_grad``)."""
    memo: dict = {}
    for t in (*module.parameters(), *module.buffers()):
        if id(t) not in memo:
            data = t.detach().to(device, copy=True)
            memo[id(t)] = type(t)(data, t.requires_grad) if isinstance(t, torch.nn.Parameter) else data
    return copy.deepcopy(module, memo)


def lora_free_home(pipe, lora: bool) -> torch.device | None:
    """Where the LoRA-free pipeline ``pipe``'s module that LoRAs change belongs while a model
    with (``lora``) or without LoRAs runs: on the CPU while only LoRA copies are made from it
    (its copy with the LoRAs merged runs on the device, and a second transformer there was
    another 28 GB for Wan 2.1 14B in bf16), on the pipeline's device when it generates itself.
    None: leave it where it is: on a CPU pipeline (it is there already), and where something
    else places the weights (``offload="model"`` moves them per part; compiled CUDA graphs
    recorded their addresses)."""
    device = torch.device(pipe.device)
    if device.type == "cpu" or getattr(pipe, "offload_mode", "none") == "model" or getattr(pipe, "cudagraphs", False):
        return None
    return PARK_DEVICE if lora else device


def path_fingerprint(path: str | Path) -> tuple:
    """``(path, size, modification time in ns)`` of a file, or of every file under a folder (a
    diffusers model: a file rewritten inside it leaves the folder's own time as it was);
    symlinked subfolders are followed, each real folder once."""
    path = Path(path)
    if not path.is_dir():
        st = path.stat()
        return ((str(path), st.st_size, st.st_mtime_ns),)
    out, seen = [], set()
    for root, dirs, files in os.walk(path, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link back up the tree
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in sorted(files):
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:  # a dangling link
                continue
            out.append((os.path.relpath(os.path.join(root, name), path), st.st_size, st.st_mtime_ns))
    return (str(path), *out)


def base_key(key: str, source: str, device: str | torch.device, dtype: torch.dtype,
             embeddings_dir: str | None) -> tuple | None:
    """What decides a LoRA-free ``key`` pipeline (``img2vid``, ``txt2vid``): the model's files
    as they are now (:func:`path_fingerprint`: a file rewritten under the same name loads
    again; a built-in name, which is no path, by its name), device, dtype and, for text to
    video, the textual-inversion files its prompt encoder read. None when a file cannot be
    read: the load then says why, and nothing is shared."""
    try:
        weights = path_fingerprint(source) if Path(source).exists() else ("name", source)
        embeddings = path_fingerprint(embeddings_dir) if key == "txt2vid" and embeddings_dir else None
    except OSError:
        return None
    return key, str(source), weights, str(device), dtype, embeddings_dir, embeddings


@dataclass
class VideoModel:
    """A model chosen by the loader node: where it is, what it is, and the pipelines built from
    it so far (ComfyUI keeps the loader's output between runs, so they load once).
    ``embeddings_dir``: the textual-inversion folder its prompts read
    (:func:`video.comfy.models.embeddings_dir`; the text-to-video, VACE and Animate pipelines
    were built without one, so a name from models/embeddings/ in a prompt was plain words,
    unlike on the command line).
    ``_bases``: the LoRA-free pipelines of these weights, by pipeline (``img2vid``, ``txt2vid``),
    shared with its Video LoRA copies (:func:`video.comfy.functions.add_lora` passes the same
    dict on), which copy the module their LoRAs change from it."""

    source: str
    kind: str
    detail: str
    loras: list[tuple[Path, float]] = field(default_factory=list)
    device: str = "cpu"
    dtype: torch.dtype = torch.float32
    embeddings_dir: str | None = None
    _cache: dict = field(default_factory=dict, repr=False)
    _bases: dict = field(default_factory=dict, repr=False, compare=False)

    def _pipeline(self, key: str, target: str, load: Callable, make: Callable):
        """The ``key`` pipeline (``img2vid``, ``txt2vid``), built on first use with this model's
        LoRAs merged into its ``target`` module. The LoRA-free pipeline of these weights
        (:meth:`_plain`) is loaded from disk once per process while a node holds it; a model
        with LoRAs is a pipeline of its parts (text encoder, tokenizer, VAE; SVD's image encoder:
        the same objects) with a copy of its own of the ``target`` module, the LoRAs merged
        into the copy. A Video LoRA node whose strength changed loaded the whole model from disk
        again before it shared the parts. The weights are those of a whole load with the LoRAs
        merged, so the frames are too. On a GPU the LoRA-free module waits on the CPU while
        only LoRA copies run (:meth:`_place`), so a loader with a LoRA holds one such module on
        the device, as before the parts were shared. ``load()``: a pipeline from disk;
        ``make(models)``: one of given parts."""
        if key in self._cache:
            self._place(key, target)
            return self._cache[key]
        plain = self._plain(key, load)
        if self.loras and target == "transformer":
            plain.models.lora_target()  # a refusal (one LoRA for two experts) before the copy
        self._place(key, target)  # with LoRAs parked before the copy: one such module on the device at a time
        pipe = plain
        if self.loras:
            from video.models.lora import apply_loras

            free_comfy_memory(self.device)
            own = copy_onto(getattr(plain.models, target), plain.device)
            pipe = make(dataclasses.replace(plain.models, **{target: own}))
            module = pipe.models.lora_target() if target == "transformer" else getattr(pipe.models, target)
            apply_loras(module, self.loras, merge=True)
        self._cache[key] = pipe
        return pipe

    def _place(self, key: str, target: str) -> None:
        """The LoRA-free ``key`` pipeline's ``target`` module where this model needs it
        (:func:`lora_free_home`): parked on the CPU for a model with LoRAs, back on the device
        for one without. Each call, not each build: a LoRA-free model and a LoRA copy of it
        run one after the other share the module, and a pipeline from the cache may have
        been parked since by another model's LoRA build. Room is made for a module going back
        up as for a load (ComfyUI's own models may hold the device since)."""
        plain = self._bases.get(key)
        home = None if plain is None else lora_free_home(plain, bool(self.loras))
        if home is None:
            return
        module = getattr(plain.models, target)
        if home.type != "cpu" and any(p.device.type != home.type for p in module.parameters()):
            free_comfy_memory(home)
        module.to(home)

    def _plain(self, key: str, load: Callable):
        """The LoRA-free ``key`` pipeline: this model's (shared with its Video LoRA copies, which
        keep it alive as the loader's output does: the module a LoRA changes is copied from it),
        else one built in this process from the same weights and still held by some node's
        model (:data:`_BASES`: a loader run again for a changed LoRA strength, or whose LoRA
        is ``none``), else ``load()``."""
        if key in self._bases:
            return self._bases[key]
        cache_key = base_key(key, self.source, self.device, self.dtype, self.embeddings_dir)
        plain = None if cache_key is None else _BASES.get(cache_key)
        if plain is None:
            free_comfy_memory(self.device)
            plain = load()
            if cache_key is not None:
                _BASES[cache_key] = plain
        self._bases[key] = plain
        return plain

    def img2vid(self):
        if self.kind not in SVD_KINDS:
            raise InputError(f"{self.source} is a {self.kind} model; image-to-video needs an SVD model")
        from video.runtime.img2vid import ImageToVideo

        return self._pipeline(
            "img2vid", "unet", lambda: ImageToVideo.from_pretrained(self.source, device=self.device, dtype=self.dtype),
            lambda models: ImageToVideo(models, device=self.device, dtype=self.dtype))

    def txt2vid(self):
        if self.kind not in FLOW_KINDS:
            raise InputError(f"{self.source} is a {self.kind} model; text-to-video needs our DiT or a Wan T2V model")
        from video.runtime.txt2vid import TextToVideo

        with self._embeddings_note("Text to Video"):  # one line for a load and a rebuild on shared parts
            return self._pipeline(
                "txt2vid", "transformer",
                lambda: TextToVideo.from_pretrained(self.source, device=self.device, dtype=self.dtype,
                                                    embeddings_dir=self.embeddings_dir),
                lambda models: TextToVideo(models, device=self.device, dtype=self.dtype,
                                           embeddings_dir=self.embeddings_dir))

    def editor(self):
        if self.kind not in EDIT_KINDS:
            raise InputError(f"{self.source} is a {self.kind} model; editing needs SVD, our DiT, Wan or VACE")
        # the generation pipeline (and its LoRAs), asked for on every call: its module placed for this run
        pipe = self.img2vid() if self.kind in SVD_KINDS else self.txt2vid() if self.kind in FLOW_KINDS else None
        if "editor" not in self._cache:
            from video.edit.editor import Editor, FlowBackend, SVDBackend

            if self.kind in SVD_KINDS:
                ed = Editor(SVDBackend(pipe))
            elif self.kind in FLOW_KINDS:
                ed = Editor(FlowBackend(pipe))
            else:
                if self.loras:
                    raise InputError("LoRAs on VACE models are not supported by these nodes yet")
                from video.edit.vace import VaceEditor, VaceRecipeEditor

                free_comfy_memory(self.device)  # Editor.from_pretrained's VACE editor, given the embeddings
                with self._embeddings_note("Inpaint"):
                    vace = VaceEditor.from_pretrained(self.source, device=self.device, dtype=self.dtype,
                                                      embeddings_dir=self.embeddings_dir)
                # behind Editor's call, as `video edit` runs it: the bare editor took only 4k+1 frames
                # at multiples of 16 and returned its own pixels outside the mask
                ed = VaceRecipeEditor(vace)
            self._cache["editor"] = ed
        return self._cache["editor"]

    def animator(self):
        if self.kind not in ANIMATE_KINDS:
            raise InputError(f"{self.source} is a {self.kind} model; animate needs a Wan-Animate folder")
        if self.loras:
            raise InputError("LoRAs on Wan-Animate models are not supported by these nodes yet")
        if "animator" not in self._cache:
            from video.edit.animate import Animator

            free_comfy_memory(self.device)
            with self._embeddings_note("Animate"):
                self._cache["animator"] = Animator.from_pretrained(self.source, device=self.device, dtype=self.dtype,
                                                                   embeddings_dir=self.embeddings_dir)
        return self._cache["animator"]

    @contextlib.contextmanager
    def _embeddings_note(self, node: str) -> Iterator[None]:
        """A pipeline build: the embeddings made for another text encoder (vectors of another
        width: ComfyUI's models/embeddings/ mostly holds SD 1.x / SDXL ones) said in one console
        line, not one warning per file (each file once, however many pipelines read it);
        every other warning as Python shows it."""
        caught: list = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.filterwarnings("always", message="embedding skipped")  # every file counted
                yield
        finally:  # a build that fails: its warnings may be what explains it
            other: dict[str, str] = {}  # message (naming the file) -> the text encoder's width
            for w in caught:
                m = OTHER_ENCODER.match(str(w.message))
                if m:
                    other[str(w.message)] = m.group(1)
                else:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno, w.file, w.line)
        if other:
            log.warning("%s: %d embedding file(s) in %s are for another text encoder (this model's vectors are %s "
                        "wide) and are not used", node, len(other), self.embeddings_dir, next(iter(other.values())))

