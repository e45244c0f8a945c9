"""A model with a LoRA no longer holds two transformers (or UNets) on the GPU. Its pipeline is the
LoRA-free one's parts plus a copy of the module the LoRA changes; the LoRA-free module stayed on
the device beside the merged copy (Wan 2.1 14B in bf16: 28 GB more than a loader with a LoRA held
before the parts were shared). It now waits on the CPU while only LoRA copies run, and goes back
to the device when a LoRA-free model generates with it (ComfyUI's ModelPatcher keeps its backup
weights on the offload device likewise). The copy is made tensor by tensor onto the device
(``copy_onto``): neither a second copy on the device nor a whole one in host memory on the way.

CI has no GPU: the copy is checked onto the ``meta`` device, and the parking on a real tiny
pipeline that stands for one on CUDA (its ``device`` says so), whose transformer's ``.to`` is
recorded, not run. The frames of a LoRA-free model and a LoRA model run in turn are checked on the
CPU against pipelines loaded whole from disk, which share nothing."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch
from dit_lora_folder import render_merged  # tests/comfy is on sys.path under pytest

from video.comfy import functions as F
from video.comfy import pipelines

T2V = dict(prompt="a red kite", frames=3, width=16, height=16, steps=2, guidance_scale=5.0, seed=7)
CUDA, CPU = torch.device("cuda"), torch.device("cpu")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """A models folder with a rank-2 LoRA on one attention layer of the built-in tiny DiT."""
    from video.models.lora import LoraPart, adaptable_layers, save_lora
    from video.runtime.txt2vid import build_tiny

    root = tmp_path_factory.mktemp("models")
    layers = adaptable_layers(build_tiny(0).transformer)
    name = [n for n in layers if n.endswith("attn.qkv")][0]
    w, g = layers[name].weight, torch.Generator().manual_seed(0)
    part = LoraPart(torch.randn(2, w.shape[1], generator=g), torch.randn(w.shape[0], 2, generator=g), 2.0)
    save_lora({name: part}, root / "loras" / "style.safetensors", "peft", prefix="transformer")
    return root


def _tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {**dict(module.named_parameters()), **dict(module.named_buffers())}


def test_copy_onto_puts_every_weight_on_the_device_and_leaves_the_source():
    from video.runtime.txt2vid import build_tiny

    source = build_tiny(0).transformer
    tied = torch.nn.Sequential(torch.nn.Embedding(5, 4), torch.nn.Linear(4, 5, bias=False))
    tied[1].weight = tied[0].weight  # one Parameter in two places, as tied embeddings are
    tied.register_buffer("scale", torch.arange(3.0))
    for module in (source, tied):
        before = {k: v.clone() for k, v in _tensors(module).items()}
        on_meta = pipelines.copy_onto(module, "meta")
        got, want = _tensors(on_meta), _tensors(module)
        assert got.keys() == want.keys() and {t.device.type for t in got.values()} == {"meta"}
        assert all(got[k].shape == v.shape and got[k].dtype == v.dtype for k, v in want.items())
        assert {t.device.type for t in want.values()} == {"cpu"}  # the source stays where it was, unchanged
        assert all(torch.equal(before[k], v) for k, v in want.items())
        assert all(isinstance(v, torch.nn.Parameter) for v in dict(on_meta.named_parameters()).values())
        on_cpu = pipelines.copy_onto(module, "cpu")  # a real copy: the same numbers in storage of its own
        for k, v in _tensors(on_cpu).items():
            assert torch.equal(v, want[k]) and v.data_ptr() != want[k].data_ptr()
            assert v.requires_grad == want[k].requires_grad, k
    assert on_meta[1].weight is on_meta[0].weight and on_cpu[1].weight is on_cpu[0].weight


class Moves:
    """The moves of one real transformer, recorded in order, with the device each LoRA copy was
    made onto and ComfyUI's models unloaded to make room: a stand-in for CUDA and ComfyUI, which
    CI lacks. ``.to`` records and returns the module unmoved, so the CPU tensors stay usable."""

    def __init__(self, module: torch.nn.Module, monkeypatch):
        self.events: list[tuple[str, torch.device]] = []
        real_copy = pipelines.copy_onto

        def to(device, *args, **kw):
            self.events.append(("to", torch.device(device)))
            return module

        def copy_onto(m, device):
            self.events.append(("copy", torch.device(device)))
            return real_copy(m, "cpu")

        monkeypatch.setattr(module, "to", to)
        monkeypatch.setattr(pipelines, "copy_onto", copy_onto)
        mm = types.ModuleType("comfy.model_management")  # what free_comfy_memory calls inside ComfyUI
        mm.unload_all_models = lambda: self.events.append(("unload", None))
        mm.soft_empty_cache = lambda: None
        monkeypatch.setitem(sys.modules, "comfy.model_management", mm)

    def take(self) -> list[tuple[str, torch.device]]:
        out, self.events[:] = list(self.events), []
        return out


def test_on_a_gpu_the_lora_free_transformer_waits_on_the_cpu_while_lora_copies_run(models, monkeypatch):
    base = F.load_video_model("tiny", models)
    lora = F.add_lora(base, "style", 0.7, models)
    plain = base.txt2vid()
    moves = Moves(plain.models.transformer, monkeypatch)
    base.txt2vid()
    assert moves.take() == []  # on the CPU nothing moves: it is there already
    monkeypatch.setattr(plain, "device", CUDA)  # from here it stands for a pipeline loaded on CUDA
    merged = lora.txt2vid()
    # parked before the copy is made onto the device: never two of them there at once
    assert moves.take() == [("to", CPU), ("copy", CUDA)]
    assert merged.models.transformer is not plain.models.transformer
    # the LoRA-free model generates: back up, ComfyUI's models unloaded first as for a load
    assert base.txt2vid() is plain and moves.take() == [("unload", None), ("to", CUDA)]
    assert lora.txt2vid() is merged and moves.take() == [("to", CPU)]  # the LoRA copy runs again
    base.editor()  # the editor on the LoRA-free pipeline
    assert moves.take() == [("unload", None), ("to", CUDA)]
    lora.txt2vid()
    base.editor()  # cached: its transformer is placed again all the same
    assert moves.take() == [("to", CPU), ("unload", None), ("to", CUDA)]
    # where the pipeline places its weights itself, they are left to it
    monkeypatch.setattr(plain, "cudagraphs", True)
    assert pipelines.lora_free_home(plain, lora=True) is None and pipelines.lora_free_home(plain, lora=False) is None
    lora.txt2vid()
    assert moves.take() == []


def test_the_svd_unet_is_parked_too_and_offload_is_left_alone(models, monkeypatch):
    from video.models.lora import LoraPart, adaptable_layers, save_lora

    base = F.load_video_model("tiny-svd", models)
    plain = base.img2vid()
    layers = adaptable_layers(plain.models.unet)
    name = [n for n in layers if n.endswith("to_q")][0]
    w = layers[name].weight
    part = LoraPart(torch.ones(2, w.shape[1]), torch.ones(w.shape[0], 2), 2.0)
    save_lora({name: part}, models / "loras" / "svd_park.safetensors", "peft", prefix="unet")
    lora = F.add_lora(base, "svd_park", 0.5, models)
    moves = Moves(plain.models.unet, monkeypatch)
    monkeypatch.setattr(plain, "device", CUDA)
    assert lora.img2vid().models.unet is not plain.models.unet
    assert moves.take() == [("to", CPU), ("copy", CUDA)]
    assert base.img2vid() is plain and moves.take() == [("unload", None), ("to", CUDA)]
    monkeypatch.setattr(plain, "offload_mode", "model")  # as set_offload("model") leaves it on a GPU
    assert pipelines.lora_free_home(plain, lora=True) is None
    lora.img2vid(), base.img2vid()
    assert moves.take() == []


def _from_disk(loras: list[tuple[Path, float]]) -> torch.Tensor:
    """The tiny DiT loaded whole from disk with ``loras`` merged, called as the node calls it."""
    return render_merged("tiny", loras, T2V)


def test_a_lora_free_model_and_a_lora_model_in_turn_render_as_loaded_whole(models):
    base = F.load_video_model("tiny", models)
    lora = F.add_lora(base, "style", 0.7, models)
    want = {"base": _from_disk([]), "lora": _from_disk([(models / "loras" / "style.safetensors", 0.7)])}
    assert not torch.equal(want["base"], want["lora"])
    for name in ("lora", "base", "lora", "base"):  # the LoRA copy built first, from the LoRA-free module
        assert torch.equal(F.text_to_video(base if name == "base" else lora, **T2V), want[name]), name
    assert {t.device.type for t in base.txt2vid().models.transformer.parameters()} == {"cpu"}
